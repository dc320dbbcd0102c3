"""Drag-and-drop data from tkdnd becomes the exact paths the user dropped."""

import tkinter

import pytest

from desktop.ui.drop import parse_drop_data


@pytest.fixture(scope="module")
def tcl():
    """A Tcl interpreter without a window: list parsing needs no display."""
    return tkinter.Tcl().tk


def test_braced_path_with_spaces_and_plain_path(tcl):
    data = "{/home/ana/chest x-ray 1.png} /tmp/plain.jpeg"
    assert parse_drop_data(tcl, data) == ["/home/ana/chest x-ray 1.png", "/tmp/plain.jpeg"]


@pytest.mark.parametrize(
    "paths",
    [
        ["/data/with space/a.png", "/data/b.png"],
        ["/data/{braced}/x.png"],
        ["/data/unbalanced{/x.png", "/data/other}/y.png"],
        ["/dados/radiografia tórax/niño.dcm", "/données/été.jpg"],
        ["/data/dollar$ sign/[brackets]/back\\slash.png"],
    ],
)
def test_every_path_survives_tcl_list_quoting(tcl, paths):
    # tkdnd builds event.data with Tcl's own list quoting; Tcl's `list` reproduces it exactly.
    data = tcl.call("format", "%s", tcl.call("list", *paths))
    assert isinstance(data, str)
    assert parse_drop_data(tcl, data) == paths


def test_file_uris_become_local_paths(tcl):
    data = "file:///home/ana/t%C3%B3rax%20frontal.png file://localhost/tmp/x.jpg"
    assert parse_drop_data(tcl, data) == ["/home/ana/tórax frontal.png", "/tmp/x.jpg"]


def test_already_split_tuple_and_empty_items(tcl):
    assert parse_drop_data(tcl, ("/a b.png", "", "/c.png")) == ["/a b.png", "/c.png"]
    assert parse_drop_data(tcl, "") == []


@pytest.mark.parametrize(
    "paths",
    [
        [r"C:\Users\João\Área de Trabalho\raio x.png", r"D:\exams\a.dcm"],
        [r"\\server\share\radiologia\tórax 1.dcm", "C:/Users/João/b.png"],
        [r"C:\data\{braced}\x.png", r"C:\data\unbalanced{\y.png"],
    ],
)
def test_windows_paths_survive_tcl_list_quoting(tcl, paths):
    """Drive letters, backslashes and network shares, as tkdnd on Windows lists them."""
    data = tcl.call("format", "%s", tcl.call("list", *paths))
    assert parse_drop_data(tcl, data) == paths


def test_windows_drop_string_with_forward_slashes(tcl):
    data = "{C:/Users/João/Área de Trabalho/raio x.png} C:/exams/a.dcm //server/share/b.dcm"
    assert parse_drop_data(tcl, data) == [
        "C:/Users/João/Área de Trabalho/raio x.png", "C:/exams/a.dcm", "//server/share/b.dcm",
    ]


def test_windows_file_uris_become_drive_and_share_paths(tcl):
    data = "file:///C:/Users/Jo%C3%A3o/t%C3%B3rax.png file://server/share/exams/a%20b.dcm"
    assert parse_drop_data(tcl, data) == ["C:/Users/João/tórax.png", "//server/share/exams/a b.dcm"]
