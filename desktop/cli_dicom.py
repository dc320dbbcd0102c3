"""``python -m desktop dicom …``: the laptop as a DICOM node, for scripts (issue 33).

- ``dicom send --to AET@HOST:PORT [--calling-aet AET] [--tls-ca FILE [--tls-cert FILE
  --tls-key FILE]] [--picture] [--pdf] FILES...``: classify the files (as ``predict``, recorded
  in the case history), write an SR for each DICOM image into the outbox (with ``--picture`` the
  report picture as a Secondary Capture, with ``--pdf`` the image's PDF report as an
  Encapsulated PDF, beside it), and send what is due. What the archive cannot take now waits in
  the outbox (said on stderr; the exit status is still 0: nothing is lost). Plain images have no
  Study: said, nothing sent.
- ``dicom outbox [list|retry|purge-sent]``: what waits, was sent or was refused; send everything
  not sent now; forget what the archive confirmed.
- ``dicom echo [--to AET@HOST:PORT] [--tls-…]``: "Test connection" (the saved archive and its
  TLS files without ``--to``).
- ``dicom listen --port N --aet AET --allow AET[,AET] --store DIR``: the Storage SCP (see
  ``desktop.network.listener``), until Ctrl+C.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from desktop.cli_send import (
    EXIT_OK,
    PDF_HELP,
    PICTURE_HELP,
    ResultSender,
    add_tls_arguments,
    aet_type,
    archive_chosen,
    destination_type,
    say_delivery,
)
from desktop.errors import N_, UserError
from desktop.i18n import LANGUAGES, gettext, set_language, system_language
from desktop.network.destination import DEFAULT_CALLING_AET, Destination

EXIT_FAILED = 1
EMPTY = N_("The outbox is empty.")
PURGED = N_("{count} sent results removed from the outbox.")
LISTENING = N_("Listening as {aet} on port {port}; accepting images from {allowed}; "
               "storing them in {folder}. Press Ctrl+C to stop.")


def aets_type(text: str) -> list[str]:
    return [aet_type(part.strip()) for part in text.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    from desktop.modelfile import default_model_path

    parser = argparse.ArgumentParser(
        prog="python -m desktop dicom",
        description="Send results to a DICOM archive and receive images from modalities. "
        "Research and teaching tool. Not for clinical diagnosis.")
    parser.add_argument("--outbox", type=Path, metavar="PATH",
                        help="the outbox database (default: the user's, beside the history)")
    commands = parser.add_subparsers(dest="command", required=True)
    send = commands.add_parser("send", help="classify files, write an SR for each DICOM "
                               "image and send it")
    send.add_argument("files", nargs="+", metavar="FILE_OR_FOLDER")
    send.add_argument("--to", type=destination_type, metavar="AET@HOST:PORT",
                      help="the archive: its AE title, host and port (default: the one saved "
                      "in the window, Cases → DICOM archive and outbox…)")
    send.add_argument("--calling-aet", type=aet_type, default=None, metavar="AET",
                      help=f"this computer's AE title (default: the saved one, else "
                      f"{DEFAULT_CALLING_AET})")
    add_tls_arguments(send)
    send.add_argument("--picture", action="store_true", help=PICTURE_HELP)
    send.add_argument("--pdf", action="store_true", help=PDF_HELP)
    send.add_argument("--model", type=Path, default=default_model_path(), metavar="PATH")
    send.add_argument("--profile", type=Path, metavar="FILE")
    send.add_argument("--no-profile", action="store_true")
    send.add_argument("--no-history", action="store_true")
    send.add_argument("--history", type=Path, metavar="PATH")
    outbox = commands.add_parser("outbox", help="the results waiting, sent or refused")
    outbox.add_argument("action", nargs="?", choices=["list", "retry", "purge-sent"],
                        default="list")
    test = commands.add_parser("echo", help="test the connection to an archive (C-ECHO)")
    test.add_argument("--to", type=destination_type, metavar="AET@HOST:PORT",
                      help="the archive (default: the one saved in the window)")
    test.add_argument("--calling-aet", type=aet_type, default=None, metavar="AET",
                      help=f"this computer's AE title (default: the saved one, else "
                      f"{DEFAULT_CALLING_AET})")
    add_tls_arguments(test)
    listen = commands.add_parser("listen", help="receive images (Storage SCP) and classify "
                                 "them; off unless started")
    listen.add_argument("--port", type=int, required=True, metavar="N")
    listen.add_argument("--aet", type=aet_type, default=DEFAULT_CALLING_AET, metavar="AET")
    listen.add_argument("--allow", type=aets_type, required=True, metavar="AET[,AET]",
                        help="the calling AE titles accepted; every other is rejected")
    listen.add_argument("--store", type=Path, required=True, metavar="DIR",
                        help="the folder each received image is written into")
    listen.add_argument("--bind", default="127.0.0.1", metavar="ADDRESS",
                        help="the address to listen on (default: %(default)s, this computer "
                        "only; 0.0.0.0 for the clinic's network)")
    listen.add_argument("--model", type=Path, default=default_model_path(), metavar="PATH")
    listen.add_argument("--history", type=Path, metavar="PATH")
    for sub in (send, outbox, test, listen):
        sub.add_argument("--lang", choices=sorted(LANGUAGES), default=None,
                         help="language of the messages (default: the system's)")
    return parser


def main(argv: Sequence[str]) -> int:
    from desktop.logs import native_stderr_to_log, setup_logging

    args = build_parser().parse_args(argv)
    setup_logging()
    set_language(args.lang or system_language())
    if args.command == "listen" and not 1024 <= args.port <= 65535:
        _err("--port: choose a port from 1024 to 65535.")
        return 2
    with native_stderr_to_log():
        return {"send": _send, "outbox": _outbox, "echo": _echo,
                "listen": _listen}[args.command](args)


def _open_outbox(args):
    from desktop.network.outbox import Outbox

    return Outbox(args.outbox)


def _send(args: argparse.Namespace) -> int:
    from desktop.cases.recorder import Recorder, classified_rows
    from desktop.cli import engine_and_session, text_line
    from desktop.reading.files import scan

    if not archive_chosen(args):
        return 2
    found = scan(args.files)
    if not found.files:
        from desktop.cli import NO_FILES

        _err(gettext(NO_FILES))
        return EXIT_FAILED
    loaded = engine_and_session(args)
    if loaded is None:
        return EXIT_FAILED
    engine, session = loaded
    recorder = None if args.no_history else Recorder(
        args.history, notify=lambda sentence: _err(sentence.user_message()))
    with ResultSender(args, engine, session) as sending:
        for row, result in classified_rows(engine, found.files, session, recorder,
                                           model_version=engine.metadata.get("model_version"),
                                           origin="dicom-send"):
            print(text_line(session, result), flush=True)
            sending.take(row, result)
    return EXIT_OK


def _outbox(args: argparse.Namespace) -> int:
    from desktop.network.sender import deliver

    with _open_outbox(args) as outbox:
        if args.action == "purge-sent":
            _err(gettext(PURGED).format(count=outbox.purge_sent()))
        elif args.action == "retry":
            outbox.retry_now()
            for where in sorted({item.destination for item in outbox.due()}):
                say_delivery(deliver(outbox, only={item.sop_uid for item in outbox.due()
                                                    if item.destination == where}), where)
        items = outbox.items()
        if not items:
            _err(gettext(EMPTY))
        for item in items:
            print("\t".join([item.state, item.destination, item.sop_uid, item.source,
                             str(item.attempts), item.reason_text()]))
    return EXIT_OK


def _echo(args: argparse.Namespace) -> int:
    from desktop.network.sender import echo

    if not archive_chosen(args):
        return 2
    answered, sentence = echo(Destination.parse(args.to, args.calling_aet, args.tls))
    _err(sentence.user_message())
    return EXIT_OK if answered else EXIT_FAILED


def _listen(args: argparse.Namespace) -> int:
    import signal

    from desktop.cli import text_line
    from desktop.network.listener import Listener

    signal.signal(signal.SIGTERM, _interrupted)
    try:
        listener = Listener.start(args.model, aet=args.aet, allowed=args.allow,
                                  folder=args.store, port=args.port, bind=args.bind,
                                  history=args.history,
                                  report=lambda session, result: print(
                                      text_line(session, result), flush=True),
                                  notify=lambda sentence: _err(sentence.user_message()))
    except UserError as exc:
        _err(exc.user_message())
        return EXIT_FAILED
    _err(gettext(LISTENING).format(aet=args.aet, port=args.port, allowed=", ".join(args.allow),
                                   folder=args.store.resolve()))
    try:
        listener.wait()
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()
    return EXIT_OK


def _interrupted(signum, frame) -> None:
    raise KeyboardInterrupt


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
