"""Issue 31's "Done when" check of a site profile's refer band, run as a clinic would run it.

The official test split (a stand-in for a new site) is split by patient into two halves (per
class, patients shuffled with a fixed seed: no patient on both sides). Then, with the command
line only:

    python -m desktop calibrate HALF_A --out site.json          (default guarantee: 5% / 5%)
    python -m desktop predict --profile site.json --json HALF_B

and the reverse. Reported per fold and averaged over both: the share of pneumonias called NORMAL
and of normals called PNEUMONIA (targets <= 5% each), the accuracy among the decided images
(>= 97%) and the share referred (<= 20%); beside them the same images judged by the profile's
single threshold (``--no-refer``). Also the cost of the band in ``calibrate`` (issue: <= 2 s
beyond today's on 600 images): ``desktop.cases.calibration.calibrate`` on the model's P for 600
test images, with the band and without (median of 5 runs each, in this process).

    .venv/bin/python -m benchmarks.refer_band [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ASSET_MODEL, REPO, SMALL_DIR

LABELS = ("NORMAL", "PNEUMONIA")


def patient(name: str) -> str:
    """The patient of a test-split file (see shared/data/README.md): ``personNNN_…`` for
    pneumonia, ``IM-PPPP-…`` and ``NORMAL2-IM-PPPP-…`` (two numberings) for normal."""
    for pattern in (r"^(person\d+)_", r"^(NORMAL2-IM-\d+)-", r"^(IM-\d+)-"):
        if match := re.match(pattern, name):
            return match.group(1)
    return name  # unknown naming: the file is its own patient


def halves(split: Path, seed: int) -> tuple[dict, dict]:
    """{label: [files]} for each half; every patient's files on one side only."""
    rng = random.Random(seed)
    a, b = {label: [] for label in LABELS}, {label: [] for label in LABELS}
    for label in LABELS:
        by_patient: dict[str, list[Path]] = {}
        for file in sorted((split / label).iterdir()):
            by_patient.setdefault(patient(file.name), []).append(file)
        patients = sorted(by_patient)
        rng.shuffle(patients)
        count = 0  # fill half A to half the images, the rest to half B
        total = sum(len(v) for v in by_patient.values())
        for name in patients:
            side = a if count < total / 2 else b
            side[label] += by_patient[name]
            count += len(by_patient[name]) if side is a else 0
    return a, b


def _link(half: dict, folder: Path) -> Path:
    for label, files in half.items():
        (folder / label).mkdir(parents=True)
        for file in files:
            (folder / label / file.name).symlink_to(file)
    return folder


def _desktop(home: Path, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, CXR_CONFIG_DIR=str(home / "config"), CXR_DATA_DIR=str(home / "data"),
               CXR_LOG_DIR=str(home / "logs"))
    done = subprocess.run([sys.executable, "-m", "desktop", *map(str, args), "--model",
                           str(ASSET_MODEL), "--lang", "en"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args[:2]))} failed:\n{done.stderr}")
    return done


def judge(rows: list[dict], truth: dict[str, str]) -> dict:
    """The shares the issue names, for the band's decisions and for the threshold alone."""
    out = {}
    for rule in ("band", "threshold"):
        missed = alarms = referred = wrong = decided = 0
        n = {label: 0 for label in LABELS}
        for row in rows:
            label = truth[Path(row["path"]).name]
            n[label] += 1
            decision = row["decision"] if rule == "band" else (
                "PNEUMONIA" if row["p_pneumonia"] >= row["threshold"] else "NORMAL")
            if decision == "REFER":
                referred += 1
                continue
            decided += 1
            missed += label == "PNEUMONIA" and decision == "NORMAL"
            alarms += label == "NORMAL" and decision == "PNEUMONIA"
            wrong += decision != label
        out[rule] = {"missed": missed / n["PNEUMONIA"], "false_alarm": alarms / n["NORMAL"],
                     "accuracy_decided": 1 - wrong / max(1, decided),
                     "referred": referred / len(rows), "images": len(rows)}
    return out


def fold(home: Path, fit: Path, test: Path, truth: dict, name: str) -> dict:
    profile = home / f"{name}.json"
    calibrated = _desktop(home, "calibrate", fit, "--out", profile)
    band = json.loads(profile.read_text())["refer_band"]
    print(f"fold {name}: calibrate on {fit.name}: {calibrated.stderr.strip()}", flush=True)
    done = _desktop(home, "predict", test, "--profile", profile, "--json", "--no-history")
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    return {"refer_band": band, **judge([r for r in rows if r["decision"] is not None], truth),
            "no_decision": sum(r["decision"] is None for r in rows)}


def calibrate_cost(home: Path, split: Path, runs: int = 5) -> tuple[float, float]:
    """Median seconds of ``calibrate`` on the model's P for 600 test images, without the band
    and with it (the default guarantee)."""
    from desktop.cases.calibration import calibrate

    done = _desktop(home, "predict", split, "--json", "--no-history", "--no-profile")
    rows = [json.loads(line) for line in done.stdout.splitlines() if '"p_pneumonia": null'
            not in line]
    rows = random.Random(1).sample(rows, 600)
    p = [r["p_pneumonia"] for r in rows]
    y = [int(Path(r["path"]).parent.name == "PNEUMONIA") for r in rows]
    times = {}
    for refer in ("off", "on"):
        spent = []
        for _ in range(runs):
            start = time.perf_counter()
            calibrate(p, y, shipped_threshold=0.7, **({"refer": None} if refer == "off" else {}))
            spent.append(time.perf_counter() - start)
        times[refer] = statistics.median(spent)
    return times["off"], times["on"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="refer-band-") as tmp:
        home = Path(tmp)
        a, b = halves(SMALL_DIR, args.seed)
        truth = {f.name: label for half in (a, b) for label, files in half.items()
                 for f in files}
        patients = [{patient(f.name) for files in h.values() for f in files} for h in (a, b)]
        assert not patients[0] & patients[1], "a patient on both sides"
        print(f"half A: {len(a['NORMAL'])} NORMAL, {len(a['PNEUMONIA'])} PNEUMONIA; "
              f"half B: {len(b['NORMAL'])} NORMAL, {len(b['PNEUMONIA'])} PNEUMONIA; "
              f"{len(patients[0])} + {len(patients[1])} patients", flush=True)
        folder_a, folder_b = _link(a, home / "HALF_A"), _link(b, home / "HALF_B")
        folds = [fold(home, folder_a, folder_b, truth, "A-on-B"),
                 fold(home, folder_b, folder_a, truth, "B-on-A")]
        off, on = calibrate_cost(home, SMALL_DIR)
    print("\n| fold | rule | pneumonias called NORMAL | normals called PNEUMONIA | accuracy "
          "among decided | referred | band |\n|---|---|---:|---:|---:|---:|---|")
    for name, result in zip(("A -> B", "B -> A"), folds, strict=True):
        band = result["refer_band"]
        for rule in ("band", "threshold"):
            r = result[rule]
            print(f"| {name} | {rule} | {100 * r['missed']:.1f}% | {100 * r['false_alarm']:.1f}% "
                  f"| {100 * r['accuracy_decided']:.1f}% | {100 * r['referred']:.1f}% | "
                  + (f"{band['t_low']:.4f}-{band['t_high']:.4f}" if band and rule == "band"
                     else "-") + " |")
    for rule in ("band", "threshold"):
        mean = {k: statistics.mean(f[rule][k] for f in folds)
                for k in ("missed", "false_alarm", "accuracy_decided", "referred")}
        print(f"| mean | {rule} | {100 * mean['missed']:.1f}% | {100 * mean['false_alarm']:.1f}% "
              f"| {100 * mean['accuracy_decided']:.1f}% | {100 * mean['referred']:.1f}% | |")
    mean = {k: statistics.mean(f["band"][k] for f in folds)
            for k in ("missed", "false_alarm", "accuracy_decided", "referred")}
    met = (mean["missed"] <= 0.05 and mean["false_alarm"] <= 0.05
           and mean["accuracy_decided"] >= 0.97 and mean["referred"] <= 0.20)
    print(f"\nDone-when targets (mean of both folds: <= 5%, <= 5%, >= 97%, <= 20%): "
          f"{'met' if met else 'NOT met'}")
    print(f"calibrate on 600 images: {off:.3f} s without the band, {on:.3f} s with it "
          f"(+{on - off:.3f} s; issue: <= 2 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
