"""What a drop or a command line expands to: the images inside folders, once each, even with
link loops; explicitly named files kept whatever their name."""

import os

import pytest
from PIL import Image

from desktop.files import collect_images


def image(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (8, 8)).save(path, format="PNG")
    return path


def test_folders_are_scanned_recursively_for_supported_files(tmp_path):
    a = image(tmp_path / "scans" / "b.PNG")
    b = image(tmp_path / "scans" / "deep" / "er" / "c.jpg")
    (tmp_path / "scans" / "notes.txt").write_text("not an image")
    (tmp_path / "scans" / ".DS_Store").write_bytes(b"junk")
    image(tmp_path / "scans" / "._b.png")  # macOS resource fork twin
    assert collect_images([tmp_path / "scans"]) == [a, b]


def test_dicom_without_suffix_or_named_by_uid_is_found_by_its_preamble(tmp_path):
    (tmp_path / "d").mkdir()
    dicm = b"\0" * 128 + b"DICM" + b"\0" * 16
    (tmp_path / "d" / "IM0001").write_bytes(dicm)
    (tmp_path / "d" / "1.2.840.113619.2.55").write_bytes(dicm)
    (tmp_path / "d" / "README").write_bytes(b"just text" * 30)
    (tmp_path / "d" / "scan.raw").write_bytes(dicm)  # unknown suffix: not guessed
    assert collect_images([tmp_path / "d"]) == [
        tmp_path / "d" / "1.2.840.113619.2.55", tmp_path / "d" / "IM0001"
    ]


def test_explicit_files_are_kept_whatever_their_name_and_order_is_preserved(tmp_path):
    odd = tmp_path / "report.txt"
    odd.write_text("x")
    missing = tmp_path / "gone.png"
    folder_file = image(tmp_path / "f" / "a.png")
    assert collect_images([odd, tmp_path / "f", missing]) == [odd, folder_file, missing]


def test_each_file_once_even_when_named_twice(tmp_path):
    a = image(tmp_path / "f" / "a.png")
    assert collect_images([tmp_path / "f", a, str(a)]) == [a]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links on this system")
def test_links_are_followed_without_looping(tmp_path):
    a = image(tmp_path / "root" / "a.png")
    outside = image(tmp_path / "elsewhere" / "z.png")
    os.symlink(tmp_path / "root", tmp_path / "root" / "loop")  # loop back to itself
    os.symlink(tmp_path / "elsewhere", tmp_path / "root" / "linked")
    found = collect_images([tmp_path / "root"])
    assert a in found
    assert [os.path.realpath(p) for p in found].count(os.path.realpath(outside)) == 1
    assert len(found) == 2


def test_unicode_and_spaces_in_names(tmp_path):
    a = image(tmp_path / "Raios X {paciente} ção" / "tórax 1.jpeg")
    assert collect_images([tmp_path / "Raios X {paciente} ção"]) == [a]
