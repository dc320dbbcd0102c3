"""Clipping decided without a display: a fake font where every character is 7 pixels wide."""

from desktop.ui.text_fit import CELL_PADDING, is_clipped, width_for


def measure(text):
    return 7 * len(text)


def test_a_cell_text_wider_than_its_column_is_clipped():
    text = "Unusual: This looks like an adult's chest X-ray"
    assert is_clipped(text, 100, measure)
    assert not is_clipped(text, measure(text) + CELL_PADDING, measure)
    assert is_clipped(text, measure(text) + CELL_PADDING - 1, measure)


def test_an_empty_cell_is_never_clipped():
    assert not is_clipped("", 0, measure)


def test_a_column_is_as_wide_as_its_longest_translated_text():
    rows = ["F", "arriba/abajo para el brillo", "Ctrl+O"]
    assert width_for(rows, measure) == measure("arriba/abajo para el brillo") + CELL_PADDING
    assert width_for(["a"], measure, minimum=120) == 120
