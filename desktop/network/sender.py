"""Talking to the archive: C-ECHO ("Test connection") and C-STORE of the outbox's rows.

Every outcome is sorted into one of three, as IHE and the archives' own retry rules do:
- **stored**: status Success (0000) or a Warning (B000, B006, B007: the archive kept it, with a
  remark);
- **try again later**: the archive could not be reached, the association was aborted or
  refused for now (transient rejection), or it is out of resources (A7xx); the row stays
  pending and the next try waits 30 s, then twice as long each time, at most an hour;
- **refused for good**: a permanent rejection of the association (an unknown AE title), the
  object's kind not accepted, a secure connection (TLS) refused over a certificate (ours or the
  archive's), a TLS file that does not load, or any other failure status; the row is
  ``failed`` with the reason, one sentence that says what to do.

With TLS (``Destination.tls``) the association runs over it (pynetdicom's ``tls_args``, the
host name checked against the archive's certificate); a handshake that fails is said as such
(``desktop.network.tls.handshake_sentence``), never as an archive that "could not be reached".
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from desktop.errors import N_, Sentence
from desktop.network.destination import Destination
from desktop.network.outbox import Item, Outbox
from desktop.network.tls import TlsFileError, handshake_sentence

log = logging.getLogger(__name__)

TIMEOUT_S = 15.0
STORED, RETRY, REFUSED = "stored", "retry", "refused"
WARNINGS = (0xB000, 0xB006, 0xB007)

UNREACHABLE = N_("The archive {aet} at {host}:{port} could not be reached: check the host and "
                 "port and that the archive is running.")
CALLING_REFUSED = N_("The archive {aet} at {host}:{port} refused this computer's AE title "
                     "{calling}: ask its administrator to add {calling} to its known "
                     "modalities.")
CALLED_REFUSED = N_("The archive at {host}:{port} does not answer to the AE title {aet}: check "
                    "the archive's AE title.")
REFUSED_FOR_GOOD = N_("The archive {aet} at {host}:{port} refused the connection: ask its "
                      "administrator why.")
BUSY = N_("The archive {aet} at {host}:{port} is busy and refused the connection for now.")
ABORTED = N_("The connection to the archive {aet} at {host}:{port} was lost while sending.")
NO_ANSWER_PLAIN = N_("The archive {aet} at {host}:{port} closed the connection without "
                     "answering: if it takes only secure connections (TLS), enter its CA file "
                     "(and this computer's certificate and key); otherwise ask its "
                     "administrator why.")
NO_ANSWER = N_("The archive {aet} at {host}:{port} closed the connection without answering: "
               "ask its administrator why.")
OUT_OF_RESOURCES = N_("The archive {aet} is out of resources (status {status}).")
NOT_ACCEPTED = N_("The archive {aet} does not accept this kind of object ({kind}): ask its "
                  "administrator to accept it.")
STATUS_REFUSED = N_("The archive {aet} refused the object (status {status}).")
ECHO_OK = N_("The archive {aet} at {host}:{port} answered.")
ECHO_OK_TLS = N_("The archive {aet} at {host}:{port} answered over a secure connection (TLS).")
SENT_COUNT = N_("Results sent to {archive}: {count}.")
REFUSED_COUNT = N_("Results refused by the archive, not sent again: {count}.")
NO_STUDIES = N_("{count} files are not DICOM images: they belong to no study, so no DICOM result "
                "is written for them. Send DICOM images from the X-ray machine or the "
                "archive.")
FILE_GONE = N_("The file waiting in the outbox is gone or damaged: {file}.")
ROW_DAMAGED = N_("The outbox's entry for {source} names no archive the app can use: send the "
                 "result again.")


@dataclass
class Delivery:
    """What one delivery did: rows stored, still waiting (with the last reason), refused."""

    stored: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    reasons: list[Sentence] = field(default_factory=list)

    def note(self, sentence: Sentence) -> None:
        if all(str(sentence) != str(known) for known in self.reasons):
            self.reasons.append(sentence)


def _words(destination: Destination) -> dict:
    return {"aet": destination.aet, "host": destination.host, "port": destination.port,
            "calling": destination.calling_aet}


def _association(destination: Destination, sop_classes) -> tuple[object, Sentence | None, str]:
    """An established association, or (None, why, RETRY|REFUSED)."""
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
    from pynetdicom import AE, evt
    from pynetdicom.sop_class import Verification

    words = _words(destination)
    context = None
    if destination.tls is not None:
        try:  # each association its own context: its failure is its own
            context = destination.tls.context()
        except TlsFileError as exc:
            log.info("No association with %s: %s", destination, exc)
            return None, exc, REFUSED
    ae = AE(ae_title=destination.calling_aet)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT_S
    ae.connection_timeout = TIMEOUT_S
    for sop_class in list(dict.fromkeys(sop_classes))[:127] or [Verification]:
        ae.add_requested_context(sop_class, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    opened: list[bool] = []  # the connection was made (and, with TLS, secured)
    assoc = ae.associate(
        destination.host, destination.port, ae_title=destination.aet,
        tls_args=(context, destination.host) if context is not None else None,
        evt_handlers=[(evt.EVT_CONN_OPEN, lambda event: opened.append(True))])
    if assoc.is_established:
        return assoc, None, STORED
    if assoc.is_rejected:
        answer = assoc.acceptor.primitive
        result, source, diagnostic = answer.result, answer.result_source, answer.diagnostic
        log.info("Association rejected by %s: result %s source %s diagnostic %s",
                 destination, result, source, diagnostic)
        if result == 0x02:  # rejected-transient
            return None, Sentence(BUSY, **words), RETRY
        if source == 0x01 and diagnostic == 0x03:
            return None, Sentence(CALLING_REFUSED, **words), REFUSED
        if source == 0x01 and diagnostic == 0x07:
            return None, Sentence(CALLED_REFUSED, **words), REFUSED
        return None, Sentence(REFUSED_FOR_GOOD, **words), REFUSED
    failure = getattr(context, "failure", None)
    log.info("No association with %s (aborted: %s, connected: %s, TLS error: %s)",
             destination, assoc.is_aborted, bool(opened), failure)
    if failure is not None:
        why, for_good = handshake_sentence(failure, destination.tls, words)
        return None, why, REFUSED if for_good else RETRY
    if opened:  # connected, then dropped before any answer
        return None, Sentence(NO_ANSWER_PLAIN if context is None else NO_ANSWER, **words), RETRY
    return None, Sentence(UNREACHABLE, **words), RETRY


def echo(destination: Destination) -> tuple[bool, Sentence]:
    """"Test connection": a C-ECHO; (answered, one sentence saying so or why not)."""
    from pynetdicom.sop_class import Verification

    assoc, why, _ = _association(destination, [Verification])
    if assoc is None:
        return False, why
    try:
        status = assoc.send_c_echo()
    finally:
        assoc.release()
    if status and status.Status == 0x0000:
        return True, Sentence(ECHO_OK_TLS if destination.tls else ECHO_OK,
                              **_words(destination))
    return False, Sentence(ABORTED, **_words(destination))


def store_status(status, destination: Destination) -> tuple[str, Sentence | None]:
    """A C-STORE response sorted: STORED (with a warning's words), RETRY or REFUSED."""
    words = _words(destination)
    if status is None or "Status" not in status:  # no answer: the association went away
        return RETRY, Sentence(ABORTED, **words)
    code = int(status.Status)
    if code == 0x0000:
        return STORED, None
    if code in WARNINGS:
        return STORED, Sentence(STATUS_REFUSED, aet=destination.aet, status=f"{code:04X}")
    if 0xA700 <= code <= 0xA7FF:
        return RETRY, Sentence(OUT_OF_RESOURCES, aet=destination.aet, status=f"{code:04X}")
    return REFUSED, Sentence(STATUS_REFUSED, aet=destination.aet, status=f"{code:04X}")


def deliver(outbox: Outbox, *, now: float | None = None, only: set[str] | None = None,
            on_stored: Callable[[Item], None] | None = None) -> Delivery:
    """Send every due row (or the due rows in ``only``), one association per archive; each row
    marked as it goes, so a crash loses at most the answer to one C-STORE."""
    done = Delivery()
    groups: dict[Destination, list[Item]] = defaultdict(list)
    for item in outbox.due(now):
        if only is not None and item.sop_uid not in only:
            continue
        try:
            groups[item.target()].append(item)
        except ValueError:  # a row damaged outside the app: said, not sent, not retried
            log.exception("Outbox row %s names no usable archive", item.sop_uid)
            _settle(outbox, [item.sop_uid], REFUSED,
                    Sentence(ROW_DAMAGED, source=item.source or item.sop_uid), done, now)
    for destination, items in groups.items():
        _deliver_group(outbox, destination, items, done, now, on_stored)
    return done


def _deliver_group(outbox: Outbox, destination: Destination, items: list[Item],
                   done: Delivery, now: float | None, on_stored) -> None:
    from pynetdicom.sop_class import uid_to_sop_class

    assoc, why, outcome = _association(destination, [item.sop_class for item in items])
    if assoc is None:
        _settle(outbox, [item.sop_uid for item in items], outcome, why, done, now)
        return
    try:
        for index, item in enumerate(items):
            if not assoc.is_established:  # lost on the way: the rest wait
                _settle(outbox, [i.sop_uid for i in items[index:]], RETRY,
                        Sentence(ABORTED, **_words(destination)), done, now)
                return
            try:
                status = assoc.send_c_store(item.file)
            except (OSError, ValueError, AttributeError) as exc:
                if "presentation context" in str(exc).lower():
                    kind = getattr(uid_to_sop_class(item.sop_class), "name", item.sop_class)
                    why = Sentence(NOT_ACCEPTED, aet=destination.aet, kind=kind)
                else:
                    log.exception("Cannot send %s", item.file)
                    why = Sentence(FILE_GONE, file=str(item.file))
                _settle(outbox, [item.sop_uid], REFUSED, why, done, now)
                continue
            outcome, why = store_status(status, destination)
            if outcome == STORED:
                outbox.mark_sent(item.sop_uid, why)
                done.stored.append(item.sop_uid)
                if on_stored is not None:
                    on_stored(item)
            else:
                _settle(outbox, [item.sop_uid], outcome, why, done, now)
    finally:
        if assoc.is_established:
            assoc.release()


def _settle(outbox: Outbox, uids: list[str], outcome: str, why: Sentence, done: Delivery,
            now: float | None) -> None:
    done.note(why)
    if outcome == RETRY:
        outbox.mark_retry(uids, why, now)
        done.waiting += uids
    else:
        outbox.mark_failed(uids, why)
        done.refused += uids
