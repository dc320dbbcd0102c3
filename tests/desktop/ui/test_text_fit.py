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


def test_a_line_too_long_for_its_width_is_cut_with_an_ellipsis():
    from desktop.ui.text_fit import elide

    line = "Zoom 15% · Ventana: como la muestra el archivo"
    assert elide(line, 1000, measure) == line
    cut = elide(line, 7 * 12, measure)
    assert cut.endswith("…") and measure(cut) <= 7 * 12 and line.startswith(cut[:-1])
    assert elide(line, 7 * 11, measure) == "Zoom 15%…"  # no dangling " ·"
