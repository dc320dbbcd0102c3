"""Training under torchrun (CPU, gloo) on data sets that do not divide evenly among the
processes: the run finishes, its figures equal a single-process run on the same seed within
noise, its model file loads in the app; a crashed process ends the run with its error, and
``--resume`` continues a run killed in the middle of an epoch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from desktop.engine.inference import Engine
from tests.support.gather_worker import gather
from tests.support.training_synth import calibrated_init_weights, make_split, write_image
from training.cli import main

ROOT = Path(__file__).parents[2]
RECIPE = ["--epochs-head", "3", "--epochs-finetune", "2", "--max-steps", "3", "--batch-size", "8",
          "--lr-finetune", "1e-6",
          "--val-fraction", "0.2", "--cache-views", "2", "--no-progress", "--device", "cpu",
          "--loader-workers", "1"]


@pytest.fixture(scope="module")
def odd_data(tmp_path_factory):
    """61 NORMAL + 58 PNEUMONIA training images (no split divides by 2 or 3), and a test split."""
    root = tmp_path_factory.mktemp("odd")
    make_split(root / "train", 58)
    rng = np.random.default_rng(7)
    for i in range(3):
        write_image(root / "train" / "NORMAL" / f"IM-{900 + i:04d}-0001.jpeg", 0, rng)
    make_split(root / "test", 4, seed=5)
    calibrated_init_weights(root / "init.pth")
    return root


def recipe(data: Path) -> list[str]:
    return ["train", "--data", str(data), "--init-weights", str(data / "init.pth"), *RECIPE]


@pytest.fixture(scope="module")
def single(odd_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("one")
    assert main([*recipe(odd_data), "--work-dir", str(out)]) == 0
    return out


def torchrun(n: int, *args: str, script: tuple[str, ...] = ("-m", "training"),
             timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}",
         *script, *args], capture_output=True, text=True, timeout=timeout, env=env,
        stdin=subprocess.DEVNULL, cwd=ROOT)


def _final(work: Path) -> dict:
    return torch.load(work / "final.pt", weights_only=True)


def assert_same_training(one: dict, other: dict) -> None:
    """The same epochs, validation figures within noise, nearly the same weights."""
    assert [(h["phase"], h["epoch"]) for h in other["history"]] == \
        [(h["phase"], h["epoch"]) for h in one["history"]]
    for a, b in zip(one["history"], other["history"], strict=True):
        assert abs(a["val_loss"] - b["val_loss"]) < 0.02, (a, b)
        assert abs(a["val_auc"] - b["val_auc"]) < 0.05, (a, b)
        assert abs(a["val_acc"] - b["val_acc"]) < 0.05, (a, b)
    biggest = max(float((one["model"][k].float() - other["model"][k].float()).abs().max())
                  for k in one["model"])
    assert biggest < 0.05


@pytest.mark.slow
@pytest.mark.parametrize("processes, placement", [(2, "disk"), (3, "memory")])
def test_uneven_shards_train_evaluate_and_export_like_one_process(odd_data, single, tmp_path,
                                                                   processes, placement):
    work = tmp_path / "work"
    run = torchrun(processes, *recipe(odd_data), "--work-dir", str(work),
                   "--out", str(tmp_path / "model.pt"), "--placement", placement)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"{processes} processes" in run.stderr
    one, many = _final(single), _final(work)
    assert len(many["val_paths"]) % processes != 0  # validation does not divide evenly
    assert_same_training(one, many)
    assert max(h["val_auc"] for h in many["history"]) > 0.9  # it learnt: the comparison bites
    summary = json.loads((work / "summary.json").read_text())
    alone = json.loads((single / "summary.json").read_text())
    assert abs(summary["history"][-1]["val_auc"] - alone["history"][-1]["val_auc"]) < 0.05
    assert sorted(p.name for p in work.iterdir()) == [
        "checkpoint.pt", "final.pt", "image-cache", "summary.json"]  # one writer, no temp files
    engine = Engine.load(tmp_path / "model.pt")
    results = list(engine.predict_paths(sorted((odd_data / "test").rglob("*.jpeg")),
                                        preview_size=None))
    assert len(results) == 8
    assert all(r.error is None and 0 <= r.p_pneumonia <= 1 for r in results)


@pytest.mark.slow
def test_a_crashed_process_ends_the_run_with_its_error(odd_data, tmp_path):
    run = torchrun(2, "raise", "1", "1", *recipe(odd_data), "--work-dir", str(tmp_path),
                   "--dist-timeout", "1", script=("tests/support/faulty_training.py",))
    assert run.returncode != 0
    assert "injected failure on rank 1, epoch 1 step 1" in run.stderr
    assert not (tmp_path / "final.pt").exists()


@pytest.mark.slow
def test_resume_under_torchrun_after_a_kill_in_mid_epoch(odd_data, tmp_path):
    args = [*recipe(odd_data), "--epochs-finetune", "3"]
    straight = torchrun(2, *args, "--work-dir", str(tmp_path / "straight"))
    assert straight.returncode == 0, straight.stderr[-3000:]

    killed = torchrun(2, "kill", "2", "2", *args, "--work-dir", str(tmp_path / "cut"),
                      "--dist-timeout", "1", script=("tests/support/faulty_training.py",))
    assert killed.returncode != 0 and "(SIGKILL)" in killed.stderr
    ckpt = tmp_path / "cut" / "checkpoint.pt"
    saved = torch.load(ckpt, weights_only=True)
    assert (saved["phase"], saved["epoch"]) == ("finetune", 1)

    resumed = torchrun(2, *args, "--work-dir", str(tmp_path / "cut"), "--resume", str(ckpt))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming: phase finetune after epoch 1" in resumed.stderr
    one, other = _final(tmp_path / "straight"), _final(tmp_path / "cut")
    assert [h["val_loss"] for h in other["history"]] == pytest.approx(
        [h["val_loss"] for h in one["history"]], abs=1e-5)
    for key, value in one["model"].items():
        assert torch.allclose(value.float(), other["model"][key].float(), atol=1e-5), key


@pytest.mark.integration
def test_gathered_rows_count_every_item_once_whatever_the_shards(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(gather, args=(3, port, tmp_path / "rows.pt"), nprocs=3, join=True)
    got = torch.load(tmp_path / "rows.pt", weights_only=True)
    assert got["count"] == 12  # the sampler padded 10 items to 3 shards of 4 ...
    assert got["rows"][:, 0].tolist() == [10.0 * i for i in range(10)]  # ... each counted once
