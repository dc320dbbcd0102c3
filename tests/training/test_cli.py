"""End to end on a tiny synthetic data set: train a few steps, export, reload, predict, evaluate,
re-export from the checkpoint, and resume an interrupted run."""

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import training.loop
from desktop.modelfile import card_problems
from desktop.reading.imaging import load_model_input
from tests.support.training_synth import legacy_model_file, make_split
from training.cli import main
from training.export import load_history, load_scripted

TINY = ["--epochs-head", "2", "--epochs-finetune", "2", "--max-steps", "2", "--batch-size", "8",
        "--val-fraction", "0.25", "--cache-views", "2", "--no-progress"]


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    """One tiny training run (no init weights: it must say so and train from scratch)."""
    out = tmp_path_factory.mktemp("run")
    mp = pytest.MonkeyPatch()
    mp.setenv("TORCH_HOME", str(out / "no-torch-cache"))
    try:
        code = main(["train", "--data", str(data), "--out", str(out / "model.pt"),
                     "--work-dir", str(out / "work"), "--augment", "framing", "--tta-flip",
                     *TINY])
    finally:
        mp.undo()
    assert code == 0
    return out


def _inputs(folder):
    files = sorted(folder.rglob("*.jpeg"))
    x = torch.from_numpy(np.stack([load_model_input(f) for f in files]))[:, None]
    labels = np.array([f.parent.name == "PNEUMONIA" for f in files])
    return x, labels


@pytest.mark.integration
def test_trained_model_reloads_and_predicts(trained, data):
    model, meta = load_scripted(trained / "model.pt")
    assert card_problems(meta) == []
    x, labels = _inputs(data / "test")
    with torch.inference_mode():
        probs = model(x)
        heat = model.explain(x[:2])
    assert probs.shape == (12, 2)
    assert torch.allclose(probs.sum(1), torch.ones(12), atol=1e-5)
    assert heat.shape == (2, 224, 224) and 0 <= float(heat.min()) <= float(heat.max()) <= 1
    assert labels.sum() == 6


def test_card_describes_the_run(trained):
    _, meta = load_scripted(trained / "model.pt")
    assert meta["training"]["init_weights"] == "none (random)"
    assert meta["data"]["counts"]["test"] == {"NORMAL": 6, "PNEUMONIA": 6}
    counts = meta["data"]["counts"]
    assert sum(counts["train"].values()) + sum(counts["val"].values()) == 32
    history = load_history(trained / "model.pt")
    assert [h["phase"] for h in history] == ["head"] * 2 + ["finetune"] * 2
    assert "history" not in meta["training"]  # kept out of the About box
    assert meta["input"]["test_time_augmentation"] != "none"
    assert meta["training"]["recipe"]["augment"] == "framing"
    names = [op["name"] for op in meta["operating_points"]]
    assert names == ["balanced", "high_sensitivity"]
    assert meta["operating_points"][1]["threshold"] <= meta["operating_points"][0]["threshold"]
    assert meta["calibration"]["temperature"] > 0


def test_no_init_weights_is_announced_loudly(data, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    with caplog.at_level(logging.WARNING):
        assert main(["train", "--data", str(data), "--work-dir", str(tmp_path),
                     *TINY, "--epochs-head", "1", "--epochs-finetune", "0"]) == 0
    assert "NO INIT WEIGHTS" in caplog.text


@pytest.mark.integration
def test_evaluate_writes_metrics_plots_and_records_test_figures(trained, data, tmp_path):
    model = tmp_path / "model.pt"
    model.write_bytes((trained / "model.pt").read_bytes())
    (tmp_path / "model.pt.sha256").write_bytes((trained / "model.pt.sha256").read_bytes())
    out = tmp_path / "eval"
    assert main(["evaluate", "--model", str(model), "--data", str(data), "--out", str(out),
                 "--record-in-card", "2"]) == 0
    figures = json.loads((out / "metrics.json").read_text())["metrics"]
    assert figures["n"] == 12 and set(figures["operating_points"]) == {
        "balanced", "high_sensitivity"}
    for png in ("history.png", "confusion_matrix.png", "roc.png"):
        with Image.open(out / png) as im:
            assert im.format == "PNG" and im.size[0] > 300
    _, meta = load_scripted(model)
    assert meta["metrics"]["test"]["test_split_evaluations_during_development"] == 2
    assert meta["metrics"]["test"]["accuracy"] == figures["accuracy"]
    assert 0 <= meta["metrics"]["test"]["expected_calibration_error"] <= 1
    scope = json.loads((out / "metrics.json").read_text())["scope"]  # the export fitted one
    assert scope["n"] == 12 and abs(scope["in_scope"] + scope["unusual"]
                                    + scope["not_chest_xray"] - 1) < 1e-3
    assert meta["scope_check"]["test"] == scope and card_problems(meta) == []
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    assert (tmp_path / "model.pt.sha256").read_text() == f"{digest}  model.pt\n"


@pytest.mark.integration
def test_export_from_checkpoint_reproduces_the_trained_model(trained, data, tmp_path):
    out = tmp_path / "again.pt"
    assert main(["export", "--checkpoint", str(trained / "work" / "final.pt"),
                 "--data", str(data), "--out", str(out)]) == 0
    first, _ = load_scripted(trained / "model.pt")
    again, _ = load_scripted(out)
    x, _ = _inputs(data / "test")
    with torch.inference_mode():
        assert torch.allclose(first(x), again(x), atol=1e-5)


@pytest.mark.integration
def test_reexport_upgrades_a_model_file_in_place(tmp_path, capsys):
    path = legacy_model_file(tmp_path / "model.pt")
    before, card_before = load_scripted(path)
    assert main(["reexport", "--model", str(path)]) == 0
    assert "largest probability difference" in capsys.readouterr().out
    after, card = load_scripted(path)
    assert after.state_dict()["model.net.features.0.0.weight"].shape[1] == 1
    x = torch.randint(0, 256, (4, 1, 224, 224), dtype=torch.uint8)
    with torch.inference_mode():
        assert torch.allclose(after(x), before(x), atol=1e-5)
    assert card["metrics"] == card_before["metrics"]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert (tmp_path / "model.pt.sha256").read_text() == f"{digest}  model.pt\n"


def test_reexport_of_a_missing_file_is_one_clear_error(tmp_path, capsys):
    assert main(["reexport", "--model", str(tmp_path / "absent.pt")]) == 2
    assert capsys.readouterr().err.startswith("error: model file not found")


def test_bad_data_folder_is_one_clear_error(tmp_path, capsys):
    make_split(tmp_path / "train", 2)
    for f in (tmp_path / "train" / "PNEUMONIA").iterdir():
        f.unlink()
    (tmp_path / "train" / "PNEUMONIA").rmdir()
    assert main(["train", "--data", str(tmp_path), "--work-dir", str(tmp_path / "w"),
                 *TINY]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: missing class folder") and "PNEUMONIA" in err


def test_config_file_sets_the_recipe_and_flags_win(tmp_path):
    from training.cli import parse_args

    cfg = tmp_path / "recipe.json"
    cfg.write_text(json.dumps({"epochs_head": 3, "augment": "framing", "lr_finetune": 1e-4}))
    args = parse_args(["train", "--data", "d", "--config", str(cfg), "--epochs-head", "7"])
    assert (args.epochs_head, args.augment, args.lr_finetune) == (7, "framing", 1e-4)
    cfg.write_text(json.dumps({"epochs_hed": 3}))
    with pytest.raises(SystemExit):
        parse_args(["train", "--data", "d", "--config", str(cfg)])


@pytest.mark.parametrize("options", [[], ["--ema-decay", "0.9", "--lr-schedule", "cosine",
                                            "--equalize", "1"]], ids=["plain", "ema-cosine-he"])
@pytest.mark.integration
def test_interrupted_training_resumes_to_the_same_weights(data, tmp_path, monkeypatch, options):
    """The LR schedule and the weight average are in the checkpoint too: resuming gives the
    weights of an uninterrupted run."""
    recipe = ["train", "--data", str(data), *TINY, "--epochs-finetune", "3", *options]
    assert main([*recipe, "--work-dir", str(tmp_path / "straight")]) == 0

    real = training.loop.train_one_epoch
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(training.loop, "train_one_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        main([*recipe, "--work-dir", str(tmp_path / "cut")])
    monkeypatch.setattr(training.loop, "train_one_epoch", real)
    ckpt = tmp_path / "cut" / "checkpoint.pt"
    saved = torch.load(ckpt, weights_only=True)
    assert (saved["phase"], saved["epoch"]) == ("finetune", 1)

    assert main([*recipe, "--work-dir", str(tmp_path / "cut"), "--resume", str(ckpt)]) == 0
    straight = torch.load(tmp_path / "straight" / "final.pt", weights_only=True)
    resumed = torch.load(tmp_path / "cut" / "final.pt", weights_only=True)
    assert [(h["phase"], h["epoch"]) for h in resumed["history"]] == \
        [(h["phase"], h["epoch"]) for h in straight["history"]]
    for key, value in straight["model"].items():
        assert torch.allclose(value.float(), resumed["model"][key].float(), atol=1e-6), key


@pytest.mark.slow
def test_two_processes_under_torchrun_train_what_one_process_does(data, tmp_path):
    """DistributedDataParallel on CPU (gloo): the same recipe and seed give the same training
    within noise; only the main process writes checkpoints, and --resume works there too."""
    import os
    import subprocess
    import sys

    recipe = ["train", "--data", str(data), *TINY, "--epochs-finetune", "2", "--device", "cpu"]
    assert main([*recipe, "--work-dir", str(tmp_path / "one")]) == 0
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).parents[2]))

    def torchrun(*extra):
        return subprocess.run(
            [sys.executable, "-m", "torch.distributed.run", "--standalone",
             "--nproc_per_node=2", "-m", "training", *recipe, *extra],
            capture_output=True, text=True, timeout=600, env=env, stdin=subprocess.DEVNULL)

    run = torchrun("--work-dir", str(tmp_path / "two"))
    assert run.returncode == 0, run.stderr[-3000:]
    one = torch.load(tmp_path / "one" / "final.pt", weights_only=True)
    two = torch.load(tmp_path / "two" / "final.pt", weights_only=True)
    assert [(h["phase"], h["epoch"]) for h in two["history"]] == \
        [(h["phase"], h["epoch"]) for h in one["history"]]
    for a, b in zip(one["history"], two["history"], strict=True):
        assert abs(a["val_loss"] - b["val_loss"]) < 0.02, (a, b)
    biggest = max(float((one["model"][k].float() - two["model"][k].float()).abs().max())
                  for k in one["model"])
    assert biggest < 0.05
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == [
        "checkpoint.pt", "final.pt", "image-cache", "summary.json"]  # one writer, no temp files

    resumed = torchrun("--work-dir", str(tmp_path / "three"), "--resume",
                       str(tmp_path / "two" / "checkpoint.pt"))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (tmp_path / "three" / "final.pt").is_file()


@pytest.mark.integration
def test_export_from_a_model_file_calibrates_it_anew_on_the_same_weights(trained, data, tmp_path):
    """`export --from-model`: the same network (the same ranking of images), its calibration,
    operating points and scope check fitted again on the data's validation split."""
    out = tmp_path / "again.pt"
    assert main(["export", "--from-model", str(trained / "model.pt"), "--data", str(data),
                 "--out", str(out)]) == 0
    old, old_card = load_scripted(trained / "model.pt")
    new, card = load_scripted(out)
    assert card_problems(card) == [] and "test" not in card["metrics"]
    x, _ = _inputs(data / "test")
    with torch.inference_mode():
        before, after = old.logits(x), new.logits(x)
    assert torch.allclose(before, after, atol=1e-4)  # the same weights
    assert card["training"]["recipe"]["augment"] == old_card["training"]["recipe"]["augment"]


def test_mixup_blends_images_and_targets_alike_and_is_seeded():
    """Fine-tuning with ``--mixup``: each image is a blend of two, its loss the same blend of
    both labels' losses, and a seed gives the same blend again (so resume is exact)."""
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    crit = torch.nn.CrossEntropyLoss(weight=torch.tensor([2.0, 1.0]), reduction="none")
    x = torch.arange(12, dtype=torch.float32).reshape(3, 1, 2, 2)
    y = torch.tensor([0, 1, 1])
    mixed, losses, weight = training.loop._mixed_loss(model, crit, x, y, 0.2, seed=7)
    again, losses2, _ = training.loop._mixed_loss(model, crit, x, y, 0.2, seed=7)
    assert torch.equal(mixed, again) and torch.equal(losses, losses2)
    assert not torch.equal(mixed, x)  # blended, and each pixel between its two sources
    assert torch.all(mixed >= x.amin(0) - 1e-6) and torch.all(mixed <= x.amax(0) + 1e-6)
    assert 3.0 <= weight <= 6.0  # between all-NORMAL (2 each) and all-PNEUMONIA (1 each)
    assert losses.shape == (3,) and torch.all(losses > 0)


@pytest.mark.integration
def test_a_mixup_run_trains_and_records_it_in_the_card(data, tmp_path):
    code = main(["train", "--data", str(data), "--out", str(tmp_path / "model.pt"),
                 "--work-dir", str(tmp_path / "work"), "--mixup", "0.2", *TINY])
    assert code == 0
    _, meta = load_scripted(tmp_path / "model.pt")
    assert meta["training"]["recipe"]["mixup"] == 0.2
