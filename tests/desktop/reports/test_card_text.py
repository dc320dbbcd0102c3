"""The model-card text of the About box (built without a window: desktop.reports.card_text)."""

from desktop import i18n
from desktop.reports.card_text import _metrics_lines


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
    from desktop.reports.card_text import model_card_sections
    from training.export import load_scripted

    i18n.set_language("en")
    _, card = load_scripted(default_model_path())
    share = card["calibration"]["prevalence_assumed"]
    lines = dict(model_card_sections(card))["Calibration"]
    assert any(f"assume that {share:.0%} of the images show pneumonia" in line
               for line in lines), lines


def _card_with_test(confusion):
    return {"model_name": "m", "data": {"name": "Kermany", "counts": {
                "train": {"NORMAL": 100, "PNEUMONIA": 300}}},
            "scope_check": {"age_range_years": [1, 5]},
            "metrics": {"validation": {"sensitivity": 0.99, "confusion": [[99, 1], [1, 99]]},
                        "test": {"sensitivity": 0.9846, "specificity": 0.8376,
                                 "confusion": confusion}}}


def test_the_about_box_starts_with_a_plain_summary_of_the_test_split_figures():
    """A clinician reads the summary first: the training images, the *test* split's figures (not
    validation's flattering ones) as counts, and when not to trust it; the technical card after."""
    from desktop.reports.card_text import model_card_sections

    i18n.set_language("en")
    sections = model_card_sections(_card_with_test([[196, 38], [6, 384]]))
    heading, lines = sections[0]
    text = " ".join(lines)
    assert heading == "In short"
    assert "400 chest X-rays of children aged 1 to 5 years" in text
    assert "On 624 test images" in text and "found 384 of 390 pneumonia cases (98%)" in text
    assert "called 196 of 234 normal images normal (84%)" in text
    assert "missed 6 pneumonia cases and raised 38 false alarms" in text
    assert "adults" in text and "other hospitals" in text
    assert [h for h, _ in sections].index("Test metrics") > 0


def test_a_card_without_test_figures_says_so_in_the_summary():
    from desktop.reports.card_text import clinician_summary

    i18n.set_language("en")
    text = " ".join(clinician_summary({"metrics": {"validation": {"sensitivity": 0.99}}}))
    assert "no test-split figures" in text and "99%" not in text


def test_the_summary_is_translated():
    from desktop.reports.card_text import clinician_summary

    card = _card_with_test([[196, 38], [6, 384]])
    i18n.set_language("en")
    english = clinician_summary(card)
    for code in ("pt_BR", "es"):
        i18n.set_language(code)
        translated = clinician_summary(card)
        assert all(a != b for a, b in zip(english, translated, strict=True)), code
        assert "384" in " ".join(translated)
    i18n.set_language("en")


def test_the_cards_own_prose_is_translated_where_it_is_our_trainings_and_kept_otherwise():
    """The shipped card's intended use and limitations read in Spanish in a Spanish window;
    a sentence another trainer wrote stays as written (never dropped)."""
    from desktop.modelfile import CARD_INTENDED_USE, CARD_LIMITATIONS
    from desktop.reports.card_text import model_card_sections

    card = {"intended_use": CARD_INTENDED_USE,
            "limitations": [*CARD_LIMITATIONS, "Our own note, in our words."]}
    try:
        i18n.set_language("es")
        sections = dict(model_card_sections(card))
    finally:
        i18n.set_language("en")
    assert sections["Uso previsto"] == ["Investigación y docencia. No apto para diagnóstico "
                                        "clínico."]
    limits = sections["Limitaciones"]
    assert "• Solo dos clases: no distingue la neumonía bacteriana de la viral y no detecta "\
           "ningún otro hallazgo." in limits
    assert limits[-1] == "• Our own note, in our words."
    assert not any(line[2:] in CARD_LIMITATIONS for line in limits)


def _shipped_card() -> dict:
    from desktop.modelfile import default_model_path
    from training.export import load_scripted

    return load_scripted(default_model_path())[1]


def _text(sections) -> str:
    return "\n".join(f"{heading}\n" + "\n".join(lines) for heading, lines in sections)


def test_the_shipped_card_reads_in_plain_words_with_no_unknowns_and_no_raw_json():
    """Issue 28: "calibration error … (5 folds): ?", the raw JSON of test_split_looks and a wall
    of provenance. Each field is a sentence or a short line; nothing is "?"; no JSON."""
    from desktop.reports.card_text import model_card_sections

    i18n.set_language("en")
    card = _shipped_card()
    sections = model_card_sections(card)
    text = _text(sections)
    assert "?" not in text, [line for line in text.splitlines() if "?" in line]
    assert not any(c in text for c in "{}[]\""), [
        line for line in text.splitlines() if any(c in line for c in "{}[]\"")]
    cv = card["calibration"]["val_calibration_error_cross_validated"]
    assert f"the fit did not see (5 folds): {cv:.3f}." in text
    looks = card["test_split_looks"]  # every look in one line each, the last one this file's
    assert f"The test split was looked at {len(looks)} times" in text
    last = looks[-1]
    assert (f"look {last['evaluation_number']} on {last['date']}, model {last['model_version']}"
            in text)
    longest = max(len(line) for _heading, lines in sections for line in lines)
    assert longest < 400, longest  # no wall: the sources and the recipe are under More details
    assert "thonny/thonny" not in text
    sources = card["scope_check"]["fitted_on"]["out_of_scope_examples"]
    assert (f"Fitted on {sum(s['n'] for s in sources)} openly licensed examples from "
            f"{len({s['source'] for s in sources})} sources") in text
    assert len(text.splitlines()) < 80


def test_more_details_lists_every_source_with_its_licence_and_the_recipe_as_lines():
    from desktop.reports.card_text import model_card_sections

    i18n.set_language("en")
    card = _shipped_card()
    text = _text(model_card_sections(card, details=True))
    for source in card["scope_check"]["fitted_on"]["out_of_scope_examples"]:
        assert source["source"] in text and source["licence"] in text
    assert "Label smoothing: 0.1" in text and "Source commit: " + card["source_commit"] in text
    assert not any(c in text for c in "{}\"")


def test_a_value_the_card_lacks_is_left_out_not_shown_as_a_question_mark():
    from desktop.reports.card_text import model_card_sections

    i18n.set_language("en")
    card = {"model_name": "m", "calibration": {"method": "Platt", "bias": 0.4},
            "operating_points": [{"name": "balanced"}], "data": {"counts": {}},
            "metrics": {"test": {"n": 10}}, "scope_check": {"validation": {"in_scope": 0.99}}}
    text = _text(model_card_sections(card))
    assert "?" not in text and "5 folds" not in text and "Operating points" not in text


def test_the_card_speaks_spanish_numbers_and_class_names():
    from desktop.reports.card_text import model_card_sections

    i18n.set_language("es")
    try:
        text = _text(model_card_sections(_shipped_card()))
    finally:
        i18n.set_language("en")
    assert "NORMAL, NEUMONÍA" in text and "PNEUMONIA" not in text
    assert "0,7092" in text and "0.7092" not in text


def test_the_about_box_says_what_the_refer_band_promises_and_did_on_the_test_split():
    from desktop.reports.card_text import model_card_sections

    card = _shipped_card()
    band = card["refer_band"]
    lines = dict(model_card_sections(card))["Refer band"]
    assert lines[0].startswith("Refer band 0.1359 to 0.9889: with 95% confidence, at most 5% of "
                               "pneumonias are called normal")
    assert "a new site needs its own band" in lines[0]
    test = band["test"]
    assert lines[1] == (
        f"On the {test['referred']['n']} test images: {test['missed']['k']} of "
        f"{test['missed']['n']} pneumonia cases called normal, {test['false_alarm']['k']} of "
        f"{test['false_alarm']['n']} normal images called pneumonia, {test['referred']['k']} "
        f"referred (28%), {test['accuracy_decided']['k']} of {test['accuracy_decided']['n']} "
        "right among those decided.")
    i18n.set_language("es")
    try:
        lines = dict(model_card_sections(card))["Banda de derivación"]
        assert lines[0].startswith("Banda de derivación 0,1359 a 0,9889")
    finally:
        i18n.set_language("en")
    no_band = {k: v for k, v in card.items() if k != "refer_band"}
    assert "Refer band" not in dict(model_card_sections(no_band))


def test_the_site_profile_in_force_follows_the_application_in_the_about_box():
    """The profile changes what P and the threshold mean, so its lines come before the card's,
    right after the application's, with or without a loaded card; without one, no heading."""
    from desktop.reports.card_text import model_card_sections

    i18n.set_language("en")
    profile = ["Site profile “clinic-A” in force: threshold 0.30."]
    for card in (_card_with_test([[196, 38], [6, 384]]), None):
        headings = [heading for heading, _lines in model_card_sections(card, site=profile)]
        at = headings.index("Application")
        assert headings[at + 1] == "Site profile", headings
        assert dict(model_card_sections(card, site=profile))["Site profile"] == profile
        assert "Site profile" not in dict(model_card_sections(card))
