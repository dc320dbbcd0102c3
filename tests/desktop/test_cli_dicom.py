"""``python -m desktop dicom …`` without a network archive: which archive ``send`` uses, and what
it says when none is named (the archive scenarios are in tests/desktop/network)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.network.outbox import Outbox
from desktop.settings import Settings, save_settings
from tests.support.dicom_scenarios import source_image

ROOT = Path(__file__).resolve().parents[2]


def dicom(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "desktop", "dicom", *args], cwd=ROOT,
                          env=dict(os.environ), capture_output=True, text=True, timeout=240)


def test_send_without_an_archive_named_anywhere_says_how_to_name_one(tmp_path, tiny_model):
    run = dicom("send", "--model", str(tiny_model), "--lang", "en", str(source_image(tmp_path)))
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "No archive is named: give one with --to AET@HOST:PORT, or save it in the window "
        "(Cases → DICOM archive and outbox…).")


@pytest.mark.integration
def test_send_uses_the_archive_and_ae_title_the_window_saved(tmp_path, tiny_model):
    save_settings(Settings(dicom_archive="ARCHIVE@127.0.0.1:9", dicom_calling_aet="CLINIC7"))
    run = dicom("send", "--model", str(tiny_model), "--lang", "en", str(source_image(tmp_path)))
    assert run.returncode == 0, run.stderr  # undeliverable now: it waits, and that is said
    assert "Results waiting in the outbox" in run.stderr
    with Outbox() as outbox:
        [item] = outbox.items()
    assert (item.destination, item.calling_aet, item.state) == (
        "ARCHIVE@127.0.0.1:9", "CLINIC7", "pending")
    listed = dicom("outbox", "list", "--lang", "es")
    assert listed.stdout.startswith("pending\tARCHIVE@127.0.0.1:9\t")
    assert "No se pudo contactar con el archivo ARCHIVE" in listed.stdout
    with Outbox() as outbox:  # its back-off over: the next send to that archive takes it along
        with outbox.connection:
            outbox.connection.execute("UPDATE outbox SET next_attempt = 0")
    other = tmp_path / "other"
    other.mkdir()
    again = dicom("send", "--model", str(tiny_model), "--lang", "en", str(source_image(other)))
    assert again.returncode == 0 and again.stderr.rstrip().endswith(": 2.")
    with Outbox() as outbox:
        assert outbox.item(item.sop_uid).attempts == 2


def test_the_tls_files_saved_with_the_archive_go_with_it_and_a_wrong_one_is_named(
        tmp_path, tiny_model):
    from desktop.network.tls import TlsFiles
    from tests.support.tls_certs import make_certificates

    certs = make_certificates(tmp_path / "certs")
    save_settings(Settings(dicom_archive="ARCHIVE@127.0.0.1:9", dicom_tls_ca=str(certs.ca),
                           dicom_tls_cert=str(certs.client_cert),
                           dicom_tls_key=str(certs.client_key)))
    run = dicom("send", "--model", str(tiny_model), "--lang", "en", str(source_image(tmp_path)))
    assert run.returncode == 0, run.stderr
    assert "could not be reached" in run.stderr  # TCP refused: no handshake to blame
    with Outbox() as outbox:
        [item] = outbox.items()
    assert item.target().tls == TlsFiles(str(certs.ca), str(certs.client_cert),
                                         str(certs.client_key))
    # the key given without its certificate: refused before anything is tried
    run = dicom("echo", "--tls-ca", str(certs.ca), "--tls-key", str(certs.client_key),
                "--lang", "es")
    assert run.returncode == 2
    assert run.stderr.strip() == ("Un certificado de cliente TLS va con su clave privada: "
                                  "indique ambos o ninguno.")
    certs.client_key.unlink()
    run = dicom("echo", "--lang", "en")
    assert run.returncode == 2
    assert run.stderr.strip() == (f"The TLS client key {certs.client_key} cannot be read: check "
                                  "that it is there and choose it again.")


@pytest.mark.usefixtures("english_and_own_logging")
def test_send_takes_pdf_and_picture_each_on_its_own(tmp_path, tiny_model, capsys):
    """``dicom send --pdf`` queues the image's PDF report beside its SR (no picture unless
    ``--picture``); ``--picture --pdf`` all three."""
    from desktop.cli_dicom import main

    database = tmp_path / "outbox.db"
    source = source_image(tmp_path)
    common = ["send", "--to", "ARCHIVE@127.0.0.1:9", "--model", str(tiny_model), "--lang", "en"]
    assert main(["--outbox", str(database), *common, "--pdf", str(source)]) == 0
    with Outbox(database) as outbox:
        assert sorted(item.sop_class for item in outbox.items()) == [
            "1.2.840.10008.5.1.4.1.1.104.1",  # Encapsulated PDF
            "1.2.840.10008.5.1.4.1.1.88.34"]  # Comprehensive 3D SR
    assert main(["--outbox", str(database), *common, "--picture", "--pdf", str(source)]) == 0
    with Outbox(database) as outbox:
        assert sorted(item.sop_class for item in outbox.items()) == [
            "1.2.840.10008.5.1.4.1.1.104.1", "1.2.840.10008.5.1.4.1.1.104.1",
            "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture
            "1.2.840.10008.5.1.4.1.1.88.34", "1.2.840.10008.5.1.4.1.1.88.34"]
    assert "Results waiting in the outbox" in capsys.readouterr().err
