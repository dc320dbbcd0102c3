"""Where the divider between the table and the result pane goes (no screen needed)."""

import pytest

from desktop.ui.divider import LEFT_MIN, RIGHT_MIN, RIGHT_SHARE, sash_position


@pytest.mark.parametrize("width", [780, 1000, 1260, 1900])
def test_the_result_pane_keeps_its_share_as_the_window_is_resized(width):
    right = width - sash_position(width, RIGHT_SHARE)
    assert right == max(RIGHT_MIN, round(width * RIGHT_SHARE))
    assert width - right >= LEFT_MIN


def test_neither_side_can_be_dragged_narrower_than_its_controls_need():
    assert sash_position(1200, share=0.02) == 1200 - RIGHT_MIN  # the pane dragged shut
    assert sash_position(1200, share=0.98) == LEFT_MIN  # the table dragged shut


def test_a_window_too_narrow_for_both_shares_the_lack_in_proportion():
    left = sash_position(500, RIGHT_SHARE)
    assert left / 500 == pytest.approx(LEFT_MIN / (LEFT_MIN + RIGHT_MIN), abs=0.01)
