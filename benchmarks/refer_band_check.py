"""Issue 31's check of a site's refer band, run as a user would run it: the official test split
(a stand-in for a new site) split by patient into two halves; ``calibrate HALF_A --out
site.json`` (the default guarantee: at most 5% of pneumonias called NORMAL, at most 5% of normals
called PNEUMONIA), then ``predict --profile site.json --json HALF_B``, and the reverse. Reports,
averaged over both folds, the share of pneumonias called NORMAL and of normals called PNEUMONIA,
the accuracy among the images decided, and the share referred.

    python -m benchmarks.refer_band_check ../shared/data/chest_xray_224/test [--out FILE.json]

The halves are folders of links (the input files are never touched). This looks at the test
split's labels: docs/model_card.md lists each run among the test split's looks.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from desktop.atomicio import atomic_write_text
from desktop.modelfile import CLASSES
from training.data import patient_split

TARGETS = {"missed": 0.05, "false_alarm": 0.05, "accuracy_decided": 0.97, "referred": 0.20}


def halves(split_dir: Path, work: Path, seed: int = 0) -> tuple[Path, Path]:
    """Two folders ``work/A`` and ``work/B`` of links, each ``NORMAL/`` and ``PNEUMONIA/``,
    holding half of the patients (whole patients on one side)."""
    paths, labels = [], []
    for label, name in enumerate(CLASSES):
        for path in sorted((split_dir / name).iterdir()):
            if path.is_file():
                paths.append(path.resolve())
                labels.append(label)
    a, b = patient_split(paths, labels, val_fraction=0.5, seed=seed)
    for half, indices in (("A", a), ("B", b)):
        for i in indices:
            target = work / half / CLASSES[labels[i]] / paths[i].name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(paths[i])
    return work / "A", work / "B"


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:2])} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def fold(fit: Path, judge: Path, work: Path, name: str) -> dict:
    profile = work / f"site_{name}.json"
    run("calibrate", str(fit), "--out", str(profile))
    lines = run("predict", "--profile", str(profile), "--json", "--no-history", str(judge))
    y, decisions = [], []
    for line in lines.splitlines():
        row = json.loads(line)
        if row.get("decision") is None:  # withheld or unreadable: no answer to count
            continue
        y.append(int(Path(row["path"]).parent.name == CLASSES[1]))
        decisions.append(row["decision"])
    y, d = np.array(y), np.array(decisions)
    decided = d != "REFER"
    right = ((d == "NORMAL") & (y == 0)) | ((d == "PNEUMONIA") & (y == 1))
    return {
        "n": int(len(y)),
        "missed": float(((d == "NORMAL") & (y == 1)).sum() / max(1, (y == 1).sum())),
        "false_alarm": float(((d == "PNEUMONIA") & (y == 0)).sum() / max(1, (y == 0).sum())),
        "accuracy_decided": float(right.sum() / max(1, decided.sum())),
        "referred": float((~decided).mean()) if len(d) else 0.0,
        "band": json.loads(profile.read_text(encoding="utf-8")).get("refer_band"),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("split", type=Path, help="a labelled folder: NORMAL/ and PNEUMONIA/")
    p.add_argument("--out", type=Path, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        a, b = halves(args.split, work)
        folds = {"A->B": fold(a, b, work, "A"), "B->A": fold(b, a, work, "B")}
    mean = {k: float(np.mean([f[k] for f in folds.values()])) for k in TARGETS}
    met = {k: (mean[k] >= v if k == "accuracy_decided" else mean[k] <= v)
           for k, v in TARGETS.items()}
    result = {"folds": folds, "mean": mean, "targets": TARGETS, "met": met}
    for k in TARGETS:
        print(f"{k:<18} {100 * mean[k]:6.2f}%  target {'≥' if k == 'accuracy_decided' else '≤'} "
              f"{100 * TARGETS[k]:.0f}%  {'met' if met[k] else 'NOT met'}")
    if args.out:
        atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
