"""The exact statistics and the refer band's certification (Learn-then-Test, Clopper–Pearson):
the promise holds as often as it says, the order stops at its first failure, a set too small
says how many more images are needed."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.stats import (
    CLASS,
    DECIDED,
    NotCertifiable,
    certify_band,
    clopper_pearson,
    fixed_sequence,
    upper_bound,
    zero_error_cases,
)


def draw(rng, n_pos: int, n_neg: int):
    """Scores whose true error rates are known: pneumonias uniform on [0.2, 1], normals on
    [0, 0.8]; at a cut t, P(pneumonia below t) = (t - 0.2) / 0.8, P(normal at or above t) =
    (0.8 - t) / 0.8."""
    p = np.concatenate([rng.uniform(0.2, 1.0, n_pos), rng.uniform(0.0, 0.8, n_neg)])
    y = np.concatenate([np.ones(n_pos, int), np.zeros(n_neg, int)])
    return p, y


def test_the_class_guarantee_is_violated_in_at_most_5_percent_of_draws():
    rng = np.random.default_rng(2026)
    draws, violated, referred = 200, 0, []
    for _ in range(draws):
        band = certify_band(*draw(rng, 200, 200), guarantee=CLASS, low_limit=0.05,
                            high_limit=0.05)
        true_missed = max(0.0, (band.t_low - 0.2) / 0.8)
        true_false_alarm = max(0.0, (0.8 - band.t_high) / 0.8)
        violated += true_missed > 0.05 or true_false_alarm > 0.05
        referred.append(band.t_high - band.t_low)
    assert violated / draws <= 0.05
    # and it is not vacuous: the band decides most images (the optimum band is 0.24..0.76)
    assert 0.52 < np.mean(referred) < 0.7


@pytest.mark.integration
def test_the_decided_guarantee_holds_among_the_calls():
    rng = np.random.default_rng(7)
    draws, violated = 100, 0
    for _ in range(draws):
        band = certify_band(*draw(rng, 400, 400), guarantee=DECIDED, low_limit=0.1,
                            high_limit=0.1)
        # true share of pneumonias among images below t_low (equal numbers of each class)
        t = band.t_low
        missed, cleared = max(0.0, t - 0.2) / 0.8, min(t, 0.8) / 0.8
        wrong_normal_calls = missed / (missed + cleared)
        t = band.t_high
        false_alarm, found = max(0.0, 0.8 - t) / 0.8, min(0.8, 1 - t) / 0.8
        wrong_pneumonia_calls = false_alarm / (false_alarm + found)
        violated += wrong_normal_calls > 0.1 or wrong_pneumonia_calls > 0.1
    assert violated / draws <= 0.05


def test_the_fixed_order_stops_at_its_first_failure():
    errors, totals = [0, 1, 19, 0, 0], [200] * 5
    assert fixed_sequence(errors, totals, range(5), limit=0.05, delta=0.025) == 1
    assert fixed_sequence(errors, totals, [2, 3, 4], limit=0.05, delta=0.025) is None
    assert fixed_sequence(errors, totals, [4, 3], limit=0.05, delta=0.025) == 3


def test_too_few_images_get_how_many_more_of_each_class():
    rng = np.random.default_rng(1)
    p, y = draw(rng, 50, 100)
    with pytest.raises(NotCertifiable) as info:
        certify_band(p, y)
    need = zero_error_cases(0.05, 0.025)
    assert need == 72  # 1 - 0.025 ** (1/72) <= 5% < 1 - 0.025 ** (1/71)
    assert (info.value.normal_needed, info.value.pneumonia_needed) == (0, need - 50)
    with pytest.raises(NotCertifiable) as info:
        certify_band(p[y == 1], y[y == 1])  # no normals at all
    assert info.value.normal_needed == need


def test_a_decided_guarantee_below_the_error_rate_says_more_images_would_not_help():
    rng = np.random.default_rng(3)
    p, y = rng.uniform(0, 1, 400), rng.integers(0, 2, 400)  # P says nothing about the label
    with pytest.raises(NotCertifiable) as info:
        certify_band(p, y, guarantee=DECIDED, low_limit=0.05, high_limit=0.05)
    assert (info.value.normal_needed, info.value.pneumonia_needed) == (-1, -1)


def test_separated_classes_need_no_band_and_cuts_never_sit_on_a_score():
    p = np.array([0.01, 0.02] * 50 + [0.98, 0.99] * 50)
    y = np.array([0] * 100 + [1] * 100)
    band = certify_band(p, y)
    assert band.t_low == band.t_high  # one threshold holds both promises: nothing referred
    assert 0.02 < band.t_low < 0.98
    rng = np.random.default_rng(5)
    p, y = draw(rng, 300, 300)
    band = certify_band(p, y)
    assert band.t_low not in set(p) and band.t_high not in set(p)
    assert band.low_errors == int(((p < band.t_low) & (y == 1)).sum())
    assert band.high_errors == int(((p >= band.t_high) & (y == 0)).sum())
    assert band.low_bound <= 0.05 and band.high_bound <= 0.05


def test_the_one_sided_bound_is_the_two_sided_intervals_end():
    assert upper_bound(0, 72, 0.025) <= 0.05 < upper_bound(0, 71, 0.025)
    assert upper_bound(3, 10, 0.025) == pytest.approx(clopper_pearson(3, 10)[1])
    assert upper_bound(0, 0, 0.025) == 1.0


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        certify_band([0.1, np.nan], [0, 1])
    with pytest.raises(ValueError):
        certify_band([0.1, 0.2], [0, 1], guarantee="both")
    with pytest.raises(ValueError):
        certify_band([0.1, 0.2], [0, 1], low_limit=0)


def test_roc_and_calibration_are_the_textbook_figures():
    from desktop.stats import calibration_error, reliability, roc_auc, roc_curve

    y = np.array([0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8, 0.8, 0.9])
    # Mann-Whitney by hand: of the 9 (pneumonia, normal) pairs, 6.5 are ranked right (a tie
    # counts one half)
    assert roc_auc(y, p) == pytest.approx(6.5 / 9)
    fpr, tpr, thresholds = roc_curve(y, p)
    assert thresholds[0] == np.inf and (fpr[0], tpr[0]) == (0.0, 0.0)
    assert (fpr[-1], tpr[-1]) == (1.0, 1.0) and list(thresholds[1:]) == sorted(set(p))[::-1]
    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc(y, p))  # the same area
    assert np.isnan(roc_auc([1, 1], [0.2, 0.3]))
    # two bins: P 0.1..0.4 (mean 0.2833, 1 of 3 pneumonia) and 0.8..0.9 (mean 0.8333, 2 of 3)
    table = reliability(y, p, bins=2)
    assert [(round(m, 4), round(s, 4), n) for m, s, n in table] == [
        (0.2833, 0.3333, 3.0), (0.8333, 0.6667, 3.0)]
    assert calibration_error(y, p, bins=2) == pytest.approx(
        0.5 * abs(0.3333333 - 0.2833333) + 0.5 * abs(0.6666667 - 0.8333333))


def test_training_and_the_site_study_use_the_same_statistics():
    import training.metrics as training_metrics
    from desktop import stats
    from desktop.cases import calibration as site

    assert training_metrics.roc_auc is stats.roc_auc
    assert training_metrics.calibration_error is stats.calibration_error
    assert site.Rate is stats.Rate
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = np.clip(rng.normal(0.3 + 0.4 * y, 0.2), 0, 1)
    study = site.calibrate(p, y, shipped_threshold=0.5)
    assert study.auc == pytest.approx(stats.roc_auc(y, p))
    assert study.ece_before == pytest.approx(stats.calibration_error(y, p))
