"""CLAHE inside the model (``training.model.clahe``, ``ChestXRayNet(clahe=...)``): what it does
to an image, against a plain reference written with loops, and a tiny run trained, exported and
reloaded with ``torch.jit.load`` alone, its card saying so."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.support.model_fixtures import sample_metadata
from tests.support.training_synth import calibrated_init_weights
from training.cli import _checkpoint_of, main, parse_args
from training.distill import load_member
from training.export import export_model, load_scripted, network_of, script
from training.model import (
    ChestXRayNet,
    clahe,
    equalize_histogram,
    load_init_weights,
    network_for,
)
from training.sweep import CONFIGS, variant_recipes

TINY = ["--epochs-head", "1", "--epochs-finetune", "1", "--max-steps", "2", "--batch-size", "8",
        "--val-fraction", "0.25", "--cache-views", "1", "--no-progress"]


def _texture(h: int, w: int, low: int, high: int, seed: int = 0) -> torch.Tensor:
    """[1, 1, h, w] smooth random texture on the grey levels low..high (as floats in [0, 1])."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 1, max(h // 16, 2), max(w // 16, 2), generator=g)
    smooth = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False)
    return (low + smooth.clamp(0, 1) * (high - low)).round() / 255.0


def _neighbours(p: float, centres: list[float]) -> tuple[int, int, float]:
    """The tile centres on either side of position p and the weight of the second one (the
    nearest tile alone beyond the first and last centres)."""
    if p <= centres[0]:
        return 0, 0, 0.0
    if p >= centres[-1]:
        return len(centres) - 1, len(centres) - 1, 0.0
    k = max(i for i, c in enumerate(centres) if c <= p)
    return k, k + 1, (p - centres[k]) / (centres[k + 1] - centres[k])


def reference_clahe(levels: np.ndarray, clip: float, tiles: int) -> np.ndarray:
    """The textbook algorithm, one image of grey levels [H, W] at a time, with loops: each
    tile's histogram, clipped at clip x the mean count per level, the excess spread evenly over
    the 256 levels, its cumulative sum as the tile's mapping; each pixel (at its centre) mapped
    by the four tiles whose centres surround it, weighted bilinearly."""
    h, w = levels.shape
    th, tw = h // tiles, w // tiles
    maps = np.zeros((tiles, tiles, 256))
    for r in range(tiles):
        for c in range(tiles):
            hist = np.zeros(256)
            for v in levels[r * th:(r + 1) * th, c * tw:(c + 1) * tw].ravel():
                hist[v] += 1
            limit, excess = clip * th * tw / 256, 0.0
            for v in range(256):
                if hist[v] > limit:
                    excess += hist[v] - limit
                    hist[v] = limit
            maps[r, c] = np.cumsum(hist + excess / 256) / (th * tw)
    rows = [(r + 0.5) * th for r in range(tiles)]
    cols = [(c + 0.5) * tw for c in range(tiles)]
    out = np.zeros((h, w))
    for i in range(h):
        r1, r2, fy = _neighbours(i + 0.5, rows)
        for j in range(w):
            c1, c2, fx = _neighbours(j + 0.5, cols)
            v = levels[i, j]
            out[i, j] = ((1 - fy) * ((1 - fx) * maps[r1, c1, v] + fx * maps[r1, c2, v])
                         + fy * ((1 - fx) * maps[r2, c1, v] + fx * maps[r2, c2, v]))
    return out


@pytest.mark.parametrize("height, width, tiles, clip", [(64, 64, 8, 2.0), (48, 64, 4, 5.0),
                                                        (56, 56, 7, 1.0)])
def test_clahe_agrees_with_a_reference_written_with_loops(height, width, tiles, clip):
    g = torch.Generator().manual_seed(height + tiles)
    images = [torch.randint(0, 256, (height, width), generator=g),  # every level, clipped hard
              torch.randint(90, 140, (height, width), generator=g),  # a narrow band
              (_texture(height, width, 30, 220, seed=tiles)[0, 0] * 255).round().long()]
    levels = torch.stack(images)[:, None]
    got = clahe(levels.float() / 255.0, clip, tiles).double().numpy()
    for k in range(len(images)):
        expected = reference_clahe(levels[k, 0].numpy(), clip, tiles)
        # far within the 1/255 of one grey level: float rounding only
        assert np.abs(got[k, 0] - expected).max() < 2e-5


def test_a_uniform_image_stays_uniform():
    for level in (0, 37, 128, 255):
        flat = torch.full((1, 1, 64, 64), level / 255.0)
        out = clahe(flat, 2.0)
        assert float(out.max() - out.min()) < 1e-6  # no contrast invented
        # nor moved by more than one level's share of the mapping: (clip + 1) / 256
        assert abs(float(out.mean()) - level / 255.0) <= 3.0 / 256 + 1e-6


def test_a_low_contrast_image_gets_more_contrast_and_a_higher_clip_more_still():
    low = _texture(224, 224, 100, 121)  # 21 grey levels of 256
    spreads = [float(clahe(low, clip).std()) for clip in (1.5, 2.0, 4.0, 40.0)]
    assert spreads[0] > 2 * float(low.std())
    assert spreads == sorted(spreads) and spreads[-1] > 3 * spreads[0]
    out = clahe(low, 40.0)
    assert float(out.max() - out.min()) > 0.8 > 4 * float(low.max() - low.min())


def test_the_clip_limit_bounds_the_slope_of_the_mapping():
    """Where only the corner tile maps (its first half in both directions), two grey levels a
    and b < a end at most (a - b) x (clip + 1) / 256 apart: the clip caps each level's count,
    and the excess spread over all 256 levels adds at most one mean count."""
    g = torch.Generator().manual_seed(1)
    image = torch.randint(110, 120, (1, 1, 64, 64), generator=g).float() / 255.0
    for clip in (1.0, 2.0, 3.0):
        out = clahe(image, clip)
        corner_in = (image[0, 0, :4, :4] * 255).round().flatten()
        corner_out = out[0, 0, :4, :4].flatten()
        order = torch.argsort(corner_in)
        rise = corner_out[order].diff()
        step = corner_in[order].diff()
        assert float((rise - step * (clip + 1) / 256).max()) <= 1e-6
    assert float((clahe(image, 3.0) - clahe(image, 1.0)).abs().max()) > 0.01  # it does bite


def test_within_one_tile_the_order_of_grey_levels_is_kept():
    g = torch.Generator().manual_seed(2)
    image = torch.rand(3, 1, 64, 64, generator=g)
    out = clahe(image, 2.0)
    for k in range(3):  # the corner tile's inner quarter: that tile's mapping alone
        x, y = image[k, 0, :4, :4].flatten(), out[k, 0, :4, :4].flatten()
        order = torch.argsort(x)
        assert float(y[order].diff().min()) >= 0.0
        assert float(y.max() - y.min()) > 0.5  # and it is no constant


def test_each_half_gets_its_own_contrast_unlike_global_equalisation():
    dark, bright = _texture(224, 112, 20, 60, seed=3), _texture(224, 112, 180, 220, seed=4)
    image = torch.cat([dark, bright], dim=3)
    local, whole = clahe(image, 4.0), equalize_histogram(image)
    for part in (slice(0, 84), slice(140, 224)):  # away from the edge between the halves
        # global equalisation gives each half half the grey levels; CLAHE more to each
        assert float(whole[..., part].amax() - whole[..., part].amin()) <= 0.5
        assert float(local[..., part].amax() - local[..., part].amin()) > 0.6
    # and local: what lies beyond the nearest tiles does not change a pixel
    other = torch.cat([dark, _texture(224, 112, 0, 255, seed=5)], dim=3)
    kept = slice(0, 3 * 28 + 14)  # pixels whose four nearest tiles are all in the dark half
    assert torch.equal(clahe(other, 4.0)[..., kept], local[..., kept])
    assert not torch.allclose(equalize_histogram(other)[..., kept], whole[..., kept], atol=0.01)


def test_a_mirrored_image_gets_the_mirrored_result():
    """So the app's mirror averaging (``tta_flip``) sees one image and its mirror alike."""
    image = torch.rand(2, 1, 224, 224, generator=torch.Generator().manual_seed(6))
    assert torch.allclose(clahe(image.flip(3), 2.0), clahe(image, 2.0).flip(3), atol=1e-6)


def test_sizes_the_tiles_do_not_divide_are_refused_clearly():
    with pytest.raises(ValueError, match="multiples of tiles"):
        clahe(torch.rand(1, 1, 60, 64), 2.0)


@pytest.fixture(scope="module")
def init_weights(tmp_path_factory):
    """Backbone weights whose features respond to the image (a random network's do not)."""
    return calibrated_init_weights(tmp_path_factory.mktemp("init") / "init.pth")


def test_the_network_applies_clahe_and_scripts_to_the_same_outputs(init_weights):
    net = ChestXRayNet(clahe=2.0).eval()
    load_init_weights(net, init_weights)
    plain = ChestXRayNet().eval()
    plain.load_state_dict(net.state_dict())
    x = _texture(224, 224, 60, 140, seed=7).expand(2, -1, -1, -1).contiguous()
    x[1] = x[1].flip(2)
    with torch.no_grad():
        assert torch.allclose(net.normalise(x), plain.normalise(clahe(x, 2.0)))
        assert not torch.allclose(net(x), plain(x), atol=1e-3)
        assert torch.allclose(script(net)(x), net(x), atol=1e-5)
        assert torch.allclose(script(net).normalise(x), net.normalise(x), atol=1e-6)


@pytest.mark.parametrize("options, said", [({"clahe": 2.0, "equalize": 1.0}, "choose one"),
                                           ({"clahe": -1.0}, "clip limit")])
def test_the_network_refuses_what_it_cannot_do(options, said):
    with pytest.raises(ValueError, match=said):
        network_for(options)


@pytest.mark.parametrize("flags, said", [(["--clahe", "2", "--equalize", "1"], "choose one"),
                                         (["--clahe", "-1"], "clip limit")])
def test_the_command_line_refuses_them_before_reading_any_data(flags, said, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--data", str(tmp_path / "absent"), *flags])
    assert said in capsys.readouterr().err


def test_the_sweep_config_trains_the_bundled_recipe_with_clahe(tmp_path):
    config = json.loads((CONFIGS / "clahe.json").read_text())
    bundled = json.loads((CONFIGS / config["base"]).read_text())
    recipe = variant_recipes(config)["clahe"]
    assert recipe == {**bundled, "clahe": 2.0} and config["split_seed"] == 0
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(recipe))
    args = parse_args(["train", "--data", "d", "--config", str(path)])
    assert args.clahe == 2.0 and args.augment == bundled["augment"]


def test_a_file_written_before_clahe_reads_as_without_it(tmp_path):
    class BeforeClahe(ChestXRayNet):
        """The network as files before CLAHE have it: no ``clahe`` attribute."""

        def __init__(self):
            super().__init__()
            del self.clahe, self.clahe_tiles

        def normalise(self, x: torch.Tensor) -> torch.Tensor:
            x = x * 2.0 - 1.0
            return x if self.grey_stem else x.expand(-1, 3, -1, -1)

    torch.manual_seed(1)
    old = tmp_path / "old.pt"
    export_model(BeforeClahe().eval(), sample_metadata(), old)
    scripted, _ = load_scripted(old)
    assert not hasattr(scripted.model, "clahe")
    state, wrap = network_of(scripted, old)
    assert wrap["clahe"] == 0.0
    again = network_for(wrap).eval()
    again.net.load_state_dict(state)
    x = torch.randint(0, 256, (2, 1, 224, 224), dtype=torch.uint8)
    with torch.inference_mode():
        assert torch.allclose(scripted.logits(x), again(x.float() / 255.0), atol=1e-4)


@pytest.fixture(scope="module")
def run(data, init_weights, tmp_path_factory):
    """A tiny run with CLAHE (clip 2), exported with the mirror averaging the bundled recipe has."""
    out = tmp_path_factory.mktemp("clahe")
    assert main(["train", "--data", str(data), "--out", str(out / "model.pt"), "--work-dir",
                 str(out / "work"), "--init-weights", str(init_weights), "--clahe", "2",
                 "--tta-flip", *TINY]) == 0
    return out


def _batch(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    low = torch.randint(80, 150, (3, 1, 224, 224), dtype=torch.uint8, generator=g)
    return torch.cat([low, torch.zeros_like(low[:1]), torch.full_like(low[:1], 255)])


@pytest.mark.integration
def test_the_exported_file_applies_clahe_as_the_trained_network_does(run):
    final = torch.load(run / "work" / "final.pt", weights_only=True)
    eager = network_for(final["args"]).eval()
    eager.load_state_dict(final["model"])
    assert eager.clahe == 2.0
    scripted, card = load_scripted(run / "model.pt")  # torch.jit.load alone
    x = _batch()
    xf = x.float() / 255.0
    calibration = card["calibration"]
    with torch.no_grad():
        logits = 0.5 * (eager(xf) + eager(xf.flip(3)))
        expected = torch.softmax(logits / calibration["temperature"]
                                 + torch.tensor([0.0, calibration["bias"]]), dim=1)
    with torch.inference_mode():
        got = scripted(x)
    assert torch.allclose(got, expected, atol=1e-4)
    # the same weights without CLAHE answer otherwise: the file does apply it
    plain = network_for({**final["args"], "clahe": 0.0}).eval()
    plain.load_state_dict(final["model"])
    with torch.no_grad():
        assert not torch.allclose(0.5 * (plain(xf) + plain(xf.flip(3))), logits, atol=1e-3)


@pytest.mark.integration
def test_the_card_and_every_reader_of_the_file_keep_the_clip_limit(run):
    path = run / "model.pt"
    scripted, card = load_scripted(path)
    said = card["input"]["normalisation"]
    assert "CLAHE" in said and "clip limit 2" in said and "8x8 tiles" in said
    assert card["training"]["recipe"]["clahe"] == 2.0
    _, wrap = network_of(scripted, path)
    assert (wrap["clahe"], wrap["clahe_tiles"]) == (2.0, 8)
    assert _checkpoint_of(path)["args"]["clahe"] == 2.0  # export --from-model
    member = load_member(path)  # a teacher of distillation
    assert member.clahe == 2.0
    x = _batch(1)
    with torch.no_grad():
        taught = 0.5 * (member(x.float() / 255) + member(x.flip(3).float() / 255))
    with torch.inference_mode():
        assert torch.allclose(taught, scripted.logits(x), atol=1e-4)


@pytest.mark.integration
def test_export_from_the_checkpoint_and_reexport_keep_clahe(run, data, tmp_path):
    again = tmp_path / "again.pt"
    assert main(["export", "--checkpoint", str(run / "work" / "final.pt"), "--data", str(data),
                 "--out", str(again)]) == 0
    assert main(["reexport", "--model", str(again), "--out", str(tmp_path / "re.pt")]) == 0
    first, _ = load_scripted(run / "model.pt")
    x = _batch(2)
    for path in (again, tmp_path / "re.pt"):
        other, card = load_scripted(path)
        assert "CLAHE" in card["input"]["normalisation"]
        with torch.inference_mode():
            assert torch.allclose(other(x), first(x), atol=1e-5)
