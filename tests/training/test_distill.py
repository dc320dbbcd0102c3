"""Distillation (``training.distill``): the ensemble a student learns from, its loss
(``training.loop.distilled_losses``), and a tiny
distilled run end to end through ``python -m training train --teachers``."""

import hashlib

import pytest
import torch

import training.loop
from training.cli import main
from training.distill import Ensemble, load_ensemble, load_member
from training.export import load_scripted
from training.loop import distilled_losses

TINY = ["--epochs-head", "1", "--epochs-finetune", "1", "--max-steps", "2", "--batch-size", "8",
        "--val-fraction", "0.25", "--cache-views", "1", "--no-progress"]


@pytest.fixture(scope="module")
def teacher(data, tmp_path_factory):
    """A tiny exported model to teach with (what a seed run leaves as model.pt)."""
    out = tmp_path_factory.mktemp("teacher")
    assert main(["train", "--data", str(data), "--out", str(out / "model.pt"),
                 "--work-dir", str(out / "work"), "--seed", "3", *TINY]) == 0
    return out / "model.pt"


def test_an_ensemble_answers_the_mean_logit_of_its_members():
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    x = torch.randn(5, 3)
    assert torch.allclose(Ensemble([a, b])(x), (a(x) + b(x)) / 2)
    with pytest.raises(ValueError, match="at least one"):
        Ensemble([])


def test_the_distilled_loss_is_the_recipe_loss_at_share_0_and_pulls_toward_the_teacher():
    crit = torch.nn.CrossEntropyLoss(weight=torch.tensor([2.0, 1.0]), label_smoothing=0.1,
                                     reduction="none")
    y = torch.tensor([0, 1, 1])
    out = torch.randn(3, 2)
    teacher = torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.5, 0.0]])  # unsure on the third
    assert torch.allclose(distilled_losses(out, y, teacher, crit, 0.0), crit(out, y))
    # all teacher: the loss is least where the student's answer is the teacher's
    at_teacher = distilled_losses(teacher.clone(), y, teacher, crit, 1.0)
    for shift in (-1.0, 1.0):
        moved = teacher + torch.tensor([[0.0, shift]] * 3)
        assert torch.all(distilled_losses(moved, y, teacher, crit, 1.0) > at_teacher)
    # weighted by the item's class weight, like the hard part (a NORMAL counts twice here)
    soft = -(torch.softmax(teacher, 1) * torch.log_softmax(out, 1)).sum(1)
    assert torch.allclose(distilled_losses(out, y, teacher, crit, 1.0),
                          soft * torch.tensor([2.0, 1.0, 1.0]))


def test_a_teacher_is_its_file_network_frozen_and_answers_as_the_file_does(teacher, data):
    scripted, _ = load_scripted(teacher)
    member = load_member(teacher)
    assert not any(p.requires_grad for p in member.parameters())
    x = torch.randint(0, 256, (4, 1, 224, 224), dtype=torch.uint8)
    with torch.no_grad():
        raw = member(x.float() / 255.0)
    with torch.inference_mode():
        in_file = scripted.logits(x)  # the same network (no --tta-flip here), before calibration
    assert torch.allclose(raw, in_file, atol=1e-4)
    two = load_ensemble([teacher, teacher])
    with torch.no_grad():
        assert torch.allclose(two(x.float() / 255.0), raw, atol=1e-5)


@pytest.mark.integration
def test_a_distilled_run_learns_from_its_teachers_and_says_so_in_the_card(
        data, teacher, tmp_path, monkeypatch):
    calls = []
    original = training.loop.distilled_losses

    def spy(out, y, taught, criterion, alpha):
        calls.append((taught.shape, alpha))
        return original(out, y, taught, criterion, alpha)

    monkeypatch.setattr(training.loop, "distilled_losses", spy)
    code = main(["train", "--data", str(data), "--out", str(tmp_path / "model.pt"),
                 "--work-dir", str(tmp_path / "work"), "--teachers", str(teacher),
                 str(teacher), "--distill", "0.8", *TINY])
    assert code == 0
    assert len(calls) == 2 and all(alpha == 0.8 and shape[1] == 2 for shape, alpha in calls)
    _, meta = load_scripted(tmp_path / "model.pt")
    recipe = meta["training"]["recipe"]
    assert recipe["distill"] == 0.8 and recipe["teachers"] == [str(teacher)] * 2
    digest = hashlib.sha256(teacher.read_bytes()).hexdigest()
    assert recipe["teachers_sha256"] == [digest, digest]


@pytest.mark.parametrize("flags, said", [
    (["--teachers", "{teacher}"], "go together"),
    (["--distill", "0.5"], "go together"),
    (["--teachers", "{teacher}", "--distill", "1.5"], "between 0 and 1"),
    (["--teachers", "{missing}", "--distill", "0.5"], "not found"),
    (["--teachers", "{teacher}", "--distill", "0.5", "--mixup", "0.2"], "do not combine"),
])
def test_the_command_line_refuses_a_distillation_it_cannot_run(flags, said, data, tmp_path,
                                                                capsys):
    fake = tmp_path / "teacher.pt"
    fake.write_bytes(b"x")
    flags = [f.format(teacher=fake, missing=tmp_path / "gone.pt") for f in flags]
    with pytest.raises(SystemExit):
        main(["train", "--data", str(data), "--work-dir", str(tmp_path / "w"), *flags])
    assert said in capsys.readouterr().err
