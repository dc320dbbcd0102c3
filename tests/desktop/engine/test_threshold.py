"""The threshold policy the window and ``predict`` share: presets are exact, the slider picks
hundredths, a saved choice comes back."""

import numpy as np
import pytest

from desktop.engine.site import SiteCalibration
from desktop.engine.threshold import ThresholdPolicy, format_threshold
from tests.support.model_fixtures import sample_metadata

POINTS = [{"name": "balanced", "threshold": 0.2822}, {"name": "high_sensitivity",
                                                      "threshold": 0.0222}]


def test_the_card_default_is_its_exact_threshold():
    policy = ThresholdPolicy.from_card({"operating_points": POINTS,
                                        "default_operating_point": "balanced"})
    assert (policy.threshold, policy.preset) == (0.2822, "balanced")
    assert policy.choose("high_sensitivity") and policy.threshold == 0.0222
    assert not policy.choose("no such point") and policy.preset == "high_sensitivity"


def test_the_slider_and_the_arrow_keys_pick_hundredths_off_the_presets():
    policy = ThresholdPolicy(POINTS, "balanced")
    policy.slide(0.33478)
    assert (policy.threshold, policy.preset) == (0.33, None)
    policy.choose("balanced")
    policy.step(0.01)
    assert (policy.threshold, policy.preset) == (0.29, None)
    policy.step(-5)
    assert policy.threshold == 0.0
    exact = ThresholdPolicy([{"name": "balanced", "threshold": 0.5}], "balanced")
    exact.slide(0.5004)  # lands on the preset's own value: that preset, with its figures
    assert exact.preset == "balanced"


def test_a_number_given_is_kept_exact_and_clamped():
    policy = ThresholdPolicy(POINTS, "balanced")
    policy.set_custom(0.28215)
    assert (policy.threshold, policy.preset) == (0.28215, None)
    policy.set_custom(7)
    assert policy.threshold == 1.0
    with pytest.raises(ValueError):
        policy.set_custom(float("nan"))


def test_a_saved_choice_is_restored_preset_first():
    policy = ThresholdPolicy(POINTS, "balanced")
    policy.restore(0.4, "high_sensitivity")
    assert (policy.threshold, policy.preset) == (0.0222, "high_sensitivity")
    policy.restore(0.4, "gone")  # a preset this card has not: the saved value
    assert (policy.threshold, policy.preset) == (0.4, None)
    policy.restore(None, None)
    assert (policy.threshold, policy.preset) == (0.2822, "balanced")


def test_a_threshold_is_shown_with_the_digits_it_has():
    assert [format_threshold(t) for t in (0.5, 0.2822, 0.28, 0.0222, 1.0, 0.0, 0.123456)] == [
        "0.50", "0.2822", "0.28", "0.0222", "1.00", "0.00", "0.1235"]


def test_default_threshold_is_the_default_points_exact_value():
    card = sample_metadata([{"name": "balanced", "threshold": 0.2822, "rule": "r",
                             "val_sensitivity": 0.9, "val_specificity": 0.9}])
    assert ThresholdPolicy.from_card(card).threshold == 0.2822
    card["default_operating_point"] = "gone"
    card["threshold"] = 0.3
    assert ThresholdPolicy.from_card(card).threshold == 0.3
    assert ThresholdPolicy.from_card({}).threshold == 0.5


def test_a_site_profile_adds_its_threshold_as_the_default_preset_and_leaves_cleanly():
    site = SiteCalibration("clinic", slope=0.8, bias=-1.2, threshold=0.41, model_sha256="a" * 64)
    policy = ThresholdPolicy([{"name": "balanced", "threshold": 0.2822}], "balanced")
    policy.set_site(site)
    assert (policy.preset, policy.threshold, policy.default_point) == ("site", 0.41, "site")
    policy.choose("balanced")
    policy.set_site(None)  # the user's own choice stays, back on the model's scale
    assert (policy.preset, policy.threshold) == ("balanced", 0.2822)
    policy.set_site(site)
    policy.set_site(None)  # the site's own preset gives way to the card's default
    assert (policy.preset, policy.threshold) == ("balanced", 0.2822)
    assert [p["name"] for p in policy.points] == ["balanced"]


def test_under_a_site_profile_every_preset_is_on_the_profiles_scale():
    """Issue 28 item 1: Balanced under a profile judges the recalibrated P against the card's
    threshold mapped through the profile, so it flags exactly the images it flags without one."""
    site = SiteCalibration("clinic", slope=0.6, bias=-1.5, threshold=0.553, model_sha256="a" * 64)
    policy = ThresholdPolicy([{"name": "balanced", "threshold": 0.7092},
                              {"name": "high_sensitivity", "threshold": 0.1277}], "balanced")
    policy.set_site(site)
    for name, shipped in (("balanced", 0.7092), ("high_sensitivity", 0.1277)):
        assert policy.choose(name)
        assert policy.threshold == pytest.approx(site.apply(shipped))
        for p in np.linspace(0.001, 0.999, 999):
            assert (site.apply(p) >= policy.threshold) == (p >= shipped)
    policy.set_custom(0.3)  # a custom value set under the profile is not carried back
    policy.set_site(None)
    assert (policy.preset, policy.threshold) == ("balanced", 0.7092)


def test_no_profile_put_in_force_when_none_was_keeps_the_users_custom_threshold():
    """The window applies the settings' profile (none) after restoring the saved threshold: a
    custom 0.33 from the last session must stay, not fall back to the card's default."""
    policy = ThresholdPolicy([{"name": "balanced", "threshold": 0.5}], "balanced")
    policy.restore(0.33, None)
    policy.set_site(None)
    assert (policy.threshold, policy.preset) == (0.33, None)
