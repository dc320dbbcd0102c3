"""The exported model.pt honours docs/contracts.md when loaded with torch.jit.load alone."""

import hashlib
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from desktop.modelfile import FORMAT_VERSION, card_problems, check_card, quiet_torchscript
from tests.support.model_fixtures import sample_metadata
from tests.support.training_synth import legacy_model_file
from training.export import (
    ExportedClassifier,
    export_model,
    load_history,
    load_scripted,
    reexport,
    script,
    update_metadata,
    verification_batch,
)
from training.model import ChestXRayNet, fold_grey_stem, unfold_grey_stem


def test_tiny_model_has_checksum_in_sha256sum_format(tiny_model):
    line = (tiny_model.parent / "model.pt.sha256").read_text()
    digest = hashlib.sha256(tiny_model.read_bytes()).hexdigest()
    assert line == f"{digest}  model.pt\n"


def test_tiny_model_card_follows_the_schema(tiny_model):
    _, meta = load_scripted(tiny_model)
    assert card_problems(meta) == []
    assert meta["classes"] == ["NORMAL", "PNEUMONIA"]
    assert "TEST" in meta["model_name"]


@pytest.mark.integration
def test_forward_returns_probabilities_for_uint8_batches(tiny_model):
    model, _ = load_scripted(tiny_model)
    with torch.inference_mode():
        probs = model(verification_batch(3))
    assert probs.shape == (3, 2) and probs.dtype == torch.float32
    assert torch.allclose(probs.sum(dim=1), torch.ones(3), atol=1e-6)


@pytest.mark.integration
def test_explain_gives_unit_range_maps_under_inference_mode(tiny_model):
    model, _ = load_scripted(tiny_model)
    with torch.inference_mode():
        maps = model.explain(verification_batch(2))
    assert maps.shape == (2, 224, 224)
    assert maps.min() >= 0.0 and maps.max() <= 1.0
    assert torch.isclose(maps.amax(dim=(1, 2)), torch.ones(2)).all()


def test_explain_of_a_flat_map_is_all_zeros():
    torch.manual_seed(0)
    net = ChestXRayNet().eval()
    torch.nn.init.zeros_(net.net.classifier[0].weight)  # no channel gets any weight
    wrapper = ExportedClassifier(net)
    with torch.inference_mode():
        assert wrapper.explain(verification_batch(1)).abs().sum() == 0


def test_closed_form_grad_cam_equals_autograd_grad_cam():
    torch.manual_seed(1)
    net = ChestXRayNet().eval()
    wrapper = ExportedClassifier(net).eval()
    x = verification_batch(2, seed=3)
    fmap = wrapper.model.feature_map(x.float() / 255).detach().requires_grad_(True)
    logits = wrapper.model.head(fmap.mean(dim=(2, 3)))
    (grad,) = torch.autograd.grad((logits[:, 1] - logits[:, 0]).sum(), fmap)
    cam = torch.relu((grad.mean(dim=(2, 3), keepdim=True) * fmap).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=(224, 224), mode="bilinear", align_corners=False)[:, 0]
    lo = cam.amin(dim=(1, 2), keepdim=True)
    cam = (cam - lo) / (cam.amax(dim=(1, 2), keepdim=True) - lo)
    with torch.no_grad():
        assert torch.allclose(wrapper.explain(x), cam.detach(), atol=1e-4)


@pytest.mark.integration
def test_temperature_and_flip_averaging_are_inside_the_file(tmp_path):
    torch.manual_seed(2)
    net = ChestXRayNet(per_image_norm=True).eval()
    path = export_model(net, sample_metadata(), tmp_path / "model.pt", temperature=2.0,
                        tta_flip=True)
    loaded, _ = load_scripted(path)
    x = verification_batch(2)
    xf = x.float() / 255
    with torch.no_grad():
        logits = 0.5 * (net(xf) + net(xf.flip(3)))
        expected = torch.softmax(logits / 2.0, dim=1)
        assert torch.allclose(loaded(x), expected, atol=1e-5)
        assert torch.allclose(loaded(x.flip(3)), loaded(x), atol=1e-5)


def test_export_refuses_an_incomplete_model_card(tmp_path):
    meta = sample_metadata()
    del meta["calibration"]
    with pytest.raises(ValueError, match="calibration"):
        export_model(ChestXRayNet(), meta, tmp_path / "model.pt")
    assert not (tmp_path / "model.pt").exists()


def test_schema_check_names_each_problem():
    meta = sample_metadata()
    meta["default_operating_point"] = "nonexistent"
    meta["operating_points"][0]["threshold"] = 1.5
    del meta["metrics"]["validation"]["roc_auc"]
    problems = " | ".join(card_problems(meta))
    assert "default_operating_point" in problems
    assert "threshold outside" in problems
    assert "metrics.validation.roc_auc" in problems


@pytest.mark.integration
def test_update_metadata_rewrites_card_and_checksum(tiny_model, tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(tiny_model.read_bytes())
    _, meta = load_scripted(path)
    meta["metrics"]["test"]["accuracy"] = 0.123
    update_metadata(path, meta)
    _, card = load_scripted(path)
    assert card["metrics"]["test"]["accuracy"] == 0.123
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert (tmp_path / "model.pt.sha256").read_text().split()[0] == digest
    check_card(json.loads(json.dumps(card)))


def test_a_damaged_or_missing_file_is_one_clear_error(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"not a zip archive")
    with pytest.raises(ValueError, match="is not a model.pt written by"):
        load_scripted(tmp_path / "model.pt")
    with pytest.raises(FileNotFoundError, match="model file not found"):
        load_scripted(tmp_path / "absent.pt")


def _stem_channels(module) -> int:
    return module.state_dict()["model.net.features.0.0.weight"].shape[1]


@pytest.mark.parametrize("per_image_norm", [False, True])
def test_exported_stem_reads_the_grey_channel_once_with_the_same_outputs(per_image_norm):
    torch.manual_seed(3)
    net = ChestXRayNet(per_image_norm=per_image_norm).eval()
    folded = fold_grey_stem(net)
    assert folded.net.features[0][0].in_channels == 1 and not net.grey_stem  # a copy
    x = verification_batch(3, seed=4).float() / 255
    with torch.no_grad():
        assert torch.allclose(folded(x), net(x), atol=1e-5)
        assert torch.allclose(folded.feature_map(x), net.feature_map(x), atol=1e-5)
    state = unfold_grey_stem(folded.net.state_dict())
    again = ChestXRayNet(per_image_norm=per_image_norm).eval()
    again.net.load_state_dict(state)  # the 3-channel network the MVP baseline runs
    with torch.no_grad():
        assert torch.allclose(again(x), net(x), atol=1e-5)


def test_the_bundled_model_is_in_the_fast_layout():
    model, meta = load_scripted(Path(__file__).resolve().parents[2] / "assets" / "model.pt")
    assert _stem_channels(model) == 1
    # Either exported by this code, or rewritten from an older file with the same outputs.
    assert meta["format_version"] == FORMAT_VERSION or (
        meta["re_exported"]["max_probability_difference"] < 1e-5)


@pytest.mark.integration
def test_reexport_rewrites_an_old_file_in_the_fast_layout_with_the_same_outputs(tmp_path):
    legacy = legacy_model_file(tmp_path / "legacy.pt")
    old, old_card = load_scripted(legacy)
    assert _stem_channels(old) == 3
    out = tmp_path / "model.pt"
    difference = reexport(legacy, out)
    new, card = load_scripted(out)
    assert _stem_channels(new) == 1 and difference < 1e-5
    x = torch.cat([verification_batch(4, seed=9), verification_batch(4, seed=9).flip(3)])
    with torch.inference_mode():
        assert torch.allclose(new(x), old(x), atol=1e-5)  # temperature and flip kept
        assert torch.allclose(new.explain(x), old.explain(x), atol=1e-4)
    assert {k: v for k, v in card.items() if k != "re_exported"} == old_card
    assert card["re_exported"]["from_sha256"] == hashlib.sha256(legacy.read_bytes()).hexdigest()
    assert load_history(out) == [{"epoch": 1, "val_loss": 0.5}]
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert (tmp_path / "model.pt.sha256").read_text() == f"{digest}  model.pt\n"


def test_reexport_refuses_a_file_that_is_not_ours(tmp_path):
    class Other(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    path = tmp_path / "other.pt"
    with quiet_torchscript():
        torch.jit.save(script(Other()), str(path), _extra_files={"metadata.json": "{}"})
    with pytest.raises(ValueError, match="not a model.pt written by"):
        reexport(path, tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()


def test_histogram_equalisation_undoes_exposure_and_keeps_a_black_border_black():
    from training.model import equalize_histogram

    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, 64, 64, generator=g) * 0.6 + 0.2
    x[:, :, :8] = 0.0  # a black border, as a zoomed-out image has
    darker = x ** 1.8  # the same image, under-exposed: every grey level moves, in order
    a, b = equalize_histogram(x), equalize_histogram(darker)
    # exposure no longer shows, up to re-quantising the grey levels the darkening merged
    assert float((a - b).abs().mean()) < 0.05 * float((x - darker).abs().mean())
    assert float((a - b).abs().max()) < 0.02
    assert float(a[:, :, :8].abs().max()) == 0.0 and float(a.max()) == 1.0
    flat = torch.full((1, 1, 16, 16), 0.5)
    assert float(equalize_histogram(flat).abs().max()) == 0.0  # one level: no division by zero
    net = ChestXRayNet(equalize=1.0).eval()
    scripted = script(net)
    with torch.no_grad():
        assert torch.allclose(scripted(x), net(x), atol=1e-6)
