"""The window's look and place, without a display: a saved geometry fitted to the screen."""

from types import SimpleNamespace

import pytest

from desktop.ui.style import fit_to_screen


@pytest.mark.parametrize(
    ("saved", "screen", "expected"),
    [
        (None, (1366, 768), "1240x688"),  # first start on a common clinic laptop: fits, bar too
        ("garbage", (1920, 1080), "1240x780"),
        ("1600x1000+40+40", (1366, 768), "1366x688+40+40"),
        ("99999x99999+5000+5000", (1280, 800), "1280x720"),
    ],
)
def test_window_fits_the_screen_it_opens_on(saved, screen, expected):
    fake_root = SimpleNamespace(winfo_screenwidth=lambda: screen[0],
                                winfo_screenheight=lambda: screen[1])
    assert fit_to_screen(saved, fake_root) == expected
