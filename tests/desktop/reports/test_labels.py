"""How values are written for people: percentages that never claim a certainty the model does
not have, operating-point names, the scope in words."""


from desktop import i18n
from desktop.engine.scope import (
    IN_SCOPE,
    NOT_CHEST_XRAY,
    R_COLOUR,
    R_LATERAL,
    UNUSUAL,
    Reason,
    Scope,
)
from desktop.reports.labels import (
    figures_text,
    operating_point_figures,
    operating_point_label,
    percent,
    scope_text,
)


def test_percentages_never_round_to_a_certainty_the_model_does_not_have():
    assert [percent(0.873), percent(0.997), percent(0.99996), percent(0.0004)] == [
        "87%", "99.7%", "99.996%", "0.04%"]
    assert (percent(1.0), percent(0.0), percent(0.9856, 1)) == ("100%", "0%", "98.6%")


def test_operating_points_are_named_for_people_in_the_language_shown():
    assert operating_point_label("high_sensitivity") == "High sensitivity"
    assert operating_point_label("my_own_point") == "My own point"  # a card's own name
    i18n.set_language("es")
    assert operating_point_label("high_sensitivity") == i18n.gettext("High sensitivity")
    assert operating_point_label("high_sensitivity") != "High sensitivity"


def test_the_scope_in_words_names_the_state_then_the_reason():
    assert scope_text(None) == ""
    assert scope_text(Scope(IN_SCOPE)).startswith("No scope problem found (file facts")
    lateral = Scope(UNUSUAL, Reason(R_LATERAL))
    assert scope_text(lateral) == ("Unusual: This is a lateral view; the model was validated "
                                   "on frontal views only.")
    photo = Scope(NOT_CHEST_XRAY, Reason(R_COLOUR))
    assert scope_text(photo) == ("Outside the model's scope: This image is in colour; a "
                                 "chest X-ray is grey.")
    assert scope_text(photo, name_withheld=False) == (
        "This image is in colour; a chest X-ray is grey.")


def card_with_test_figures() -> dict:
    point = {"name": "balanced", "threshold": 0.8811, "val_sensitivity": 0.9668,
             "val_specificity": 0.9845}
    tested = {"balanced": {"sensitivity": 0.9846, "specificity": 0.8376}}
    return {"operating_points": [point], "default_operating_point": "balanced",
            "metrics": {"test": {"at_operating_points": tested}}}


def test_an_operating_points_test_figures_come_first_then_validation():
    card = card_with_test_figures()
    point = card["operating_points"][0]
    assert operating_point_figures(point, card) == [
        ("Test", "sensitivity 98%, specificity 84%"),
        ("Validation", "sensitivity 97%, specificity 98%")]
    assert figures_text(point, card) == ("Test: sensitivity 98%, specificity 84% · "
                                         "Validation: sensitivity 97%, specificity 98%")
    assert figures_text(point, None) == "Validation: sensitivity 97%, specificity 98%"
    assert figures_text({"name": "x"}, card) == ""
    i18n.set_language("pt_BR")
    assert figures_text(point, card).startswith(i18n.gettext("Test") + ": ")


def test_a_report_gives_both_figures_of_the_operating_point():
    from desktop.engine.threshold import ThresholdPolicy
    from desktop.reports.content import threshold_rows

    card = card_with_test_figures()
    rows = threshold_rows(ThresholdPolicy.from_card(card), card)
    labels = [label for label, _ in rows]
    assert labels.index("Test") < labels.index("Validation")
    assert dict(rows)["Test"] == "sensitivity 98%, specificity 84%"


def test_the_rule_of_an_operating_point_is_said_in_the_reader_language():
    """The PDF read "Equilibrado (max Youden J on validation)"; the rules training writes are
    worded and translated, a rule the app does not know is kept as the card says it."""
    from desktop.engine.threshold import ThresholdPolicy
    from desktop.reports.content import threshold_rows
    from desktop.reports.labels import operating_point_rule

    i18n.set_language("en")
    assert operating_point_rule("sensitivity >= 0.98 on validation") == (
        "the highest threshold that finds at least 98% of pneumonia cases on validation")
    assert "largest Youden J" in operating_point_rule("max Youden J on validation")
    assert operating_point_rule("chosen by hand") == "chosen by hand"
    card = card_with_test_figures()
    card["operating_points"][0]["rule"] = "max Youden J on validation"
    policy = ThresholdPolicy.from_card(card)
    try:
        for code in ("es", "pt_BR"):
            i18n.set_language(code)
            point = dict(threshold_rows(policy, card))[i18n.gettext("Operating point")]
            assert "on validation" not in point and "Youden" in point, point
    finally:
        i18n.set_language("en")
