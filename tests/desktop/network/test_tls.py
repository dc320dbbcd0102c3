"""DICOM over TLS against a real Orthanc that takes only TLS and wants a client certificate its
CA signed (certificates made by ``openssl`` at test time, ``tests.support.tls_certs``), run in
a private network namespace on loopback (``tests.support.orthanc``); and the TLS files checked
before anything is sent, each wrong one named in one sentence."""

from __future__ import annotations

import sqlite3

import pytest

from desktop.network.outbox import Outbox
from desktop.network.tls import TlsFileError, TlsFiles
from tests.support.dicom_scenarios import some_srs, source_image
from tests.support.orthanc import in_private_network
from tests.support.report_fixtures import write_xray
from tests.support.tls_certs import make_certificates

WHERE = "The secure connection (TLS) to the archive ARCHIVE at 127.0.0.1:4242 failed: "


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.mark.integration
def test_mutual_tls_stores_and_every_refusal_says_it_was_the_secure_connection(
        tmp_path, tiny_model):
    images = tmp_path / "in"
    images.mkdir()
    source_image(images)
    write_xray(images / "plain.png")
    seen = in_private_network("tls", tmp_path, model=str(tiny_model), files=[str(images)])
    certs = tmp_path / "certs"
    assert seen["mutual"] == [True, "The archive ARCHIVE at 127.0.0.1:4242 answered over a "
                              "secure connection (TLS)."]
    assert seen["by_name"][0] is True  # the certificate names localhost too
    assert seen["stranger"] == [False, WHERE + (
        f"the archive does not accept this computer's certificate {certs / 'stranger.crt'}; "
        "ask its administrator to trust the CA that signed it, or use one that its CA signed.")]
    assert seen["no_client"] == [False, WHERE + (
        "the archive asks for this computer's certificate; enter the TLS client certificate "
        "and key it trusts.")]
    assert seen["untrusted_archive"] == [False, WHERE + (
        f"its certificate is not signed by the TLS CA file {certs / 'stranger-ca.crt'}; check "
        "that this is the CA file from the archive's administrator.")]
    assert seen["wrong_address"] == [False, (
        "The secure connection (TLS) to the archive ARCHIVE at 127.0.0.2:4242 failed: its "
        "certificate is not made out for 127.0.0.2; enter the host name its certificate names, "
        "or ask its administrator for a certificate that names 127.0.0.2.")]
    # without TLS the archive hangs up: it was reached, and the sentence says what may be missing
    assert seen["plain"] == [False, (
        "The archive ARCHIVE at 127.0.0.1:4242 closed the connection without answering: if it "
        "takes only secure connections (TLS), enter its CA file (and this computer's "
        "certificate and key); otherwise ask its administrator why.")]
    # over TLS, an unknown AE title is still refused in the sentence it always had
    assert seen["intruder"] == [False, (
        "The archive ARCHIVE at 127.0.0.1:4242 refused this computer's AE title INTRUDER: ask "
        "its administrator to add INTRUDER to its known modalities.")]

    # the outbox: the result sent with mutual TLS is in the archive; the one with the
    # stranger's certificate is refused for good, kept with its file and the reason ...
    assert seen["first_stored"] == [seen["good_uid"]]
    assert seen["first_refused"] == [seen["refused_uid"]]
    assert seen["refused_state"] == "failed" and seen["refused_file_kept"]
    assert seen["refused_reason"] == seen["stranger"][1]
    assert seen["instances_after_first"] == [seen["good_uid"]]
    # ... and delivered once the certificate is fixed and it is retried
    assert seen["rerouted"] == 1 and seen["second_stored"] == [seen["refused_uid"]]
    assert seen["counts"] == {"pending": 0, "sent": 2, "failed": 0}

    # the commands: echo with the saved archive and its TLS files, named or not; --to another
    # archive without --tls-* is a plain connection
    for run in (seen["cli_echo_saved"], seen["cli_echo_same"]):
        assert (run[0], run[2].strip()) == (0, seen["mutual"][1])
    code, _, err = seen["cli_echo_other"]
    assert code == 1 and err.startswith("The archive ARCHIVE at localhost:4242 closed the "
                                        "connection without answering: if it takes only secure")
    code, out, err = seen["cli_send_stranger"]
    assert code == 0 and len(out.splitlines()) == 2  # classified; nothing lost
    assert seen["stranger"][1] in err
    assert "Results refused by the archive, not sent again: 1." in err
    assert seen["cli_listed"].startswith("failed\tARCHIVE@127.0.0.1:4242\t")
    code, out, err = seen["cli_predict"]
    assert code == 0 and "Results sent to ARCHIVE@127.0.0.1:4242: 1." in err
    assert seen["cli_new_instances"] == 1  # predict --send's SR; nothing of the refused send
    assert len(seen["instances"]) == 3
    assert sorted(seen["stores_received"]) == seen["instances"]  # each stored once


def test_each_wrong_tls_file_is_named_in_one_sentence_before_anything_is_sent(certs, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a certificate")
    missing = tmp_path / "gone.pem"

    def refusal(*files) -> str:
        with pytest.raises(TlsFileError) as refused:
            TlsFiles(*map(str, files)).context()
        return str(refused.value)

    assert refusal(missing) == (f"The TLS CA file {missing} cannot be read: check that it is "
                                "there and choose it again.")
    assert refusal(text) == (
        f"The TLS CA file {text} holds no certificate in PEM form: choose the CA certificate "
        "(a .pem or .crt file) from the archive's administrator.")
    assert refusal(certs.ca, missing, certs.client_key) == (
        f"The TLS client certificate {missing} cannot be read: check that it is there and "
        "choose it again.")
    assert refusal(certs.ca, certs.client_cert, missing) == (
        f"The TLS client key {missing} cannot be read: check that it is there and choose it "
        "again.")
    assert refusal(certs.ca, certs.client_cert, certs.stranger_key) == (
        f"The TLS client certificate {certs.client_cert} and key {certs.stranger_key} do not "
        "load together: choose the certificate in PEM form and the private key that belongs "
        "to it.")
    # never a passphrase prompt on a terminal nobody watches: refused, and said why
    assert refusal(certs.ca, certs.client_cert, certs.encrypted_key) == (
        f"The TLS client key {certs.encrypted_key} is protected by a passphrase, which the app "
        "cannot ask for: save the key without one (for example with 'openssl pkey').")
    assert TlsFiles(str(certs.ca), str(certs.client_cert), str(certs.client_key)).context()
    with pytest.raises(TlsFileError, match="give both, or neither"):
        TlsFiles.from_fields(str(certs.ca), str(certs.client_cert), " ")
    with pytest.raises(TlsFileError, match="only with a TLS CA file"):
        TlsFiles.from_fields("", str(certs.client_cert), str(certs.client_key))
    assert TlsFiles.from_fields(" ", "", None) is None


def test_a_missing_tls_file_fails_the_row_with_its_sentence_and_keeps_it(tmp_path):
    from desktop.network.sender import deliver

    gone = tmp_path / "moved-away.pem"
    with Outbox(tmp_path / "outbox.db") as outbox:
        uid = outbox.add(some_srs(tmp_path, 1)[0], "ARCHIVE@127.0.0.1:9", "CXRNODE",
                         tls=TlsFiles(str(gone))).sop_uid
        done = deliver(outbox)
        row = outbox.item(uid)
    assert done.refused == [uid] and row.state == "failed" and row.file.exists()
    assert row.reason == (f"The TLS CA file {gone} cannot be read: check that it is there and "
                          "choose it again.")


def test_an_outbox_written_before_tls_opens_and_its_rows_go_without_tls(tmp_path):
    database = tmp_path / "outbox.db"
    old = sqlite3.connect(database)
    old.executescript("""
        CREATE TABLE outbox (sop_uid TEXT PRIMARY KEY, sop_class TEXT NOT NULL,
            file TEXT NOT NULL, destination TEXT NOT NULL, calling_aet TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '', state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL DEFAULT 0,
            reason TEXT NOT NULL DEFAULT '', reason_msgid TEXT NOT NULL DEFAULT '',
            reason_params TEXT NOT NULL DEFAULT '{}', created TEXT NOT NULL, sent TEXT);
        INSERT INTO outbox (sop_uid, sop_class, file, destination, calling_aet, created)
            VALUES ('1.2.3', '1.2.840.10008.5.1.4.1.1.88.34', '/x.dcm', 'ARCHIVE@host:104',
                    'CXRNODE', '2026-12-01 10:00:00');""")
    old.commit()
    old.close()
    with Outbox(database) as outbox, Outbox(database) as second:  # opened twice: no clash
        [item] = outbox.items()
        assert second.item("1.2.3") == item
    target = item.target()
    assert (str(target), target.calling_aet, target.tls) == ("ARCHIVE@host:104", "CXRNODE",
                                                             None)
