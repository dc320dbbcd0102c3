"""Cases → DICOM archive and outbox… in the real window under Xvfb: the archive saved with the
settings, "Test connection" saying why it failed, the outbox listed with its reason, Retry now,
and the window in Spanish."""

import pytest

from desktop.network.outbox import Outbox
from desktop.settings import load_settings
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
