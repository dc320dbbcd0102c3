"""The engine: refuses a damaged or foreign model, classifies files in order, and one bad file
never stops a batch.

``Engine.load`` guards the model file: a damaged, truncated, swapped or unvouched one is refused
with a clear sentence (a ``ModelError`` that tells the user what to do), never a crash and never
a silently wrong model; a card that reorders the classes still gives the right probabilities."""

import hashlib
import io
import json
import logging
import shutil
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from desktop.engine import inference
from desktop.engine.inference import Engine
from desktop.engine.results import fingerprint
from desktop.errors import (
    InternalError,
    ModelChecksumMismatchError,
    ModelChecksumMissingError,
    ModelError,
    ModelMissingError,
    ModelVersionError,
    NotAnImageError,
)
from desktop.modelfile import quiet_torchscript
from desktop.reading.imaging import load_model_input
from tests.support.fuzz_corpus import bit_flipped
from training.export import script


@pytest.fixture(scope="module")
def engine(tiny_model):
    return Engine.load(tiny_model)


def copy_model(tiny_model, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("model.pt", "model.pt.sha256"):
        shutil.copy(tiny_model.parent / name, folder / name)
    return folder / "model.pt"


def write_checksum(model: Path) -> None:
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    model.with_name("model.pt.sha256").write_text(f"{digest}  model.pt\n")


def xray_files(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        arr = rng.integers(0, 256, (64 + i, 80), dtype=np.uint8)
        arr[: 10 * (i % 5)] = 255  # different images, different probabilities
        path = folder / f"img{i:03d}.png"
        Image.fromarray(arr).save(path)
        paths.append(path)
    return paths


# --- loading -----------------------------------------------------------------------------------


def test_loads_the_model_and_its_card(engine):
    assert engine.classes == ["NORMAL", "PNEUMONIA"]
    assert engine.metadata["format_version"] == 1
    assert 0.0 <= engine.default_threshold <= 1.0
    assert {p["name"] for p in engine.operating_points} >= {"balanced"}
    default = engine.metadata["default_operating_point"]
    point = next(p for p in engine.operating_points if p["name"] == default)
    assert engine.default_threshold == point["threshold"]


def test_loading_does_not_leak_torchscripts_future_warning(tiny_model):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Engine.load(tiny_model)
    assert not [w for w in caught if issubclass(w.category, FutureWarning)]


def test_missing_model_is_refused_with_its_name(tmp_path):
    with pytest.raises(ModelMissingError) as info:
        Engine.load(tmp_path / "model.pt")
    assert "model.pt" in info.value.user_message()
    assert "Reinstall" in info.value.user_message()


def test_missing_checksum_is_refused(tiny_model, tmp_path):
    model = copy_model(tiny_model, tmp_path)
    model.with_name("model.pt.sha256").unlink()
    with pytest.raises(ModelChecksumMissingError):
        Engine.load(model)


@pytest.mark.parametrize("damage", ["flip", "truncate", "swap"])
def test_damaged_truncated_or_swapped_model_is_refused(tiny_model, tmp_path, damage):
    model = copy_model(tiny_model, tmp_path)
    data = bytearray(model.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    elif damage == "truncate":
        del data[len(data) // 3 :]
    else:
        with quiet_torchscript():
            data = bytearray(torch.jit.script(torch.nn.Identity()).save_to_buffer())
    model.write_bytes(bytes(data))
    with pytest.raises(ModelChecksumMismatchError) as info:
        Engine.load(model)
    assert "damaged or has been replaced" in info.value.user_message()


def test_checksummed_file_that_is_not_torchscript_is_refused(tmp_path):
    model = tmp_path / "model.pt"
    model.write_bytes(b"not a zip archive at all")
    write_checksum(model)
    with pytest.raises(ModelError):
        Engine.load(model)


def _resave_with_card(tiny_model, folder, edit):
    folder.mkdir()
    extra = {"metadata.json": ""}
    with quiet_torchscript():
        module = torch.jit.load(str(tiny_model), _extra_files=extra)
        card = json.loads(extra["metadata.json"])
        edit(card)
        buf = io.BytesIO()
        torch.jit.save(module, buf, _extra_files={"metadata.json": json.dumps(card)})
    model = folder / "model.pt"
    model.write_bytes(buf.getvalue())
    write_checksum(model)
    return model


def test_unknown_format_version_is_refused(tiny_model, tmp_path):
    model = _resave_with_card(tiny_model, tmp_path / "v3", lambda c: c.update(format_version=3))
    with pytest.raises(ModelVersionError) as info:
        Engine.load(model)
    assert "format version 3" in info.value.user_message()


def test_a_model_file_of_the_first_format_still_loads_and_has_no_scope_check(tiny_model,
                                                                          tmp_path):
    engine = Engine.load(tiny_model)  # written with format_version 1: no scope_check
    assert engine.metadata["format_version"] == 1 and engine.scope_check is None
    Image.fromarray(np.full((64, 64), 90, np.uint8), "L").save(tmp_path / "a.png")
    [result] = engine.predict_paths([tmp_path / "a.png"])
    assert result.ok and result.scope.state is None
    assert "no scope check" in str(result.scope.reason)


def test_card_without_classes_is_refused(tiny_model, tmp_path):
    model = _resave_with_card(tiny_model, tmp_path / "nc", lambda c: c.pop("classes"))
    with pytest.raises(ModelError):
        Engine.load(model)


# --- the model calls ---------------------------------------------------------------------------


def test_predict_batch_gives_one_probability_per_image(engine):
    inputs = np.random.default_rng(1).integers(0, 256, (5, 224, 224), dtype=np.uint8)
    p = engine.predict_batch(inputs)
    assert p.shape == (5,) and ((p >= 0) & (p <= 1)).all()
    # batching does not change a result
    assert np.allclose(p[2], engine.predict_batch(inputs[2:3])[0], atol=1e-5)


def test_predict_batch_rejects_wrong_shapes(engine):
    with pytest.raises(ValueError):
        engine.predict_batch(np.zeros((2, 100, 100), np.uint8))


def test_explain_gives_a_map_in_0_1(engine):
    heat = engine.explain(np.random.default_rng(2).integers(0, 256, (224, 224), dtype=np.uint8))
    assert heat.shape == (224, 224) and heat.dtype == np.float32
    assert heat.min() >= 0.0 and heat.max() <= 1.0


def test_lanes_and_the_heatmap_thread_may_call_the_model_at_the_same_time(engine):
    rng = np.random.default_rng(0)
    batches = [rng.integers(0, 256, (n, 224, 224), dtype=np.uint8) for n in (1, 3, 8)]
    expected = [engine.predict_batch(b) for b in batches]
    expected_maps = engine.explain_batch(batches[1])
    wrong = []

    def caller(offset):
        for i in range(12):
            k = (i + offset) % len(batches)
            if not np.allclose(engine.predict_batch(batches[k]), expected[k], atol=1e-6):
                wrong.append(k)
            if i % 4 == 0 and not np.allclose(engine.explain_batch(batches[1]), expected_maps,
                                              atol=1e-5):
                wrong.append("explain")

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


# --- files -------------------------------------------------------------------------------------


def test_predict_paths_in_input_order_with_errors_in_place(engine, tmp_path):
    good = xray_files(tmp_path / "x", 37)  # several chunks, spread over the lanes
    (tmp_path / "bad.png").write_bytes(b"not an image")
    paths = good[:3] + [tmp_path / "bad.png"] + good[3:20] + [tmp_path / "gone.jpg"] + good[20:]
    results = list(engine.predict_paths(paths))
    assert [r.path for r in results] == paths
    assert isinstance(results[3].error, NotAnImageError) and results[3].p_pneumonia is None
    assert results[21].error is not None and not results[21].ok
    ok = [r for r in results if r.ok]
    assert len(ok) == 37
    expected = engine.predict_batch(np.stack([load_model_input(p) for p in good]))
    assert np.allclose([r.p_pneumonia for r in ok], expected, atol=1e-5)
    assert all(r.preview is not None and r.heatmap is None for r in ok)
    assert all(r.fingerprint == fingerprint(r.model_input) for r in ok)


def test_predict_paths_reads_a_bounded_number_of_files_ahead(engine, tmp_path):
    paths = xray_files(tmp_path, 60)
    taken = []

    def listing():  # a huge folder is listed lazily; its files must not all be decoded at once
        for path in paths:
            taken.append(path)
            yield path

    results = engine.predict_paths(listing(), preview_size=None)
    first = next(results)
    assert first.path == paths[0] and first.ok
    assert len(taken) <= (engine.lanes + 2) * engine.batch_size < len(paths)
    assert [r.path for r in results] == paths[1:]


def test_predict_paths_heatmaps_on_request(engine, tmp_path):
    paths = xray_files(tmp_path, 3)
    results = list(engine.predict_paths(paths, heatmaps=True, preview_size=None))
    for r in results:
        assert r.heatmap.shape == (224, 224) and 0 <= r.heatmap.min() <= r.heatmap.max() <= 1
        assert r.preview is None and r.model_input is not None


def test_cancel_stops_the_batch(engine, tmp_path):
    paths = xray_files(tmp_path, 40)
    cancel = threading.Event()
    got = []
    for r in engine.predict_paths(paths, cancel=cancel):
        got.append(r)
        if len(got) == 3:
            cancel.set()
    assert len(got) == 3
    cancel_first = threading.Event()
    cancel_first.set()
    assert list(engine.predict_paths(paths, cancel=cancel_first)) == []


def test_unexpected_reader_failure_is_logged_and_shown_generically(
    engine, tmp_path, monkeypatch, caplog
):
    paths = xray_files(tmp_path, 3)
    real = inference.read_image

    def flaky(path, **kwargs):
        if path == paths[1]:
            raise ZeroDivisionError("bug in a decoder")
        return real(path, **kwargs)

    monkeypatch.setattr(inference, "read_image", flaky)
    with caplog.at_level(logging.ERROR):
        results = list(engine.predict_paths(paths))
    assert results[0].ok and results[2].ok
    assert isinstance(results[1].error, InternalError)
    assert "log file" in results[1].error.user_message()
    assert "ZeroDivisionError: bug in a decoder" in caplog.text  # traceback logged


def test_inference_failure_marks_the_batch_and_continues(engine, tmp_path, monkeypatch):
    paths = xray_files(tmp_path, 3)

    def broken(inputs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(engine, "assess_batch", broken)
    results = list(engine.predict_paths(paths))
    assert len(results) == 3 and all(isinstance(r.error, InternalError) for r in results)


@pytest.fixture(scope="module")
def scoped_engine(tmp_path_factory):
    from tests.support.model_fixtures import write_scoped_test_model

    return Engine.load(write_scoped_test_model(tmp_path_factory.mktemp("scoped")))


@pytest.mark.parametrize(("tags", "state", "words"), [
    ({"Modality": "CT", "BodyPartExamined": "CHEST"}, "not_chest_xray", "a CT image"),
    ({"Modality": "MR"}, "not_chest_xray", "an MR image"),
    ({"Modality": "DX", "BodyPartExamined": "KNEE"}, "not_chest_xray", "body part is KNEE"),
    ({"Modality": "CR", "ViewPosition": "LL"}, "unusual", "lateral view"),
    ({"Modality": "DX", "PatientAge": "030Y"}, "unusual", "30 years old"),
    ({"Modality": "DX", "PatientBirthDate": "20230601", "StudyDate": "20231201"}, "unusual",
     "6 months old"),
    ({"Modality": "DX", "BodyPartExamined": "CHEST", "ViewPosition": "PA", "PatientAge": "003Y"},
     None, None)])
@pytest.mark.integration
def test_a_dicoms_own_tags_decide_its_scope_through_the_reader(scoped_engine, tmp_path, tags,
                                                                state, words):
    """Files built with pydicom: what the reader reads of their tags reaches the scope rule."""
    from desktop.engine.scope import file_scope
    from tests.support.fuzz_corpus import dicom_bytes
    from tests.support.model_fixtures import xray_like

    path = tmp_path / "exam.dcm"
    path.write_bytes(dicom_bytes(xray_like(503, (330, 300)), extra=tags))
    [result] = scoped_engine.predict_paths([path], preview_size=None)
    assert result.ok
    if state is None:  # a frontal chest DX of a 3-year-old: its tags say nothing against it
        assert file_scope(result.source, scoped_engine.scope_check) is None
        return
    assert result.scope.state == state and words in str(result.scope.reason), str(result.scope)


# --- the model file guard (Engine.load) ---------------------------------------------------------

METADATA = "metadata.json"


def load_scripted(path: Path):
    extra = {METADATA: ""}
    with quiet_torchscript():
        module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    return module, json.loads(extra[METADATA])


def save_scripted(module, metadata: dict | None, path: Path, raw_card: bytes | None = None) -> Path:
    """Save a TorchScript module with the given card and a matching checksum file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = {}
    if raw_card is not None:
        extra[METADATA] = raw_card
    elif metadata is not None:
        extra[METADATA] = json.dumps(metadata)
    with quiet_torchscript():
        torch.jit.save(module, str(path), _extra_files=extra)
    write_checksum(path)
    return path


class ForeignClassifier(torch.nn.Module):
    """Some other network's TorchScript file: 1000 ImageNet-like outputs, not our two classes."""

    def __init__(self, outputs: int = 1000):
        super().__init__()
        self.fc = torch.nn.Linear(1, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = x.to(torch.float32).mean(dim=(2, 3))
        return torch.softmax(self.fc(pooled), dim=1)


class ScoreOnly(torch.nn.Module):
    """A model returning one raw score per image ([N]) instead of [N, 2] probabilities."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(torch.float32).mean(dim=(1, 2, 3)) * 3.0


def assert_refused(path: Path, *expected_types):
    from desktop.engine.inference import Engine
    from desktop.errors import ModelError

    with pytest.raises(ModelError) as info:
        Engine.load(path)
    if expected_types:
        assert isinstance(info.value, expected_types), repr(info.value)
    message = info.value.user_message()
    assert message.endswith(".") and "application" in message.lower(), message
    return info.value


@pytest.fixture
def model_copy(tiny_model, tmp_path) -> Path:
    return copy_model(tiny_model, tmp_path / "assets")


def test_intact_model_loads(model_copy):
    from desktop.engine.inference import Engine

    engine = Engine.load(model_copy)
    assert engine.classes == ["NORMAL", "PNEUMONIA"]


def test_missing_model_file(tmp_path):
    from desktop.errors import ModelMissingError

    assert_refused(tmp_path / "model.pt", ModelMissingError)


def test_missing_checksum_file(model_copy):
    from desktop.errors import ModelChecksumMissingError

    model_copy.with_name("model.pt.sha256").unlink()
    err = assert_refused(model_copy, ModelChecksumMissingError)
    assert "model.pt.sha256" in err.user_message()


@pytest.mark.parametrize("content", ["", "not a digest\n", "0" * 64 + "  model.pt\n", "\x00" * 80])
def test_checksum_file_that_vouches_for_nothing(model_copy, content):
    from desktop.errors import ModelChecksumMismatchError

    model_copy.with_name("model.pt.sha256").write_text(content)
    assert_refused(model_copy, ModelChecksumMismatchError)


@pytest.mark.parametrize("seed", range(6))
def test_bit_flipped_model(model_copy, seed):
    from desktop.errors import ModelChecksumMismatchError

    model_copy.write_bytes(bit_flipped(model_copy.read_bytes(), seed))
    assert_refused(model_copy, ModelChecksumMismatchError)


@pytest.mark.parametrize("keep", [0, 100, 0.5, -1])
def test_truncated_model(model_copy, keep):
    from desktop.errors import ModelChecksumMismatchError

    data = model_copy.read_bytes()
    cut = data[: int(len(data) * keep)] if isinstance(keep, float) else data[:keep]
    model_copy.write_bytes(cut)
    assert_refused(model_copy, ModelChecksumMismatchError)


def test_swapped_model_with_the_old_checksum(model_copy, tmp_path):
    from desktop.errors import ModelChecksumMismatchError

    other = save_scripted(script(ForeignClassifier()), {"format_version": 1},
                          tmp_path / "other" / "model.pt")
    shutil.copyfile(other, model_copy)  # the checksum file still vouches for the old one
    assert_refused(model_copy, ModelChecksumMismatchError)


def test_damaged_archive_with_a_matching_checksum(model_copy):
    """Someone "fixed" the checksum after the file was damaged: torch.jit.load must not crash."""
    model_copy.write_bytes(bit_flipped(model_copy.read_bytes()[: 200_000], 3))
    write_checksum(model_copy)
    assert_refused(model_copy)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04" + bytes(500), b"\x80\x04K\x01."])
def test_not_a_torchscript_file_with_a_matching_checksum(model_copy, content):
    model_copy.write_bytes(content)
    write_checksum(model_copy)
    assert_refused(model_copy)


def test_model_file_that_is_a_folder(tmp_path):
    (tmp_path / "model.pt").mkdir()
    assert_refused(tmp_path / "model.pt")


@pytest.mark.parametrize(
    "card",
    [
        None,  # no metadata.json in the archive
        b"{not json",
        b"[1, 2, 3]",
        json.dumps({"format_version": 2}).encode(),
        json.dumps({"format_version": "1"}).encode(),
    ],
    ids=["no-card", "card-not-json", "card-not-object", "format-2", "format-as-text"],
)
def test_model_without_a_readable_card_of_format_1(tiny_model, tmp_path, card):
    module, _ = load_scripted(tiny_model)
    path = tmp_path / "model.pt"
    save_scripted(module, None, path, raw_card=card)
    assert_refused(path)


@pytest.mark.parametrize(
    "change",
    [{"classes": ["CAT", "DOG"]}, {"positive_class": "COVID"}, {"classes": "NORMAL,PNEUMONIA"}],
    ids=["foreign-classes", "unknown-positive", "classes-not-a-list"],
)
def test_card_naming_other_classes_is_refused(tiny_model, tmp_path, change):
    module, meta = load_scripted(tiny_model)
    save_scripted(module, {**meta, **change}, tmp_path / "model.pt")
    assert_refused(tmp_path / "model.pt")


@pytest.mark.parametrize("network", [ForeignClassifier, ScoreOnly], ids=["1000-classes", "score"])
def test_swapped_network_with_our_card_and_checksum_is_refused(tiny_model, tmp_path, network):
    """Another TorchScript network dressed in our card: refuse it at load, not predict garbage."""
    _, meta = load_scripted(tiny_model)
    path = save_scripted(script(network()), meta, tmp_path / "model.pt")
    assert_refused(path)


def test_card_listing_the_classes_in_the_other_order_is_honoured(tiny_model, tmp_path):
    """Columns follow the card's `classes`: a reordered card must not flip every verdict."""
    from desktop.engine.inference import Engine

    class Reordered(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x).flip(1)

    module, meta = load_scripted(tiny_model)
    reordered = save_scripted(script(Reordered(module)),
                              {**meta, "classes": ["PNEUMONIA", "NORMAL"]}, tmp_path / "model.pt")
    images = np.random.default_rng(0).integers(0, 256, (3, 224, 224), dtype=np.uint8)
    expected = Engine.load(tiny_model).predict_batch(images)
    got = Engine.load(reordered).predict_batch(images)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_identify_gives_each_classified_file_its_content_hash_in_chunks(engine, tmp_path):
    paths = []
    for i in range(engine.batch_size * 2 + 1):
        path = tmp_path / f"x{i}.png"
        Image.fromarray(np.full((30, 30), 10 * i, np.uint8)).save(path)
        paths.append(path)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    chunks = list(engine.predict_chunks([*paths, bad], preview_size=None, identify=True))
    assert [len(c) for c in chunks][:2] == [engine.batch_size] * 2  # a lane job's results each
    results = [r for chunk in chunks for r in chunk]
    assert [r.path for r in results] == [*paths, bad]
    for result in results[:-1]:
        assert result.identity.sha256 == hashlib.sha256(result.path.read_bytes()).hexdigest()
        assert result.identity.size == result.path.stat().st_size
    assert results[-1].identity is None  # nothing classified, nothing to record
    plain = next(engine.predict_paths(paths[:1], preview_size=None))
    assert plain.identity is None  # not asked: not hashed
