"""The model-card text of the About box (built without a window)."""

from desktop import i18n
from desktop.ui.about import _metrics_lines


def test_card_figures_are_not_rounded_past_what_the_card_says():
    """92.95% accuracy must not read as 93.0% (a target the model missed by one image)."""
    i18n.set_language("en")
    figures = {"n": 624, "n_normal": 234, "n_pneumonia": 390, "threshold": 0.2822,
               "accuracy": 0.9295, "roc_auc": 0.9825, "confusion": [[196, 38], [6, 384]]}
    text = "\n".join(_metrics_lines(figures))
    assert "92.95%" in text and "93.0%" not in text
    assert "0.9825" in text
    assert "196 true normal, 38 false pneumonia, 6 missed pneumonia, 384 true pneumonia" in text


def test_a_figure_missing_from_the_card_is_left_out_not_invented():
    i18n.set_language("en")
    text = "\n".join(_metrics_lines({"accuracy": 0.9}))
    assert "90.00%" in text and "Sensitivity" not in text


def test_the_about_box_says_what_prevalence_the_probabilities_assume():
    """Read from the shipped card: the sentence the user sees names the card's prevalence."""
    from desktop.modelfile import default_model_path
    from desktop.ui.about import model_card_sections
    from training.export import load_scripted

    i18n.set_language("en")
    _, card = load_scripted(default_model_path())
    share = card["calibration"]["prevalence_assumed"]
    lines = dict(model_card_sections(card))["Calibration"]
    assert any(f"assume that {share:.0%} of the images show pneumonia" in line
               for line in lines), lines
