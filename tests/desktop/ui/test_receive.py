"""Receiving from the X-ray machine in the real window under Xvfb: listening turned on in the DICOM
dialog, an image sent with dcmtk's ``storescu`` from an allowed AE shown in the table with the
window's own verdict and recorded once, an unknown AE refused, the setting kept across a restart
(and said in the About box), bad values and a port in use refused with their sentences, and each
DICOM result sent as it is classified (its SR in the outbox; none for a JPEG)."""

from __future__ import annotations

import shutil
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from desktop.cases.store import default_db_path
from desktop.network.outbox import Outbox
from desktop.settings import Settings, load_settings
from tests.desktop.network.test_listener import free_port, images
from tests.desktop.ui.test_app import classify, make_app, rows, wait_for  # noqa: F401
from tests.support.dicom_scenarios import source_image
from tests.support.model_fixtures import xray_like

pytestmark = pytest.mark.gui
NOBODY = "ARCHIVE@127.0.0.1:9"  # the discard port: no archive answers, the SR waits in the outbox


@pytest.fixture(autouse=True)
def needs_storescu():
    if shutil.which("storescu") is None:
        pytest.fail("needs dcmtk's storescu (apt-get install dcmtk; .ci/run does)")


def storescu(port: int, calling: str, *files: Path) -> subprocess.CompletedProcess:
    """Sent from another process while the test runs the Tk loop (the window takes what
    arrives on its own polling)."""
    return subprocess.run(["storescu", "-aet", calling, "-aec", "CXRNODE", "127.0.0.1",
                           str(port), *map(str, files)], capture_output=True, text=True,
                          timeout=120)


def send_while_running(app, port: int, calling: str, *files: Path) -> int:
    """``storescu`` in the background while the window's loop runs; its exit status."""
    process = subprocess.Popen(["storescu", "-aet", calling, "-aec", "CXRNODE", "127.0.0.1",
                                str(port), *map(str, files)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    wait_for(app, lambda: process.poll() is not None, "storescu finishes", timeout_s=120)
    return process.returncode


def open_receive_group(app):
    """Cases → DICOM archive and outbox…, its "Receive from the X-ray machine" tab."""
    app.run_command("dicom_node")
    view = app.dicom_view
    view.tabs.select(view.receive)
    wait_for(app, lambda: view.receive.winfo_ismapped(), "show the receive tab")
    return view.receive


def fill(group, **values) -> None:
    for key, value in values.items():
        group.fields[key].set(value)


def turn_on(app, group, port: int, folder: Path, allowed: str = "MODALITY, OTHER") -> None:
    fill(group, aet="CXRNODE", port=str(port), allowed=allowed, folder=str(folder))
    assert not group.listen.get()
    group.listen_box.invoke()
    wait_for(app, lambda: not app.listen_link.busy, "start listening", timeout_s=60)


def history_rows() -> list[tuple]:
    """(file name, decision, p, origin) of every result in the case history."""
    with sqlite3.connect(default_db_path()) as db:
        return db.execute("SELECT c.file_name, r.decision, r.p, r.origin FROM results r "
                          "JOIN cases c ON c.id = r.case_id ORDER BY r.id").fetchall()


def test_an_image_from_an_allowed_ae_appears_with_its_verdict_and_is_recorded_once(
        make_app, tmp_path):  # noqa: F811
    app = make_app(Settings(language="en", dicom_archive=NOBODY))
    group = open_receive_group(app)
    assert not group.listen.get() and app.listen_link.running is None  # off by default
    assert group.status.cget("text").startswith("Not receiving")
    port, folder = free_port(), tmp_path / "received"
    group.send_back.set(True)
    turn_on(app, group, port, folder)
    assert app.listen_link.running is not None
    expected = (f"Receiving DICOM images as CXRNODE on port {port} from MODALITY, OTHER; each "
                f"is written to {folder} and classified here.")
    assert app.status_label.cget("text") == expected
    assert group.status.cget("text") == expected
    saved = load_settings()
    assert (saved.dicom_listen, saved.dicom_listen_port, saved.dicom_listen_allowed,
            saved.dicom_listen_folder, saved.dicom_send_back) == (
        True, port, "MODALITY,OTHER", str(folder), True)

    stranger, allowed = images(tmp_path / "in", 2)
    refused = storescu(port, "STRANGER", stranger)
    assert refused.returncode != 0 and "Calling AE Title Not Recognized" in refused.stderr
    assert send_while_running(app, port, "MODALITY", allowed) == 0
    wait_for(app, lambda: rows(app) and not app.state.pending, "list the received image",
             timeout_s=60)
    # only the allowed sender's image: the stranger's was stored nowhere and listed nowhere
    assert len(rows(app)) == 1 and [p.parent for p in folder.glob("*.dcm")] == [folder]
    result = next(iter(app.session.results.values()))
    assert result.path.parent == folder and result.ok
    # the table shows the window's own verdict (its session, its threshold)
    values, _tag = app.state.row(result)
    assert tuple(rows(app)[0].values()) == values and values[1] and values[2] != "—"
    assert app.status_label.cget("text").startswith("Received 1 image from MODALITY. ")
    assert app.state.selected is result  # nothing was selected: the received image is shown
    # in the case history once, as received, with the decision and P the table shows
    assert app.history.wait_recorded()
    session_row = app.session.row(result)
    assert history_rows() == [(result.path.name, session_row.decision,
                               pytest.approx(result.p_pneumonia), "dicom-listen")]
    # "Send each result back to the archive": its SR waits in the outbox (the archive is down)
    wait_for(app, lambda: _outbox_sources() == [str(result.path)], "queue the SR", 60)


def _outbox_sources() -> list[str]:
    if not (default_db_path().parent / "outbox.db").exists():
        return []
    with Outbox() as outbox:
        return [item.source for item in outbox.items()]


def test_listening_is_kept_across_a_restart_and_said_in_the_about_box(make_app, tmp_path):  # noqa: F811
    first = make_app()
    port, folder = free_port(), tmp_path / "received"
    turn_on(first, open_receive_group(first), port, folder, allowed="MODALITY")
    assert first.listen_link.running is not None
    first.close()  # the port is closed with the window

    again = make_app(load_settings())
    wait_for(again, lambda: again.listen_link.running is not None, "listen again", 60)
    assert send_while_running(again, port, "MODALITY", *images(tmp_path / "in", 1)) == 0
    wait_for(again, lambda: len(rows(again)) == 1 and not again.state.pending,
             "list the image received after the restart", 60)
    again.show_model_card()
    text = again.dialog.all_text()
    assert f"DICOM node\nReceiving DICOM as CXRNODE on port {port}.\n" in text
    again.set_language("pt_BR")
    assert f"Recebendo DICOM como CXRNODE na porta {port}." in again.dialog.all_text()
    again.set_language("es")
    assert f"Recibiendo DICOM como CXRNODE en el puerto {port}." in again.dialog.all_text()
    again.set_language("en")
    again.dialog.destroy()

    group = open_receive_group(again)
    assert group.listen.get()
    group.listen_box.invoke()  # turned off
    wait_for(again, lambda: not again.listen_link.busy, "stop listening", 60)
    assert again.listen_link.running is None and not load_settings().dicom_listen
    assert again.status_label.cget("text") == "No longer receiving DICOM images."
    again.show_model_card()
    assert "Receiving DICOM" not in again.dialog.all_text()
    with socket.socket() as probe:  # nothing listens there any more (as a server reopens it)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("", port))
        probe.listen()


def test_bad_values_a_port_in_use_and_a_folder_that_cannot_be_written_leave_it_off(
        make_app, tmp_path):  # noqa: F811
    app = make_app()
    group = open_receive_group(app)
    before = load_settings()
    fill(group, aet="", port="80", allowed="", folder="received")
    group.listen_box.invoke()
    assert not group.listen.get() and app.listen_link.running is None
    assert group.status.cget("text") == (
        "Our AE title must be 1 to 16 letters, digits, spaces or signs, without a backslash: "
        "enter the title the X-ray machine is set to call. The port must be a whole number "
        "from 1024 to 65535: enter the port the X-ray machine sends to. No calling AE title is "
        "allowed: enter the X-ray machine's AE title (several separated by commas), or no "
        "image is accepted. \"received\" is not a full path to a folder: choose the folder "
        "for received images with Browse….")
    assert load_settings() == before  # nothing saved
    app.set_language("pt_BR")
    assert group.status.cget("text").startswith("O AE title deste computador deve ter")
    app.set_language("en")

    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        port = taken.getsockname()[1]
        turn_on(app, group, port, tmp_path / "received")
        assert not group.listen.get() and app.listen_link.running is None
        said = group.status.cget("text")
        assert said.startswith(f"Port {port} cannot be opened (") and said.endswith(
            "choose another port from 1024 to 65535, or stop the program that uses it.")
        assert app.status_label.cget("text") == said
        assert not load_settings().dicom_listen

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    turn_on(app, group, free_port(), blocker / "received")
    assert not group.listen.get() and app.listen_link.running is None
    assert group.status.cget("text") == (
        f"The folder {blocker / 'received'} cannot be written: choose a folder you can write "
        "to.")
    assert not load_settings().dicom_listen


def test_each_dicom_result_is_queued_as_it_is_classified_and_a_jpeg_is_not(make_app,  # noqa: F811
                                                                          tmp_path):
    app = make_app(Settings(language="en", dicom_archive=NOBODY))
    app.run_command("dicom_node")
    view = app.dicom_view
    assert not view.auto_send.on.get()  # off by default
    view.auto_send.invoke()
    assert load_settings().dicom_auto_send
    assert view.status.cget("text") == f"Each DICOM result is sent to {NOBODY} as it is classified."
    photo = tmp_path / "chest.jpg"
    Image.fromarray(xray_like(1, (256, 256))).save(photo, "JPEG")
    classify(app, [photo])  # a plain image: nothing to send, nothing said
    dicom = source_image(tmp_path)
    classify(app, [dicom])
    wait_for(app, lambda: _outbox_sources() == [str(dicom)], "queue the DICOM image's SR", 60)
    with Outbox() as outbox:
        assert [item.state for item in outbox.items()] == ["pending"]
    assert all("chest.jpg" not in source for source in _outbox_sources())
