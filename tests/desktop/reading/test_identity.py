"""A file's identity (content sha256, size, resolved path): the case history's key, taken in
the reader's one read where it can be."""

import hashlib
import os

import numpy as np
from PIL import Image

from desktop.reading import imaging
from desktop.reading.identity import file_sha256, identify, resolved_path
from desktop.reading.imaging import read_image


def png(path, seed=0):
    pixels = np.random.default_rng(seed).integers(0, 256, (40, 30), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def test_identity_is_the_contents_sha256_wherever_the_file_lies(tmp_path):
    a = png(tmp_path / "a.png")
    b = tmp_path / "elsewhere" / "b.png"
    b.parent.mkdir()
    b.write_bytes(a.read_bytes())
    link = tmp_path / "link.png"
    link.symlink_to(a)
    assert identify(a).sha256 == identify(b).sha256 == hashlib.sha256(a.read_bytes()).hexdigest()
    assert identify(a).size == a.stat().st_size
    assert identify(link).path == str(a.resolve())  # a link is the file it points at


def test_read_with_digest_hashes_the_bytes_it_decoded(tmp_path):
    path = png(tmp_path / "x.png")
    x = read_image(path, preview_size=None, digest=True)
    plain = read_image(path, preview_size=None)
    assert x.sha256 == file_sha256(path)
    assert x.content_size == path.stat().st_size
    assert plain.sha256 is None  # nobody asked: no hashing
    assert np.array_equal(x.model_input, plain.model_input)  # decoded from memory the same


def test_a_file_too_big_to_hold_twice_is_left_for_the_caller_to_hash(tmp_path, monkeypatch):
    path = png(tmp_path / "x.png")
    monkeypatch.setattr(imaging, "DIGEST_IN_MEMORY", path.stat().st_size - 1)
    x = read_image(path, preview_size=None, digest=True)
    assert x.sha256 is None and x.model_input.shape == (224, 224)


def test_a_batch_resolves_paths_as_realpath_does_links_included(tmp_path, monkeypatch):
    real = tmp_path / "real"
    real.mkdir()
    a, b = png(real / "a.png"), png(real / "b.png", 1)
    (tmp_path / "folder_link").symlink_to(real)
    (real / "file_link.png").symlink_to(b)
    monkeypatch.chdir(real)
    folders: dict[str, str] = {}  # one batch's: shared by every path below
    for path in [a, b, tmp_path / "folder_link" / "a.png", tmp_path / "folder_link" / "b.png",
                 real / "file_link.png", tmp_path / "folder_link" / "file_link.png",
                 "a.png", "../real/b.png", tmp_path / "folder_link" / "..", real / "."]:
        assert resolved_path(path, folders) == os.path.realpath(path), path
    assert resolved_path(real / "file_link.png", folders) == str(b)  # the file's own link too
