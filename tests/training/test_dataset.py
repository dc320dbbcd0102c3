"""The on-disk cache of decoded images: built once, reused while the files are unchanged,
rebuilt when one changes; a damaged cache is rebuilt with a log line, never trusted."""

import json
import logging
import os

import numpy as np
import pytest
import torch

import training.data
from desktop.reading.imaging import load_model_input
from tests.support.training_synth import make_split, write_image
from training.batches import batches, place
from training.data import train_val
from training.dataset import CachedImages, cache_paths
from training.distributed import Context


@pytest.fixture
def data(tmp_path):
    make_split(tmp_path / "data" / "train", 12)
    return tmp_path / "data"


@pytest.fixture
def builds(monkeypatch):
    """How many splits were decoded into the cache."""
    calls = []
    real = training.data.build_cache

    def counted(*args, **kwargs):
        calls.append(args[0].name.split("-")[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(training.data, "build_cache", counted)
    return calls


def _splits(data, cache):
    return train_val(data, val_fraction=0.25, seed=0, progress=False, cache_dir=cache)


def test_cached_splits_hold_what_the_reader_decodes(data, tmp_path):
    train, val, rule = _splits(data, tmp_path / "cache")
    memory_train, memory_val, memory_rule = train_val(data, val_fraction=0.25, seed=0,
                                                      progress=False)
    assert rule == memory_rule
    for cached, decoded in ((train, memory_train), (val, memory_val)):
        assert cached.paths == decoded.paths
        assert torch.equal(cached.labels, decoded.labels)
        assert torch.equal(cached.images, decoded.images)
        assert cached.rows is not None and decoded.rows is None
    first = train.paths[0]
    assert np.array_equal(train.images[0, 0].numpy(), load_model_input(first))
    image, label, index = CachedImages(train.rows, train.labels)[3]
    assert torch.equal(image, train.images[3]) and (label, index) == (train.labels[3], 3)


def test_the_cache_is_built_once_and_reused(data, tmp_path, builds):
    _splits(data, tmp_path / "cache")
    assert sorted(builds) == ["train", "val"]
    _splits(data, tmp_path / "cache")
    assert sorted(builds) == ["train", "val"]  # nothing decoded again


def test_a_changed_file_rebuilds_the_cache(data, tmp_path, builds, caplog):
    train, _, _ = _splits(data, tmp_path / "cache")
    changed = train.paths[0]
    write_image(changed, 1, np.random.default_rng(99))  # new content, size and time
    os.utime(changed, ns=(os.stat(changed).st_atime_ns, os.stat(changed).st_mtime_ns + 10**9))
    with caplog.at_level(logging.INFO):
        again, _, _ = _splits(data, tmp_path / "cache")
    assert "changed; rebuilding" in caplog.text
    assert builds.count("train") == 2
    assert np.array_equal(again.images[0, 0].numpy(), load_model_input(changed))


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "index garbage", "no index"])
def test_a_damaged_cache_is_rebuilt_never_trusted(data, tmp_path, builds, caplog, damage):
    train, _, _ = _splits(data, tmp_path / "cache")
    expected = train.images.clone()
    del train
    npy, index = cache_paths(tmp_path / "cache", "train", data)
    if damage == "flip a byte":
        raw = bytearray(npy.read_bytes())
        raw[-100] ^= 0xFF
        npy.write_bytes(bytes(raw))
    elif damage == "truncate":
        npy.write_bytes(npy.read_bytes()[:-5000])
    elif damage == "index garbage":
        index.write_text("{not json")
    else:
        index.unlink()
    with caplog.at_level(logging.WARNING):
        again, _, _ = _splits(data, tmp_path / "cache")
    assert f"image cache {npy} is damaged" in caplog.text
    assert builds.count("train") == 2
    assert torch.equal(again.images, expected)
    assert json.loads(index.read_text())["bytes"] == npy.stat().st_size


def test_unreadable_files_are_skipped_named_and_remembered(data, tmp_path, builds, caplog):
    bad = data / "train" / "NORMAL" / "IM-0000-0001.jpeg"
    bad.write_bytes(b"not an image")
    with caplog.at_level(logging.WARNING):
        train, val, _ = _splits(data, tmp_path / "cache")
        assert "skipped unreadable file" in caplog.text and str(bad) in caplog.text
        assert bad not in train.paths + val.paths
        assert len(train) + len(val) == 23
        caplog.clear()
        _splits(data, tmp_path / "cache")
    assert str(bad) in caplog.text and builds.count("train") == 1  # reused, still named


def test_both_placements_give_the_same_batches(data, tmp_path):
    train, _, _ = _splits(data, tmp_path / "cache")
    sampler = Context().sampler(len(train), shuffle=True, seed=1)
    device = torch.device("cpu")
    (disk,) = place([train], device, "disk")
    (memory,) = place([train], device, "memory")
    assert disk.rows is not None and memory.rows is None
    got = [list(batches(s, sampler, 5, device, workers=w)) for s, w in ((disk, 2), (memory, 0))]
    assert len(got[0]) == len(got[1]) == 4
    for (xa, ya, ia), (xb, yb, ib) in zip(*got, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb) and torch.equal(ia, ib)
