"""The shipped model's refer band: certified on validation and every shifted view at once,
written in the card in a form the app reads and the card check accepts."""

from __future__ import annotations

import numpy as np

from desktop.modelfile import card_problems
from desktop.referband import ReferBand
from desktop.stats import certify_band
from training.card_tables import refer_table, refer_views_table
from training.refer import band_figures, fit_band


def views(seed: int = 0, n: int = 400):
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=n) < 0.6).astype(int)
    plain = np.clip(rng.normal(0.25 + 0.5 * y, 0.15), 0, 1)
    return y, {"plain": plain, "blurred": np.clip(plain + rng.normal(0, 0.1, n), 0, 1),
               "darker": np.clip(plain * 0.8, 0, 1)}


def test_the_band_contains_every_views_band_each_certified_for_its_share_of_the_risk():
    y, p_views = views()
    section = fit_band(y, p_views)
    band = ReferBand.from_dict(section)  # the app reads it
    assert band.confidence == 0.95 and band.guarantee == "class"
    for name, p in p_views.items():
        each = certify_band(p, y, confidence=1 - 0.05 / 3)  # Bonferroni over the three views
        assert section["per_view"][name]["t_low"] == round(each.t_low, 6)
        assert band.t_low <= each.t_low and band.t_high >= each.t_high
        figures = section["validation"][name]
        assert figures["missed"]["share"] <= 0.05 and figures["false_alarm"]["share"] <= 0.05
    # one view alone, at the full 95%, gives a narrower band: the price of holding on all views
    alone = certify_band(p_views["plain"], y)
    assert alone.t_high - alone.t_low <= band.t_high - band.t_low


def test_band_figures_count_what_a_reader_would():
    y = np.array([1, 1, 1, 0, 0, 0])
    p = np.array([0.05, 0.5, 0.95, 0.05, 0.5, 0.95])
    f = band_figures(y, p, 0.2, 0.9)
    assert (f["missed"]["k"], f["missed"]["n"]) == (1, 3)
    assert (f["false_alarm"]["k"], f["false_alarm"]["n"]) == (1, 3)
    assert (f["referred"]["k"], f["referred"]["n"]) == (2, 6)
    assert (f["accuracy_decided"]["k"], f["accuracy_decided"]["n"]) == (2, 4)


def test_a_card_with_the_band_passes_the_card_check_and_a_tampered_one_fails():
    from desktop.modelfile import default_model_path
    from training.export import load_scripted

    y, p_views = views(1)
    section = fit_band(y, p_views)
    section["test"] = band_figures(y, p_views["plain"], section["t_low"], section["t_high"])
    _, card = load_scripted(default_model_path())
    assert card_problems({**card, "refer_band": section}) == []
    bad = {**section, "t_low": section["t_high"] + 0.01}
    assert card_problems({**card, "refer_band": bad}) == ["refer_band: t_low is above t_high"]
    text = refer_table({"refer_band": section})
    assert "**test split** (evaluated once)" in text and "validation, shifted view" in text
    assert refer_views_table({"refer_band": section}).count("\n| ") == 5  # 3 views + header
