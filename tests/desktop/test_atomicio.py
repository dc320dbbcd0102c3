"""Files we write are complete or untouched, never half-written."""

import os

import pytest

from desktop import atomicio
from desktop.atomicio import atomic_write_bytes, atomic_write_text


def test_writes_new_and_replaces_existing(tmp_path):
    path = tmp_path / "out.csv"
    atomic_write_text(path, "a,b\n1,2\n")
    assert path.read_text() == "a,b\n1,2\n"
    atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_text_encoding_and_newlines(tmp_path):
    path = tmp_path / "é.txt"
    atomic_write_text(path, "ção\nñ\n", newline="\r\n")
    assert path.read_bytes() == "ção\r\nñ\r\n".encode()


def test_failure_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "settings.json"
    path.write_text("old")

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomicio.os, "replace", failing_replace)
    with pytest.raises(OSError):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["settings.json"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("x")
    path.chmod(0o640)
    atomic_write_text(path, "y")
    assert path.stat().st_mode & 0o777 == 0o640
    fresh = atomic_write_text(tmp_path / "b.txt", "z")
    assert fresh.stat().st_mode & 0o777 == 0o644
