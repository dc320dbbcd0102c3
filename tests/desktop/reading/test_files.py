"""What a drop or a command line expands to: the images inside folders, once each, even with
link loops; explicitly named files kept whatever their name."""

import os

import pytest
from PIL import Image

from desktop.i18n import set_language
from desktop.reading.files import HIDDEN, NOT_IMAGE, NOT_REGULAR, collect_images, scan
from tests.support.fuzz_corpus import dicom_16bit, dicom_bytes


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


def test_dicom_is_found_by_its_content_whatever_its_name(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    dicm = b"\0" * 128 + b"DICM" + b"\0" * 16
    (d / "IM0001").write_bytes(dicm)
    (d / "1.2.840.113619.2.55").write_bytes(dicm)
    (d / "README").write_bytes(b"just text" * 30)
    (d / "scan.raw").write_bytes(dicm)  # an odd suffix: the content says DICOM
    (d / "old_export").write_bytes(dicom_bytes(dicom_16bit(1, 32), raw_encoding=(True, True)))
    (d / "old_export.v2").write_bytes(dicom_bytes(dicom_16bit(1, 32), raw_encoding=(False, True)))
    (d / "notes.raw").write_bytes(b"\x08\x00 looks like group 8 for two bytes" * 10)
    found = scan([d])
    assert [p.name for p in found.files] == [
        "1.2.840.113619.2.55", "IM0001", "old_export", "old_export.v2", "scan.raw"]
    assert found.skipped.counts() == {NOT_IMAGE: 2}  # notes.raw, README


def test_gif_webp_and_every_format_the_reader_opens_are_scanned(tmp_path):
    (tmp_path / "f").mkdir()
    names = ["a.gif", "b.webp", "c.jp2", "d.pgm", "e.jpe", "f.PNG"]
    for name in names:
        Image.new("L", (8, 8)).save(tmp_path / "f" / name)
    image(tmp_path / "f" / "g_png_without_suffix")  # an image signature, no suffix
    assert [p.name for p in collect_images([tmp_path / "f"])] == [*names, "g_png_without_suffix"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_what_a_scan_skips_is_counted_by_reason_and_said_in_one_sentence_each(tmp_path):
    root = tmp_path / "scans"
    image(root / "a.png")
    for name in ("notes.txt", "report.pdf", "sub/data.csv"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("not an image")
    image(root / "._a.png")  # macOS resource fork twin
    os.mkfifo(root / "pipe.png")
    os.symlink(root / "gone.png", root / "broken.png")
    found = scan([root])
    assert [p.name for p in found.files] == ["a.png"]
    assert found.skipped.counts() == {NOT_IMAGE: 3, HIDDEN: 1, NOT_REGULAR: 2}
    assert found.skipped.summary() == (
        "3 files skipped: not images. 1 hidden file skipped. "
        "2 items skipped: not regular files (pipes, devices or broken links).")
    set_language("pt_BR")
    try:
        assert found.skipped.summary().startswith("3 arquivos ignorados")
    finally:
        set_language("en")


def test_one_file_skipped_is_said_in_the_singular_and_nothing_skipped_says_nothing(tmp_path):
    image(tmp_path / "f" / "a.png")
    assert scan([tmp_path / "f"]).skipped.summary() == ""
    (tmp_path / "f" / "notes.txt").write_text("x")
    assert scan([tmp_path / "f"]).skipped.summary() == "1 file skipped: not an image."


def test_explicit_files_are_kept_whatever_their_name_and_order_is_preserved(tmp_path):
    odd = tmp_path / "report.txt"
    odd.write_text("x")
    missing = tmp_path / "gone.png"
    folder_file = image(tmp_path / "f" / "a.png")
    assert collect_images([odd, tmp_path / "f", missing]) == [odd, folder_file, missing]


def test_each_file_once_even_when_named_twice(tmp_path):
    a = image(tmp_path / "f" / "a.png")
    assert collect_images([tmp_path / "f", a, str(a)]) == [a]


def test_files_the_window_lists_already_are_skipped_and_counted(tmp_path):
    a, b = image(tmp_path / "f" / "a.png"), image(tmp_path / "f" / "b.png")
    found = scan([tmp_path / "f"], listed={os.path.realpath(a)})
    assert found.files == [b]
    assert found.skipped.summary() == "1 file already in the list, not added again."


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
