"""Metrics, operating points and calibration against cases worked out by hand."""

import math

import numpy as np
import pytest
import torch

from training.calibration import calibrated_positive, fit_temperature
from training.metrics import (
    binary_metrics,
    expected_calibration_error,
    roc_auc,
    sensitivity_threshold,
    youden_threshold,
)

# 4 NORMAL, 6 PNEUMONIA
Y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
P = np.array([0.1, 0.3, 0.6, 0.2, 0.9, 0.8, 0.4, 0.7, 0.95, 0.55])


def test_figures_at_a_threshold_match_the_hand_count():
    m = binary_metrics(Y, P, 0.5)
    # predicted positive: 0.6 (FP), 0.9 0.8 0.7 0.95 0.55 (TP); 0.4 is a FN
    assert m["confusion"] == [[3, 1], [1, 5]]
    assert m["accuracy"] == pytest.approx(8 / 10)
    assert m["sensitivity"] == pytest.approx(5 / 6)
    assert m["specificity"] == pytest.approx(3 / 4)
    assert m["precision"] == pytest.approx(5 / 6)
    assert m["f1"] == pytest.approx(2 * 5 / (2 * 5 + 1 + 1))
    assert (m["n"], m["n_normal"], m["n_pneumonia"]) == (10, 4, 6)


def test_a_score_equal_to_the_threshold_counts_as_pneumonia():
    assert binary_metrics(np.array([1]), np.array([0.5]), 0.5)["confusion"] == [[0, 0], [0, 1]]


def test_auc_counts_pairs_and_halves_ties():
    # pairs (pos, neg): 24; pos 0.4 loses to 0.6, pos 0.55 loses to 0.6 -> 22/24
    assert roc_auc(Y, P) == pytest.approx(22 / 24)
    assert roc_auc(np.array([0, 1]), np.array([0.5, 0.5])) == pytest.approx(0.5)
    assert roc_auc(np.array([0, 0, 1]), np.array([0.2, 0.7, 0.7])) == pytest.approx(0.75)
    assert math.isnan(roc_auc(np.array([1, 1]), np.array([0.2, 0.3])))


def test_youden_point_separates_perfectly_separable_scores_in_the_gap():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.3, 0.7, 0.8])
    t = youden_threshold(y, p)
    assert t == pytest.approx(0.5)  # midway between the highest NORMAL and lowest PNEUMONIA
    assert binary_metrics(y, p, t)["accuracy"] == 1.0


def test_youden_point_maximises_sensitivity_plus_specificity():
    t = youden_threshold(Y, P)
    best = max(binary_metrics(Y, P, s)["sensitivity"] + binary_metrics(Y, P, s)["specificity"]
               for s in np.linspace(0, 1, 1001))
    m = binary_metrics(Y, P, t)
    assert m["sensitivity"] + m["specificity"] == pytest.approx(best)


def test_high_sensitivity_point_is_the_highest_threshold_reaching_the_target():
    t = sensitivity_threshold(Y, P, 1.0)
    assert binary_metrics(Y, P, t)["sensitivity"] == 1.0
    assert 0.3 < t <= 0.4  # between 0.3 (a NORMAL) and 0.4 (the lowest PNEUMONIA)
    assert binary_metrics(Y, P, t)["specificity"] == pytest.approx(3 / 4)  # 0.6 is a FP


def test_ece_of_a_hand_made_case():
    # confidences 0.9 (right), 0.9 (wrong) in one bin: |0.5 - 0.9| = 0.4
    assert expected_calibration_error(np.array([1, 0]), np.array([0.9, 0.9])) == \
        pytest.approx(0.4)
    # perfectly calibrated: confidence 1.0, always right
    assert expected_calibration_error(np.array([1, 0]), np.array([1.0, 0.0])) == 0.0


def test_temperature_scaling_recovers_the_temperature_that_made_the_labels():
    g = torch.Generator().manual_seed(0)
    true_logits = torch.randn(20000, 2, generator=g) * 2
    labels = torch.multinomial(torch.softmax(true_logits, 1), 1, generator=g)[:, 0]
    overconfident = true_logits * 2.5  # a model whose logits are 2.5x too large
    t = fit_temperature(overconfident, labels)
    assert t == pytest.approx(2.5, rel=0.05)
    before = expected_calibration_error(labels.numpy(),
                                        calibrated_positive(overconfident, 1.0).numpy())
    after = expected_calibration_error(labels.numpy(),
                                       calibrated_positive(overconfident, t).numpy())
    assert after < before / 3


def test_calibration_error_of_p_is_the_hand_count_and_reweights_to_another_prevalence():
    from training.metrics import calibration_error, prevalence_weights

    y = np.array([0, 0, 1, 1])
    p = np.array([0.05, 0.05, 0.95, 0.45])  # bins 0, 0, 9, 4
    # bin 0: |0 - 0.05| * 2/4; bin 9: |1 - 0.95| * 1/4; bin 4: |1 - 0.45| * 1/4
    assert calibration_error(y, p) == pytest.approx(0.05 / 2 + 0.05 / 4 + 0.55 / 4)
    w = prevalence_weights(np.array([0, 1, 1, 1]), 0.5)
    assert w[0] == pytest.approx(2.0) and w[1:].sum() == pytest.approx(2.0)


def _logits(n_normal: int, n_pneumonia: int, seed: int, shift: float = 0.0) -> tuple:
    """Logit differences whose true log-odds are 2*z at 50% prevalence (z ~ the class mean)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.cat([torch.zeros(n_normal), torch.ones(n_pneumonia)]).long()
    z = torch.where(y == 1, 1.0, -1.0) + torch.randn(len(y), generator=g) + shift
    return torch.stack([torch.zeros_like(z), 4 * z], dim=1), y  # over-confident by 2x


def test_the_rule_keeps_the_form_that_holds_when_prevalence_changes():
    """Validation 75% pneumonia: a Platt bias fits it, and pays for it at 50%; temperature
    alone (P for equal prevalence, as the class-weighted loss gives) holds, and wins."""
    from training.calibration_choice import choose, score_forms

    logits, y = _logits(250, 750, seed=0)
    views = {"a": _logits(250, 750, seed=1, shift=0.2)[0], "b": _logits(250, 750, seed=2)[0]}
    scored = score_forms(logits, y, views)
    assert scored["temperature"]["temperature"] == pytest.approx(2.0, rel=0.1)
    assert scored["platt"]["bias"] > 0.5  # it learnt validation's 3:1 prevalence
    assert scored["platt"]["prevalence_assumed"] == 0.75
    assert choose(scored) == "temperature"
    for form in scored.values():
        assert set(form["views"]) == {"a", "b"}
