"""Every window on a small real screen: an 800x600 Xvfb screen, under a window manager
(openbox) and under none. The Cases windows opened one pixel tall (History, Calibrate, Read
first), the main window's status bar was below the screen, History's last buttons were off it.
The geometry asserted is the one X mapped (``winfo`` and ``xwininfo``), waited for with a
deadline."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from tkinter import font as tkfont
from tkinter import ttk

import pytest

from desktop.settings import Settings
from tests.desktop.ui.test_app import classify, make_app, select_row, wait_for, write_xray  # noqa: F401
from tests.desktop.ui.test_refer_band import banded, banded_model, refer_item  # noqa: F401
from tests.support.gui_support import virtual_display
from tests.support.model_fixtures import xray_like

pytestmark = pytest.mark.gui

SCREEN = (800, 600)
VIEWS = {"history": (640, 420), "calibration": (640, 460), "monitoring": (600, 300),
         "teaching": (560, 480)}


def _wm_running(deadline_s: float = 15.0) -> None:
    """Wait until a window manager owns the screen (``_NET_SUPPORTING_WM_CHECK`` set)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        probe = subprocess.run(["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"],
                               capture_output=True, text=True)
        if "window id" in probe.stdout:
            return
        time.sleep(0.05)
    raise AssertionError("openbox did not take the screen")


@pytest.fixture(scope="session")
def small_display(x_display):
    """One 800x600 screen, kept until the session ends: Tk keeps a connection to every screen
    it used, and once one of them is gone the next Tk call of any later test ends the whole
    test process (X's fatal IO error)."""
    before = os.environ["DISPLAY"]
    with virtual_display(f"{SCREEN[0]}x{SCREEN[1]}x24") as display:
        os.environ["DISPLAY"] = before  # the other tests' screen, until a module asks for this
        yield display


@pytest.fixture(scope="module")
def on_small_display(small_display):
    """DISPLAY points at the 800x600 screen for this module's windows."""
    before = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = small_display
    yield small_display
    os.environ["DISPLAY"] = before


@pytest.fixture(scope="module", params=["no window manager", "openbox"])
def small_screen(request, on_small_display):
    """The 800x600 screen with no window manager, then with openbox."""
    manager = None
    if request.param == "openbox":
        if shutil.which("openbox") is None or shutil.which("xprop") is None:
            pytest.fail("needs openbox and xprop (apt-get install openbox x11-utils; .ci/run does)")
        manager = subprocess.Popen(["openbox", "--sm-disable"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        _wm_running()
    yield request.param
    if manager is not None:
        manager.terminate()
        manager.wait(timeout=10)


def mapped(app, window) -> tuple[int, int, int, int]:
    """x, y, width, height of ``window`` as X mapped it, once it is mapped and has a height."""
    wait_for(app, lambda: window.winfo_ismapped() and window.winfo_height() > 1
             and window.winfo_viewable(), f"map {window}")
    return (window.winfo_rootx(), window.winfo_rooty(), window.winfo_width(),
            window.winfo_height())


def xwininfo_size(window) -> tuple[int, int]:
    text = subprocess.run(["xwininfo", "-id", str(window.winfo_id())], capture_output=True,
                          text=True, check=True).stdout
    return (int(re.search(r"Width: (\d+)", text)[1]), int(re.search(r"Height: (\d+)", text)[1]))


def on_screen(x: int, y: int, width: int, height: int) -> bool:
    return x >= 0 and y >= 0 and x + width <= SCREEN[0] and y + height <= SCREEN[1]


@pytest.mark.parametrize("name", list(VIEWS))
def test_each_cases_window_opens_usable_and_whole_on_the_screen(small_screen, make_app,  # noqa: F811
                                                               tmp_path, name):
    app = make_app()
    getattr(app, f"show_{name}")()
    view = getattr(app.history, f"{name}_view")
    minimum = VIEWS[name]
    wait_for(app, lambda: view.winfo_ismapped() and view.winfo_height() >= minimum[1],
             f"open {name} at least {minimum[1]} pixels tall")
    x, y, width, height = mapped(app, view)
    assert width >= minimum[0]
    assert xwininfo_size(view) == (width, height)
    assert on_screen(x, y, width, height), (x, y, width, height)
    view.close()


def test_the_dicom_window_opens_usable_and_whole_on_the_screen(small_screen, make_app):  # noqa: F811
    """Cases → DICOM archive and outbox…: opened at a size of its own (it opened 1 px tall
    before its minimum), whole on an 800x600 screen, the buttons under the outbox inside it and
    the outbox's list several rows tall (the TLS files are a tab of their own)."""
    app = make_app()
    app.show_dicom_node()
    view = app.dicom_view
    wait_for(app, lambda: view.winfo_ismapped() and view.winfo_height() >= 500,
             "open the DICOM window at least 500 pixels tall")
    x, y, width, height = mapped(app, view)
    assert width >= 640 and xwininfo_size(view) == (width, height)
    assert on_screen(x, y, width, height), (x, y, width, height)
    bottom = view.retry_button.winfo_rooty() + view.retry_button.winfo_height()
    assert bottom <= view.winfo_rooty() + view.winfo_height()
    # the outbox's rows still show: 264 px with the TLS files in a tab of their own, 78 px (the
    # heading and one row) when they stood above the tabs
    assert view.tree.winfo_height() > 150
    view.close()


def test_the_receive_tab_keeps_every_control_within_reach_on_a_small_screen(
        small_screen, make_app):  # noqa: F811
    """Cases → DICOM archive and outbox…, "Receive from the X-ray machine" under the archive's
    TLS files on an 800x600 screen: what does not fit scrolls into view (Apply, the sentence),
    inside the window."""
    app = make_app()
    app.show_dicom_node()
    view = app.dicom_view
    view.tabs.select(view.receive)
    group = view.receive
    wait_for(app, lambda: group.winfo_ismapped() and group.winfo_height() > 60,
             "show the receive tab")
    bottom_of = lambda w: w.winfo_rooty() + w.winfo_height()  # noqa: E731
    tab_bottom = bottom_of(group)
    assert tab_bottom <= view.winfo_rooty() + view.winfo_height()
    if bottom_of(group.status) > tab_bottom:  # cut: the tab scrolls, down to its last line
        assert group.bar.winfo_ismapped()
        group.canvas.yview_moveto(1.0)
        wait_for(app, lambda: bottom_of(group.status) <= tab_bottom, "scroll to the sentence")
    assert group.apply_button.winfo_rooty() >= group.winfo_rooty()
    assert bottom_of(group.apply_button) <= tab_bottom
    view.close()


# maximising is the window manager's: this one runs under openbox only
@pytest.mark.parametrize("small_screen", ["openbox"], indirect=True)
def test_restoring_a_maximised_history_keeps_a_usable_size(small_screen, make_app):  # noqa: F811
    app = make_app()
    app.show_history()
    view = app.history.history_view
    mapped(app, view)
    view.attributes("-zoomed", True)
    wait_for(app, lambda: view.winfo_width() >= SCREEN[0] - 10, "maximise")
    view.attributes("-zoomed", False)
    wait_for(app, lambda: not view.attributes("-zoomed"), "restore")
    wait_for(app, lambda: view.winfo_height() >= VIEWS["history"][1], "a usable height")
    view.close()


@pytest.mark.parametrize("language", ["en", "es", "pt_BR"])
def test_the_main_window_fits_the_screen_with_its_status_bar(small_screen, make_app,  # noqa: F811
                                                             tmp_path, language):
    app = make_app(Settings(language=language))
    classify(app, [write_xray(tmp_path / "a chest film with a long name.png")])
    select_row(app, "a chest film with a long name.png")
    x, y, width, height = mapped(app, app.root)
    assert on_screen(x, y, width, height), (x, y, width, height)
    for widget in (app.cancel_button, app.progress, app.status_label, app.pane.heatmap_check,
                   app.pane.opacity_scale, app.threshold):
        wx, wy, ww, wh = mapped(app, widget)
        assert on_screen(wx, wy, ww, wh) and wy + wh <= y + height, (widget, wx, wy, ww, wh)
    pane = app.pane._pane
    for widget in (app.pane.heatmap_check, app.pane.opacity_scale):
        assert widget.winfo_rooty() + widget.winfo_height() <= pane.winfo_rooty() + \
            pane.winfo_height()
    # P is read whole: its column lies inside the table
    tree = app.table.tree
    p_right = sum(int(tree.column(c, "width")) for c in ("file", "verdict", "p_pneumonia"))
    assert p_right <= tree.winfo_width(), (p_right, tree.winfo_width())
    # the operating points ("Personalizado") are not cut
    radios = []

    def walk(widget) -> None:
        for child in widget.winfo_children():
            walk(child)
        if isinstance(widget, ttk.Radiobutton) and widget.winfo_ismapped():
            radios.append(widget)

    walk(app.threshold)
    assert radios
    for radio in radios:
        assert radio.winfo_width() >= radio.winfo_reqwidth(), radio.cget("text")
        assert radio.winfo_rootx() + radio.winfo_width() <= x + width


@pytest.mark.parametrize("language", ["en", "es", "pt_BR"])
def test_every_history_button_and_column_is_reachable(small_screen, make_app, tmp_path,  # noqa: F811
                                                      language):
    app = make_app(Settings(language=language))
    classify(app, [write_xray(tmp_path / "a.png")])
    assert app.history.wait_recorded()
    app.show_history()
    view = app.history.history_view
    x, y, width, height = mapped(app, view)
    wait_for(app, lambda: view.tree.get_children(), "show the case")
    for button in view.buttons.values():
        bx, by, bw, bh = mapped(app, button)
        assert on_screen(bx, by, bw, bh) and bx + bw <= x + width and by + bh <= y + height, \
            (button.cget("text"), bx, by, bw, bh)
    for pair in view.filter_row.items:
        px, py, pw, ph = mapped(app, pair)
        assert px + pw <= x + width, (px, pw)
    # the columns beyond the window scroll into view
    total = sum(int(view.tree.column(c, "width")) for c in view.tree["columns"])
    if total > view.tree.winfo_width():
        mapped(app, view.xscroll)
        view.tree.xview_moveto(1.0)
        wait_for(app, lambda: float(view.tree.xview()[1]) == 1.0, "scroll to the last column")
    view.close()


def scrolled_into_view(app, scroll, widget) -> bool:
    """Scroll ``scroll`` (a ``Scrolled``) to its end; whether ``widget`` is then seen whole."""
    scroll.canvas.yview_moveto(1.0)
    app.root.update()
    top = scroll.canvas.winfo_rooty()
    return (widget.winfo_rooty() >= top and widget.winfo_rooty() + widget.winfo_height()
            <= top + scroll.canvas.winfo_height())


@pytest.mark.parametrize("language", ["en", "es"])
def test_calibrate_shows_its_figures_and_buttons_after_a_run(small_screen, make_app,  # noqa: F811
                                                             language):
    from tests.desktop.ui.test_cases_windows import _confirmed_cases

    app = make_app(Settings(language=language))
    _confirmed_cases(app)
    app.show_calibration()
    view = app.history.calibration_view
    mapped(app, view)
    view.run()
    wait_for(app, lambda: view.study is not None and view.summary.winfo_ismapped()
             and view.roc.winfo_ismapped(), "fit the study")
    x, y, width, height = mapped(app, view)
    for button in (view.save_button, view.pdf_button):
        bx, by, bw, bh = mapped(app, button)
        assert on_screen(bx, by, bw, bh) and by + bh <= y + height
    # the figures are there to read: whole, or whole once scrolled to
    wait_for(app, lambda: scrolled_into_view(app, view.scroll, view.summary),
             "the study's figures in view")
    assert view.summary.winfo_rootx() + view.summary.winfo_width() <= x + width
    assert view.run_button.winfo_rootx() + view.run_button.winfo_width() <= x + width
    view.close()


def test_read_first_keeps_the_reads_and_the_summary_reachable(small_screen, make_app,  # noqa: F811
                                                              tmp_path):
    app = make_app(Settings(language="es"))
    app.run_command("teaching")
    view = app.history.teaching_view
    view.open_files([write_xray(tmp_path / "NORMAL" / "a.png"),
                     write_xray(tmp_path / "PNEUMONIA" / "b.png", seed=1)])
    wait_for(app, lambda: view.result is not None, "show the first image")
    view.record_read("NORMAL")
    x, y, width, height = mapped(app, view)
    assert on_screen(x, y, width, height)
    wait_for(app, lambda: scrolled_into_view(app, view.scroll, view.summary),
             "the summary in view")
    view.close()


def pane_controls_on_screen(app) -> bool:
    """The probability bar, the heatmap check box and the opacity slider lie whole inside the
    result pane, the window and the screen."""
    pane, root = app.pane._pane, app.root
    bottom = min(pane.winfo_rooty() + pane.winfo_height(),
                 root.winfo_rooty() + root.winfo_height(), SCREEN[1])
    return all(widget.winfo_ismapped() and widget.winfo_rooty() + widget.winfo_height() <= bottom
               for widget in (app.pane.bar, app.pane.heatmap_check, app.pane.opacity_scale))


def last_line_reachable(app, pane) -> bool:
    """Scrolled to its end, the sentences under the verdict show their last line, in at least
    two lines' height."""
    scroll = pane.texts_scroll
    last = pane.scope_label if pane.scope_label.winfo_ismapped() else pane.detail_label
    scroll.canvas.yview_moveto(1.0)
    app.root.update()
    top, shown = scroll.canvas.winfo_rooty(), scroll.canvas.winfo_height()
    bottom = last.winfo_rooty() + last.winfo_height()
    line = tkfont.nametofont("TkDefaultFont").metrics("linespace")
    return shown >= 2 * line and top < bottom <= top + shown


@pytest.mark.parametrize("language", ["en", "es", "pt_BR"])
def test_the_result_pane_keeps_its_bar_heatmap_controls_and_sentences_reachable(
        small_screen, banded, tmp_path, language):  # noqa: F811
    """A referred image, an unusual one, the heatmap on, a borderline PNEUMONIA and a
    borderline NORMAL: the longest sentences under the verdict (Spanish, Portuguese) pushed
    the bar half off the screen and the heatmap controls out of reach at 800x600; the
    sentences scroll instead, every line of them reachable."""
    from tests.desktop.test_cli import _lateral_dicom

    app = banded(Settings(language=language))
    chest = write_xray(tmp_path / "a chest film.png")
    lateral = _lateral_dicom(tmp_path / "lateral.dcm", xray_like(502, (330, 300)))
    classify(app, [chest, lateral])
    x, y, width, height = mapped(app, app.root)
    assert on_screen(x, y, width, height), (x, y, width, height)
    pane = app.pane

    def check(name: str, verdict: str, what: str) -> None:
        select_row(app, name)
        wait_for(app, lambda: app.session.verdict(app.state.selected) == verdict, what)
        wait_for(app, lambda: pane_controls_on_screen(app), f"{what}: the bar and heatmap "
                 "controls on screen")
        wait_for(app, lambda: last_line_reachable(app, pane), f"{what}: the last sentence "
                 "reachable")
        pane.texts_scroll.canvas.yview_moveto(0.0)

    check("a chest film.png", "REFER", "referred")
    check("lateral.dcm", "REFER", "unusual and referred")
    assert pane.scope_label.winfo_ismapped()
    app.show_heatmap.set(True)
    app.heatmap_toggled()
    check("a chest film.png", "REFER", "referred, with the heatmap")
    wait_for(app, lambda: pane.legend.winfo_ismapped(), "show the heatmap legend")
    app.show_heatmap.set(False)
    app.heatmap_toggled()
    menu, index = refer_item(app)
    menu.invoke(index)  # the band off: the card's threshold 0.50 calls P = 0.5185 PNEUMONIA
    check("a chest film.png", "PNEUMONIA", "a borderline PNEUMONIA")
    app.threshold.scale.set(0.52)  # just above P: a borderline NORMAL
    check("a chest film.png", "NORMAL", "a borderline NORMAL")
