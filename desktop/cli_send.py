"""What ``predict --send`` and ``dicom send``/``echo`` share (issue 33): the archive named
(``--to``, else the one saved in the window) and how it is secured (``--tls-ca``, ``--tls-cert``,
``--tls-key``, else the TLS files saved with that archive), each classified DICOM image's SR
(with ``--picture`` its report picture as a Secondary Capture, with ``--pdf`` its one-image PDF
report as an Encapsulated PDF) queued in the outbox as it is classified, the queue sent at the
end, and what happened said on stderr in the user's language. An entry-point module: ``cli`` and
``cli_dicom`` both import it, it imports neither.
"""

from __future__ import annotations

import argparse
import sys

from desktop.errors import N_, UserError
from desktop.i18n import gettext
from desktop.network.destination import DEFAULT_CALLING_AET, Destination, valid_aet
from desktop.network.sender import NO_STUDIES, REFUSED_COUNT, SENT_COUNT
from desktop.network.tls import TlsFileError, TlsFiles
from desktop.safetext import for_terminal

EXIT_OK = 0
PICTURE_HELP = ("also send the report picture (the X-ray with its heatmap burned in) as a DICOM "
                "Secondary Capture beside each SR")
PDF_HELP = ("also send each image's PDF report (the one-image report the window saves, in the "
            "language of the output) as a DICOM Encapsulated PDF beside each SR")
WAITING = N_("Results waiting in the outbox, to be sent again later ('python -m desktop dicom "
             "outbox retry' sends them now): {count}.")
NO_ARCHIVE = N_("No archive is named: give one with --to AET@HOST:PORT, or save it in the "
                "window (Cases → DICOM archive and outbox…).")


def add_tls_arguments(parser: argparse.ArgumentParser, before: str = "") -> None:
    """``--tls-ca``, ``--tls-cert``, ``--tls-key`` (``before``: "with --send: ")."""
    parser.add_argument("--tls-ca", metavar="FILE",
                        help=f"{before}connect over TLS, trusting the archive's certificate if "
                        "this CA file (PEM) signed it (default: the TLS files saved with the "
                        "archive in the window, when the archive is the saved one)")
    parser.add_argument("--tls-cert", metavar="FILE",
                        help=f"{before}this computer's certificate (PEM), for an archive that "
                        "asks for one (mutual TLS); needs --tls-key and --tls-ca")
    parser.add_argument("--tls-key", metavar="FILE",
                        help=f"{before}the private key of --tls-cert (PEM, without a "
                        "passphrase)")


def destination_type(text: str) -> str:
    try:
        Destination.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def aet_type(text: str) -> str:
    if not valid_aet(text):
        raise argparse.ArgumentTypeError(
            f"an AE title is 1 to 16 printable ASCII characters, no backslash: {text!r}")
    return text


class ResultSender:
    """What ``dicom send`` and ``predict --send`` do with each classified result: its SR
    written into the outbox (file and row on disk before any attempt), then, on leaving the
    ``with``, everything queued (and what waits for the same archive and is due) sent in one
    association, and what happened said on stderr. A plain image has no Study to join: said
    once for all of them at the end (one file by name, more by count), nothing sent.

    ``args`` carries ``to``, ``calling_aet`` and ``tls`` (``archive_chosen`` fills them),
    ``picture`` and ``pdf`` (what goes beside each SR), ``show_identifiers`` (the patient's
    name and ID in the PDF: ``predict`` only) and, for ``dicom``, ``outbox`` (the database; the
    user's when absent)."""

    def __init__(self, args: argparse.Namespace, engine, session) -> None:
        from desktop.network.outbox import Outbox

        self.args, self.engine, self.session = args, engine, session
        self.outbox = Outbox(getattr(args, "outbox", None))
        self.queued: set[str] = set()
        self.no_study: list[UserError] = []

    def take(self, row, result) -> None:
        """One result: its SR queued in the outbox; nothing for a result without a verdict
        or probability to report (it could not be read) or a file without a Study."""
        from desktop.network.background import queue_report
        from desktop.reports.dicom_sr import NoStudy

        if not result.ok:
            return
        try:
            self.queued.add(queue_report(
                self.outbox, result, row, self.engine.metadata, self.engine.sha256,
                operating_point=self.session.policy.preset, destination=self.args.to,
                calling_aet=self.args.calling_aet, tls=self.args.tls))
        except NoStudy as exc:
            self.no_study.append(exc)
            return
        self._beside(row, result)

    def _beside(self, row, result) -> None:
        """What goes beside the SR (``desktop.network.background.queue_beside``, as the window
        makes them), each queued as the SR is: with ``--picture`` the report picture (heatmap
        burned in) as a Secondary Capture, with ``--pdf`` the one-image PDF report as an
        Encapsulated PDF. A file that changed or went meanwhile is said in one sentence; its SR
        still goes."""
        from desktop.network.background import Beside, queue_beside

        picture, pdf = getattr(self.args, "picture", False), getattr(self.args, "pdf", False)
        if not (picture or pdf):
            return
        report = None
        if pdf:
            from desktop.reports.dicom_pdf import pdf_content

            report = pdf_content(result, self.session, self.engine.metadata, self.engine.sha256,
                                 show_identifiers=getattr(self.args, "show_identifiers", False))
        beside = Beside(self.engine.explain, picture=picture, report=report)
        try:
            self.queued.update(queue_beside(
                self.outbox, result, row, self.engine.metadata, beside,
                destination=self.args.to, calling_aet=self.args.calling_aet, tls=self.args.tls))
        except UserError as exc:
            _err(exc.user_message())

    def __enter__(self) -> ResultSender:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        from desktop.network.sender import deliver

        try:
            if kind is not None:  # interrupted: what is queued waits in the outbox
                return
            if len(self.no_study) == 1:
                _err(self.no_study[0].user_message())
            elif self.no_study:
                _err(gettext(NO_STUDIES).format(count=len(self.no_study)))
            # what waits for the same archive and is due (its back-off over) goes along
            self.queued |= {item.sop_uid for item in self.outbox.due()
                            if item.destination == self.args.to}
            if self.queued:
                say_delivery(deliver(self.outbox, only=self.queued), self.args.to)
        finally:
            self.outbox.close()


def archive_chosen(args: argparse.Namespace) -> bool:
    """``--to``, ``--calling-aet`` and the ``--tls-*`` files, else what the window saved (the
    saved TLS files go with the saved archive only: ``--to`` naming another archive is a plain
    connection unless ``--tls-ca`` is given); ``args.tls`` set and its files loaded once here.
    False (said why) when no archive is named anywhere or a TLS file is not right."""
    from desktop.settings import load_settings

    saved = load_settings()
    args.calling_aet = args.calling_aet or saved.dicom_calling_aet or DEFAULT_CALLING_AET
    saved_archive = None
    if saved.dicom_archive:
        try:
            saved_archive = str(Destination.parse(saved.dicom_archive))
        except ValueError:
            pass
    if args.to is None:
        args.to = saved_archive
    if args.to is None:
        _err(gettext(NO_ARCHIVE))
        return False
    given = (args.tls_ca, args.tls_cert, args.tls_key)
    try:
        if any(given):
            args.tls = TlsFiles.from_fields(*given)
        elif str(Destination.parse(args.to)) == saved_archive:
            args.tls = TlsFiles.from_fields(saved.dicom_tls_ca, saved.dicom_tls_cert,
                                            saved.dicom_tls_key)
        else:
            args.tls = None
        if args.tls is not None:
            args.tls.context()  # every file named and loaded before anything is classified
    except TlsFileError as exc:
        _err(exc.user_message())
        return False
    return True


def say_delivery(delivery, archive: str) -> None:
    if delivery.stored:
        _err(gettext(SENT_COUNT).format(count=len(delivery.stored), archive=archive))
    for reason in delivery.reasons:
        _err(reason.user_message())
    if delivery.waiting:
        _err(gettext(WAITING).format(count=len(delivery.waiting)))
    if delivery.refused:
        _err(gettext(REFUSED_COUNT).format(count=len(delivery.refused)))



def _err(message: str) -> None:
    print(for_terminal(message), file=sys.stderr, flush=True)
