"""Cases → DICOM archive and outbox… in the real window under Xvfb: the archive saved with the
settings, "Test connection" saying why it failed, the outbox listed with its reason, Retry now,
and the window in Spanish."""

import pytest

from desktop.network.outbox import Outbox
from desktop.settings import Settings, load_settings
from tests.desktop.ui.test_app import classify, make_app, wait_for  # noqa: F401
from tests.support.dicom_scenarios import some_srs, source_image
from tests.support.orthanc import in_private_network
from tests.support.report_fixtures import write_xray

pytestmark = pytest.mark.gui
NOBODY = "ARCHIVE@127.0.0.1:9"  # the discard port: no DICOM archive answers there


def rows(view) -> list[tuple]:
    return [view.tree.item(i, "values") for i in view.tree.get_children()]


def test_the_archive_is_saved_tested_and_the_outbox_shown_and_retried(make_app, tmp_path):  # noqa: F811
    with Outbox() as outbox:
        outbox.add(some_srs(tmp_path, 1)[0], NOBODY, "CXRNODE", str(tmp_path / "chest.dcm"))
    app = make_app()
    app.run_command("dicom_node")
    view = app.dicom_view
    # the window's sending thread tried it at once (the archive is down: it waits)
    wait_for(app, lambda: len(rows(view)) == 1 and rows(view)[0][3] == "1", "list the outbox",
             timeout_s=60)
    assert rows(view)[0][:4] == ("waiting", NOBODY, "chest.dcm", "1")
    assert view.summary.cget("text") == "Outbox: 1 waiting, 0 sent, 0 refused."
    for key, value in (("aet", "ARCHIVE"), ("host", "127.0.0.1"), ("port", "9"),
                       ("calling", "CLINIC7")):
        view.fields[key].set(value)
    view.save()
    saved = load_settings()
    assert (saved.dicom_archive, saved.dicom_calling_aet) == (NOBODY, "CLINIC7")
    assert view.status.cget("text") == f"Saved: results go to {NOBODY}."
    view.test()
    wait_for(app, lambda: "could not be reached" in view.status.cget("text"), "say why",
             timeout_s=60)
    view.retry()
    wait_for(app, lambda: rows(view) and rows(view)[0][3] == "2", "try once more", 60)
    assert "could not be reached" in rows(view)[0][4]
    view.fields["port"].set("port 9")
    view.save()
    assert "an AE title is 1 to 16 characters" in view.status.cget("text")
    assert load_settings().dicom_archive == NOBODY  # nothing wrong was saved
    app.set_language("es")
    assert view.title() == "Archivo DICOM y bandeja de salida"
    assert rows(view)[0][0] == "en espera"
    assert rows(view)[0][4].startswith("No se pudo contactar con el archivo ARCHIVE")
    view.close()


def test_the_outbox_drains_by_itself_while_the_window_is_open_and_results_are_sent(
        tmp_path, tiny_model):
    images = tmp_path / "in"
    images.mkdir()
    files = [str(source_image(images)), str(write_xray(images / "plain.png"))]
    seen = in_private_network("window_sends", tmp_path, model=str(tiny_model), files=files)
    # the archive down: tried on the back-off's schedule, waiting with the reason
    assert all(state == "pending" and "could not be reached" in reason
               for state, reason in seen["while_down"])
    # the archive up: delivered without anyone asking, each once, and said
    assert seen["drained_status"].startswith("Results sent to ARCHIVE@127.0.0.1:4242: ")
    assert sorted(set(seen["stores_received"][:3])) == seen["queued"]
    # Cases → Send all DICOM results: the one DICOM image's SR, not the PNG
    assert seen["sending_status"] == "Sending results to ARCHIVE@127.0.0.1:4242: 1…"
    assert seen["sent_status"] == "Results sent to ARCHIVE@127.0.0.1:4242: 1."
    assert seen["png_status"].startswith("plain.png is not a DICOM image: it belongs to no study")
    assert seen["instances"] == 4 and len(seen["stores_received"]) == 4  # none sent twice
    assert seen["counts"] == {"pending": 0, "sent": 4, "failed": 0}
    assert seen["listed"] == ["sent"] * 4


def test_the_secure_connection_files_are_checked_saved_with_the_archive_and_given_to_what_waits(
        make_app, tmp_path, monkeypatch):  # noqa: F811
    from desktop.network.tls import TlsFiles
    from desktop.ui import dicom_view
    from tests.support.tls_certs import make_certificates

    certs = make_certificates(tmp_path / "certs")
    with Outbox() as outbox:
        waiting = outbox.add(some_srs(tmp_path, 1)[0], NOBODY, "CXRNODE", "chest.dcm").sop_uid
    app = make_app()
    app.run_command("dicom_node")
    view = app.dicom_view
    wait_for(app, lambda: len(rows(view)) == 1, "list the outbox", timeout_s=60)
    assert set(view.tls_fields) == {"dicom_tls_ca", "dicom_tls_cert", "dicom_tls_key"}
    assert all(var.get() == "" for var in view.tls_fields.values())  # none saved yet
    for key, value in (("aet", "ARCHIVE"), ("host", "127.0.0.1"), ("port", "9")):
        view.fields[key].set(value)
    # Browse… puts the chosen file in its field
    chosen = iter([str(certs.ca), str(certs.client_cert), str(certs.encrypted_key)])
    monkeypatch.setattr(dicom_view.filedialog, "askopenfilename", lambda **_: next(chosen))
    for name in ("dicom_tls_ca", "dicom_tls_cert", "dicom_tls_key"):
        view.browse(name, "title", "*.pem")
    assert view.tls_fields["dicom_tls_key"].get() == str(certs.encrypted_key)
    view.save()  # a key under a passphrase: said, nothing saved
    assert view.status.cget("text").startswith(
        f"The TLS client key {certs.encrypted_key} is protected by a passphrase")
    assert load_settings().dicom_tls_ca is None and load_settings().dicom_archive is None
    view.tls_fields["dicom_tls_key"].set(str(certs.client_key))
    view.save()
    saved = load_settings()
    assert (saved.dicom_archive, saved.dicom_tls_ca, saved.dicom_tls_cert,
            saved.dicom_tls_key) == (NOBODY, str(certs.ca), str(certs.client_cert),
                                     str(certs.client_key))
    # the result waiting for that archive goes with these files from now on, and that is said
    wait_for(app, lambda: "go with these settings too: 1." in view.status.cget("text"),
             "say the waiting result follows")
    assert view.status.cget("text").startswith(
        f"Saved: results go to {NOBODY} over a secure connection (TLS).")
    with Outbox() as outbox:
        assert outbox.item(waiting).target().tls.cert == str(certs.client_cert)
    # Cases → Send all DICOM results: the new result's row goes with the saved files too
    images = tmp_path / "in"
    images.mkdir()
    classify(app, [source_image(images)])
    app.run_command("send_all_results")

    def rows_now() -> list:
        with Outbox() as outbox:
            return outbox.items()

    wait_for(app, lambda: len(rows_now()) == 2, "queue the result", timeout_s=60)
    assert {item.target().tls for item in rows_now()} == {TlsFiles(
        str(certs.ca), str(certs.client_cert), str(certs.client_key))}
    view.test()  # nothing listens there: no handshake to blame, so not said as TLS
    wait_for(app, lambda: "could not be reached" in view.status.cget("text"), "say why", 60)
    view.tls_fields["dicom_tls_cert"].set("")
    view.test()
    assert view.status.cget("text") == ("A TLS client certificate goes with its private key: "
                                        "give both, or neither.")
    app.set_language("pt_BR")
    assert view.status.cget("text") == ("Um certificado de cliente TLS vem com sua chave "
                                        "privada: informe os dois ou nenhum.")
    assert view.tabs.tab(view.tls_tab, "text") == "Conexão segura (TLS)"
    view.close()


SR, SC, PDF = ("1.2.840.10008.5.1.4.1.1.88.34", "1.2.840.10008.5.1.4.1.1.7",
               "1.2.840.10008.5.1.4.1.1.104.1")


def queued() -> dict[str, list]:
    """The outbox's objects (read back) by the image they are about."""
    import pydicom

    from desktop.cases.store import default_db_path

    if not (default_db_path().parent / "outbox.db").exists():
        return {}
    found: dict[str, list] = {}
    with Outbox() as outbox:
        for item in outbox.items():
            found.setdefault(item.source, []).append(pydicom.dcmread(item.file))
    return found


def test_the_picture_and_pdf_boxes_send_them_beside_each_sr_and_are_kept_across_a_restart(
        make_app, tmp_path):  # noqa: F811
    """With the two boxes off, Cases → Send sends the SR alone; on, each DICOM image sent
    from the window (asked, or as it is classified) goes as its SR, its report picture and its
    PDF report (in the language shown), all three in the image's Study. The boxes are saved at
    once and read back after a restart; a hand-edited wrong value leaves them off."""
    from desktop.settings import save_settings, settings_path

    app = make_app(Settings(language="en", dicom_archive=NOBODY))
    app.run_command("dicom_node")
    view = app.dicom_view
    assert not view.send_picture.on.get() and not view.send_pdf.on.get()  # off by default
    folders = [tmp_path / name for name in ("first", "second", "third")]
    for folder in folders:
        folder.mkdir()
    first, second, third = (str(source_image(folder)) for folder in folders)
    study = "1.2.826.0.1.3680043.8.498.10"  # source_image's

    def sent_and_said(what: str) -> None:
        wait_for(app, lambda: "Results waiting in the outbox" in app.state.status(), what, 120)

    classify(app, [first])
    app.run_command("send_result")
    sent_and_said("send the SR alone")
    assert [ds.SOPClassUID for ds in queued()[first]] == [SR]

    view.send_picture.invoke()
    view.send_pdf.invoke()
    saved = load_settings()
    assert (saved.dicom_send_picture, saved.dicom_send_pdf) == (True, True)
    assert view.status.cget("text") == (
        "Each result goes to the archive as its structured report (SR) with its report picture "
        "and its PDF report. The PDF names the patient only while View → Show patient "
        "identifiers is on; it gives no other patient details.")
    classify(app, [second])  # selected: the first of its batch
    app.run_command("send_result")
    sent_and_said("send the SR, the picture and the PDF")
    objects = queued()
    assert sorted(ds.SOPClassUID for ds in objects[second]) == sorted([SR, SC, PDF])
    assert {ds.StudyInstanceUID for ds in objects[second]} == {study}
    assert len(objects[first]) == 1  # nothing added to what was sent before

    view.auto_send.invoke()  # each DICOM result as it is classified, in Portuguese now
    app.set_language("pt_BR")
    classify(app, [third])
    wait_for(app, lambda: len(queued().get(third, [])) == 3, "queue all three as classified",
             120)
    wait_for(app, lambda: len(rows(view)) == 7, "list them in the outbox", 60)
    objects = queued()
    assert len(objects[third]) == 3 and {ds.StudyInstanceUID for ds in objects[third]} == {study}
    [pdf] = [ds for ds in objects[third] if ds.SOPClassUID == PDF]
    assert pdf.DocumentTitle == "Radiografia de tórax: resultado do modelo"
    app.set_language("en")
    app.close()

    again = make_app(load_settings())
    again.run_command("dicom_node")
    assert again.dicom_view.send_picture.on.get() and again.dicom_view.send_pdf.on.get()
    again.close()

    save_settings(Settings(language="en"))
    text = settings_path().read_text().replace('"dicom_send_picture": false',
                                               '"dicom_send_picture": "yes"')
    settings_path().write_text(text.replace('"dicom_send_pdf": false', '"dicom_send_pdf": [1]'))
    hostile = make_app(load_settings())
    hostile.run_command("dicom_node")
    assert not hostile.dicom_view.send_picture.on.get()
    assert not hostile.dicom_view.send_pdf.on.get()
