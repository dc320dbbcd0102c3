"""The window's case history: results recorded as they are shown, the History view (filters,
confirmation, export, deletion), a site profile in force (or refused for another model), and
the Calibrate view fitting one on confirmed cases. Real Tk under Xvfb, a real database file."""

import csv
import json
import re
from pathlib import Path
from tkinter import font as tkfont

import numpy as np
import pytest

from desktop.cases.history_service import Confirm, DeleteMatching, Export
from desktop.cases.store import CaseRecord, Filters, HistoryStore
from desktop.settings import Settings
from tests.desktop.ui.test_app import classify, make_app, rows, wait_for, write_xray  # noqa: F401

pytestmark = pytest.mark.gui


def history_rows(view) -> list[tuple]:
    return [view.tree.item(i, "values") for i in view.tree.get_children()]


def test_results_shown_are_recorded_and_the_history_view_filters_confirms_exports_deletes(
        make_app, tmp_path):  # noqa: F811 - the window fixture
    app = make_app()
    files = [write_xray(tmp_path / f"chest {i}.png", seed=i) for i in range(3)]
    classify(app, files)
    assert app.history.wait_recorded()
    app.show_history()
    view = app.history.history_view
    wait_for(app, lambda: len(history_rows(view)) == 3, "show the 3 recorded results")
    assert {r[1] for r in history_rows(view)} == {f.name for f in files}

    view.search.set("chest 1")
    wait_for(app, lambda: [r[1] for r in history_rows(view)] == ["chest 1.png"],
             "filter by file name")
    view.search.set("")
    wait_for(app, lambda: len(history_rows(view)) == 3, "clear the filter")

    first = view.rows[view.tree.get_children()[0]]
    view._ask(Confirm((first.case_id,), first.verdict, "radiologist", "Ana"))
    wait_for(app, lambda: any(r[6] == "Agrees" for r in history_rows(view)),
             "show the confirmed case as agreeing")
    view.confirmed.set("yes")
    view.reload()
    wait_for(app, lambda: len(history_rows(view)) == 1, "only the confirmed case")

    out = tmp_path / "export.csv"
    view._ask(Export(view.filters, out))
    wait_for(app, lambda: out.exists(), "write the CSV")
    with open(out, newline="", encoding="utf-8") as fh:
        exported = list(csv.DictReader(fh))
    assert [r["confirmed_by"] for r in exported] == ["Ana"]

    view._ask(DeleteMatching(Filters()))
    wait_for(app, lambda: not history_rows(view), "forget every case")
    assert all(f.exists() for f in files)
    view.close()


def test_files_are_hashed_for_the_history_only_while_it_records(make_app, tmp_path):  # noqa: F811
    app = make_app()
    classify(app, [write_xray(tmp_path / "recorded.png", seed=1)])
    assert app.history.wait_recorded()
    app.history.recorder._stop()  # as when its folder turned out read-only or full
    classify(app, [write_xray(tmp_path / "after.png", seed=2)])
    identities = {Path(r.path).name: r.identity for r in app.session.results.values()}
    assert identities["recorded.png"].sha256 and identities["after.png"] is None
    assert app.history.wait_recorded()
    store = HistoryStore.open(app.history.recorder.path)
    assert [r.file_name for r in store.rows(Filters())] == ["recorded.png"]
    store.close()


def _open_history_of(app, files) -> object:
    classify(app, files)
    assert app.history.wait_recorded()
    app.show_history()
    view = app.history.history_view
    wait_for(app, lambda: len(history_rows(view)) == len(files), "show the recorded results")
    return view


def test_the_history_view_follows_a_language_switch_and_keeps_the_filter_chosen(
        make_app, tmp_path):  # noqa: F811 - the window fixture
    app = make_app()
    view = _open_history_of(app, [write_xray(tmp_path / f"chest {i}.png", seed=i)
                                  for i in range(2)])
    first = view.rows[view.tree.get_children()[0]]
    view._ask(Confirm((first.case_id,), first.verdict, "radiologist", "Ana"))
    wait_for(app, lambda: any(r[6] == "Agrees" for r in history_rows(view)), "confirm one")
    box = view.boxes["Confirmed"]
    box.current(1)  # "Confirmed", as a click on it would
    box.event_generate("<<ComboboxSelected>>")
    wait_for(app, lambda: [r[1] for r in history_rows(view)] == [first.file_name],
             "show only the confirmed case")

    app.set_language("es")
    wait_for(app, lambda: (view.title(), view.tree.heading("created", "text"),
                           view.buttons["Open case"].cget("text"))
             == ("Historial de casos", "Fecha", "Abrir caso"), "say it all in Spanish")
    assert box.get() == "Confirmado" and view.confirmed.get() == "yes"
    assert [r[6] for r in history_rows(view)] == ["Coincide"]  # the rows' words too
    p_shown = history_rows(view)[0][3]  # P with the language's decimal sign (issue 28 item 11)
    assert p_shown == first.p_text(3).replace(".", ",") and "," in p_shown
    assert view.status.cget("text") == "1 de 1 resultados"
    view.reload()  # the next query still applies the filter chosen before the switch
    wait_for(app, lambda: view.status.cget("text") == "1 de 1 resultados",
             "query again with the filter")
    assert [r[1] for r in history_rows(view)] == [first.file_name]
    view.close()


def test_a_closed_history_view_is_left_alone_by_a_language_switch(
        make_app, tmp_path, caplog):  # noqa: F811 - the window fixture
    from desktop import i18n

    app = make_app()
    before = list(i18n._listeners)
    view = _open_history_of(app, [write_xray(tmp_path / "a.png")])
    assert len(i18n._listeners) == len(before) + 1
    view.close()
    assert i18n._listeners == before  # nothing of the closed window is called any more
    app.set_language("es")
    assert app.root.title() != "Chest X-ray pneumonia classifier"  # the switch happened
    assert not [r for r in caplog.records if "listener" in r.getMessage()]
    app.show_history()  # and it opens again, in Spanish
    assert app.history.history_view is not view
    assert app.history.history_view.title() == "Historial de casos"


def test_opening_a_case_whose_file_changed_shows_the_stored_record_and_says_why(
        make_app, tmp_path, monkeypatch):  # noqa: F811 - the window fixture
    from desktop.ui import history_view

    app = make_app()
    image = write_xray(tmp_path / "a.png")
    view = _open_history_of(app, [image])
    write_xray(image, seed=5)  # the same file name, another picture
    shown = []
    monkeypatch.setattr(history_view.messagebox, "showinfo",
                        lambda title, message, **_kw: shown.append((title, message)))
    view.tree.selection_set(view.tree.get_children()[0])
    view.open_case()
    assert view.status.cget("text") == "The file has changed since it was classified."
    [(title, message)] = shown
    assert title == "Stored record"
    assert message.startswith("The file has changed since it was classified.")
    assert f"File: {image}" in message
    assert len(app.state.session.results) == 1  # not opened again as if it were the same
    view.close()


def _profile(path: Path, sha: str, name: str = "clinic-A") -> Path:
    path.write_text(json.dumps({
        "format": "cxr-site-profile", "version": 1, "name": name, "model_sha256": sha,
        "platt": {"slope": 0.5, "bias": 1.0}, "threshold": 0.3, "created": "2026-12-01",
        "cases": {"NORMAL": 40, "PNEUMONIA": 40},
        "figures": {"proposed": {"sensitivity": [0.9, 0.8, 0.96],
                                 "specificity": [0.85, 0.75, 0.92],
                                 "flagged": [0.5, 0.4, 0.6]}}}))
    return path


def _sha(model: Path) -> str:
    return Path(str(model) + ".sha256").read_text().split()[0]


def test_the_site_profile_is_in_force_in_the_threshold_panel_rows_and_about_box(
        make_app, tiny_model, tmp_path):  # noqa: F811 - the window fixture
    profile = _profile(tmp_path / "site.json", _sha(tiny_model))
    app = make_app(Settings(language="en", site_profile=str(profile)))
    wait_for(app, lambda: app.session.site is not None, "apply the profile")
    assert app.session.policy.preset == "site" and app.session.threshold == 0.3
    assert "Site profile clinic-A" in app.threshold.detail.cget("text")
    wait_for(app, lambda: "has no refer band" in app.status_label.cget("text"),
             "say the version-1 profile has no refer band")
    classify(app, [write_xray(tmp_path / "a.png")])
    result = app.state.selected
    assert result.p_pneumonia != result.p_model
    assert app.session.row(result).profile == "clinic-A"
    app.show_model_card()
    assert "Site profile “clinic-A” in force" in app.dialog.all_text()
    # a version-1 profile has no refer band: the About box says so (the status bar did)
    assert "was written by an older version and has no refer band" in app.dialog.all_text()


def test_a_profile_for_another_model_file_is_not_applied_and_the_window_says_so(
        make_app, tmp_path):  # noqa: F811 - the window fixture
    profile = _profile(tmp_path / "site.json", "0" * 64)
    app = make_app(Settings(language="en", site_profile=str(profile)))
    wait_for(app, lambda: "another model file" in app.status_label.cget("text"),
             "say the profile is not applied")
    assert app.session.site is None


def test_the_calibrate_view_fits_on_confirmed_cases_and_puts_the_profile_in_force(
        make_app, tmp_path):  # noqa: F811 - the window fixture
    app = make_app()
    store = HistoryStore.open()
    rng = np.random.default_rng(0)
    for i in range(80):
        label = "PNEUMONIA" if i % 2 else "NORMAL"
        p = float(np.clip(rng.normal(0.75 if i % 2 else 0.3, 0.2), 0.01, 0.99))
        case = store.record(CaseRecord(
            sha256=f"{i:064d}", file_name=f"{i}.png", path=f"/x/{i}.png", size=1,
            model_sha256=app.state.model_sha256, model_version="1", profile="", p_model=p, p=p,
            threshold=0.5, verdict=None, scope="in_scope", scope_reason=None, origin="window"))
        store.confirm([case], label)
    store.close()
    app.show_calibration()
    view = app.history.calibration_view
    view.run()
    wait_for(app, lambda: view.study is not None, "fit the study")
    assert (view.study.n_normal, view.study.n_pneumonia) == (40, 40)
    assert "Proposed threshold" in view.summary.cget("text")
    assert view.save_profile(tmp_path / "site.json")
    assert app.session.site is not None and app.session.policy.preset == "site"
    assert app.settings.site_profile == str((tmp_path / "site.json").resolve())
    app.set_language("es")  # the open window follows, the study included
    assert view.title() == "Calibrar para este centro"
    assert "Umbral propuesto" in view.summary.cget("text")
    summary = view.summary.cget("text")  # the classes as the verdicts name them; decimal commas
    assert "Confirmados NEUMONÍA: 40" in summary and "PNEUMONIA" not in summary, summary
    assert re.search(r"AUC 0,\d{3}", summary) and not re.search(r"\b0\.\d", summary), summary
    assert view.status.cget("text") == "Guardado; el perfil ya está vigente."
    view.close()


def test_the_monitoring_view_warns_on_a_week_outside_the_calibration(
        make_app, tiny_model, tmp_path):  # noqa: F811 - the window fixture
    from tests.desktop.cases.test_monitoring import fill

    profile = _profile(tmp_path / "site.json", _sha(tiny_model))
    app = make_app(Settings(language="en", site_profile=str(profile)))
    wait_for(app, lambda: app.session.site is not None, "apply the profile")
    store = HistoryStore.open()
    fill(store, "2026-11-02", 60, 30, 0)
    fill(store, "2026-11-16", 80, 72, 200)
    store.close()
    app.run_command("monitoring")
    view = app.history.monitoring_view
    wait_for(app, lambda: len(view.tree.get_children()) == 2, "show two weeks")
    labels = [view.tree.item(i, "values")[0] for i in view.tree.get_children()]
    assert labels == ["2026-W45", "⚠ 2026-W47"]
    assert "outside what calibration saw" in view.warning.cget("text")
    app.set_language("es")  # the open window follows, its table and warning included
    assert view.tree.heading("period", "text") == "Período"
    assert view.tree.heading("flagged", "text") == "Clasificados NEUMONÍA (IC 95%)"
    assert "NEUMONÍA" in view.warning.cget("text") and "PNEUMONIA" not in view.warning.cget(
        "text")
    assert [view.tree.item(i, "values")[0] for i in view.tree.get_children()] == labels
    assert "fuera de lo que vio la calibración" in view.warning.cget("text")
    heading_font = tkfont.nametofont("TkHeadingFont")
    wait_for(app, lambda: all(  # every translated heading whole, the last one on screen too
        heading_font.measure(view.tree.heading(c, "text")) <= int(view.tree.column(c, "width"))
        for c in view.tree["columns"]) and view.tree.winfo_width() >= sum(
        int(view.tree.column(c, "width")) for c in view.tree["columns"]), "fit the headings")
    view.close()


def test_read_first_hides_the_answer_until_the_reader_reads_then_compares(
        make_app, tmp_path):  # noqa: F811 - the window fixture
    app = make_app()
    files = [write_xray(tmp_path / "NORMAL" / "a.png"),
             write_xray(tmp_path / "PNEUMONIA" / "b.png", seed=1)]
    app.run_command("teaching")
    view = app.history.teaching_view
    view.open_files(files)
    wait_for(app, lambda: view.result is not None, "show the first image")
    assert view.answer.cget("text") == ""  # nothing of the model's answer yet
    shown = view._photo
    assert str(view.read_buttons[0].cget("state")) == "normal"
    view.record_read("PNEUMONIA")
    text = view.answer.cget("text")
    assert text.startswith("Model: ") and "Confirmed: NORMAL" in text and \
        "Your read: PNEUMONIA" in text
    assert "Over 1 case read first: reader vs confirmed 0%" in view.summary.cget("text")
    assert view.result.heatmap is not None and view._photo is not shown  # now the heatmap
    # with the heatmap, what it is and is not
    assert view.caption.winfo_manager() and "not where the disease is" in view.caption.cget(
        "text")
    # a class's reads are not the clinic's cases
    store = HistoryStore.open()
    assert store.rows() == [] and [r.file_name for r in store.teaching_reads()] == ["a.png"]
    store.close()
    app.set_language("es")  # the open window follows, the answer and summary included
    assert view.title() == "Leer primero (docencia)"
    assert view.answer.cget("text").startswith("Modelo: ")
    assert view.next_button.cget("text") == "Siguiente imagen"
    assert view.summary.cget("text").startswith("En 1 caso leído primero")
    app.set_language("en")
    view.next_image()
    wait_for(app, lambda: view.result is not None, "show the second image")
    view.record_read("PNEUMONIA")
    assert view.last_summary.reads == 2 and view.last_summary.reader_vs_confirmed.k == 1
    out = tmp_path / "reader.csv"
    assert view.export(out) and out.read_text().startswith("measure,agree,of")
    assert "\na.png,PNEUMONIA," in out.read_text() and "\nb.png,PNEUMONIA," in out.read_text()
    view.close()


def test_files_from_a_labelled_folder_get_its_label_as_confirmed_diagnosis(
        make_app, tmp_path):  # noqa: F811 - the window fixture
    app = make_app()
    classify(app, [write_xray(tmp_path / "teaching set" / "NORMAL" / "n.png"),
                   write_xray(tmp_path / "teaching set" / "other" / "x.png", seed=2)])
    assert app.history.wait_recorded()
    store = HistoryStore.open()
    confirmed = {r.file_name: (r.confirmed, r.confirmed_how) for r in store.rows()}
    store.close()
    assert confirmed == {"n.png": ("NORMAL", "labelled folder"), "x.png": (None, None)}


@pytest.mark.parametrize("command", ["calibrate", "monitoring", "teaching", "history"])
def test_a_cases_window_is_as_wide_as_its_spanish_texts(make_app, command):  # noqa: F811
    """A longer translation widens the window instead of cutting its last control (the
    Calibrate button was half off the Spanish window)."""
    app = make_app(Settings(language="es"))
    app.run_command(command)
    link = app.history
    view = {"calibrate": link.calibration_view, "monitoring": link.monitoring_view,
            "teaching": link.teaching_view, "history": link.history_view}[command]
    from desktop.ui.style import screen_room

    wait_for(app, lambda: view.winfo_ismapped() and view.winfo_width() >= min(
        view.winfo_reqwidth(), screen_room(view)[0]), "as wide as its texts")
    view.close()


def _recorded(store, name: str, decision: str | None, p: float, band: bool = True,
              scope: str = "in_scope") -> int:
    """A result as the window records it: ``decision`` by the refer band 0.2–0.6 (``band``)."""
    return store.record(CaseRecord(
        sha256=name.encode().hex().ljust(64, "0"), file_name=name, path=f"/gone/{name}", size=1,
        model_sha256="m" * 64, model_version="1", profile="", p_model=p, p=p, threshold=0.5,
        verdict=decision if decision in ("NORMAL", "PNEUMONIA") else None, scope=scope,
        scope_reason=None, origin="window", decision=decision,
        t_low=0.2 if band else None, t_high=0.6 if band else None))


def test_a_referred_case_reads_refer_is_filtered_as_referred_and_its_record_shows_the_band(
        make_app):  # noqa: F811 - the window fixture
    """Issue 31: a result inside the refer band is "◐ Refer" in the History (it read "No
    verdict", as if withheld), "Referred" selects it, and its stored record says the band."""
    from desktop.ui.history_view import MOVED

    app = make_app()
    store = HistoryStore.open()
    _recorded(store, "referred.png", "REFER", 0.45)
    _recorded(store, "flagged.png", "PNEUMONIA", 0.9)
    _recorded(store, "photo.png", None, 0.3, band=False, scope="not_chest_xray")
    store.close()
    app.show_history()
    view = app.history.history_view
    wait_for(app, lambda: len(history_rows(view)) == 3, "list the three results")
    verdicts = {r[1]: r[2] for r in history_rows(view)}
    assert verdicts == {"referred.png": "◐ Refer", "flagged.png": "▲ PNEUMONIA",
                        "photo.png": "⊘ No verdict"}
    assert {r[1]: r[3] for r in history_rows(view)}["referred.png"] == "0.450"  # its P shown

    box = view.boxes["Verdict"]
    box.current(box["values"].index("Referred"))
    box.event_generate("<<ComboboxSelected>>")
    wait_for(app, lambda: [r[1] for r in history_rows(view)] == ["referred.png"],
             "show only the referred case")
    referred = next(iter(view.rows.values()))
    record = view.record_text(referred, MOVED)
    assert "Verdict: ◐ Refer" in record and "Refer band: 0.20–0.60" in record, record
    box.current(box["values"].index("No verdict"))  # withheld only, not the referred one
    box.event_generate("<<ComboboxSelected>>")
    wait_for(app, lambda: [r[1] for r in history_rows(view)] == ["photo.png"],
             "show only the withheld case")
    assert "Refer band" not in view.record_text(view.rows[view.tree.get_children()[0]], MOVED)

    box.current(box["values"].index("Referred"))
    box.event_generate("<<ComboboxSelected>>")
    wait_for(app, lambda: [r[1] for r in history_rows(view)] == ["referred.png"],
             "show the referred case again")
    app.set_language("es")
    assert box.get() == "Derivada" and view.verdict.get() == "REFER"
    assert [r[2] for r in history_rows(view)] == ["◐ Derivar"]
    assert "Banda de derivación: 0,20–0,60" in view.record_text(referred, MOVED)
    view.close()
