"""Network scenarios run inside a private network namespace (see ``tests.support.orthanc``).

``python -m tests.support.dicom_scenarios NAME FOLDER PARAMS_JSON``: brings up loopback, runs
the scenario against a real Orthanc on 127.0.0.1, prints one JSON line with what it saw.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.support.orthanc import LOOPBACK, Orthanc, bring_up_loopback

ARCHIVE = f"ARCHIVE@{LOOPBACK}:4242"


def source_image(folder: Path) -> Path:
    from tests.support.fuzz_corpus import dicom_bytes
    from tests.support.model_fixtures import xray_like

    path = folder / "source.dcm"
    path.write_bytes(dicom_bytes(xray_like(0, (128, 128)), extra={
        "StudyInstanceUID": "1.2.826.0.1.3680043.8.498.10", "PatientID": "P-1",
        "SeriesInstanceUID": "1.2.826.0.1.3680043.8.498.11", "Modality": "CR"}))
    return path


def some_srs(folder: Path, count: int) -> list:
    """``count`` SRs about one image (each its own SOP Instance UID)."""
    from desktop.reports.dicom_sr import structured_report
    from tests.support.report_fixtures import CARD, SHA, classified, session

    s = session()
    result = classified(s, source_image(folder), 0.7)
    return [structured_report(result, s.row(result), CARD, SHA) for _ in range(count)]


def kill_and_restart(folder: Path, params: dict) -> dict:
    """``count`` SRs queued; Orthanc SIGKILLed after ``kill_after`` are stored, started again,
    then the outbox's next delivery (the back-off's time come)."""
    from desktop.network.outbox import Outbox
    from desktop.network.sender import deliver

    orthanc = Orthanc(folder / "orthanc").start()
    outbox = Outbox(folder / "data" / "outbox.db")
    for sr in some_srs(folder, params["count"]):
        outbox.add(sr, ARCHIVE, "CXRNODE")
    stored = []

    def after_each(item) -> None:
        stored.append(item.sop_uid)
        if len(stored) == params["kill_after"]:
            orthanc.kill()

    first = deliver(outbox, on_stored=after_each)
    pending_after_kill = outbox.counts()
    too_early = deliver(outbox)  # nothing is due before the back-off
    orthanc.start()
    second = deliver(outbox, now=time.time() + 3600)
    answer = {"first_stored": len(first.stored), "first_waiting": len(first.waiting),
              "first_reasons": [str(r) for r in first.reasons],
              "pending_after_kill": pending_after_kill, "too_early": len(too_early.stored),
              "second_stored": len(second.stored), "counts": outbox.counts(),
              "instances": sorted(orthanc.instances()),
              "queued": sorted(item.sop_uid for item in outbox.items()),
              "stores_received": orthanc.stores_received()}
    orthanc.kill()
    return answer


def wrong_ae(folder: Path, params: dict) -> dict:
    """C-ECHO and C-STORE from an AE title the archive does not know, and to a wrong one."""
    from desktop.network.destination import Destination
    from desktop.network.outbox import Outbox
    from desktop.network.sender import deliver, echo

    orthanc = Orthanc(folder / "orthanc").start()
    good = echo(Destination.parse(ARCHIVE, "CXRNODE"))
    stranger = echo(Destination.parse(ARCHIVE, "INTRUDER"))
    wrong_called = echo(Destination.parse(f"NOTARCHIVE@{LOOPBACK}:4242", "CXRNODE"))
    nobody = echo(Destination.parse(f"ARCHIVE@{LOOPBACK}:4243", "CXRNODE"))
    outbox = Outbox(folder / "data" / "outbox.db")
    item = outbox.add(some_srs(folder, 1)[0], ARCHIVE, "INTRUDER")
    delivery = deliver(outbox)
    answer = {"good": [good[0], str(good[1])], "stranger": [stranger[0], str(stranger[1])],
              "wrong_called": [wrong_called[0], str(wrong_called[1])],
              "nobody": [nobody[0], str(nobody[1])],
              "refused": len(delivery.refused), "state": outbox.item(item.sop_uid).state,
              "reason": outbox.item(item.sop_uid).reason, "instances": len(orthanc.instances())}
    orthanc.kill()
    return answer


def command_line(folder: Path, params: dict) -> dict:
    """``python -m desktop dicom send`` with the archive down, then up with ``outbox retry``;
    then the app SIGKILLed while it sends and the outbox delivering what it left."""
    env = dict(os.environ, CXR_DATA_DIR=str(folder / "data"),
               CXR_CONFIG_DIR=str(folder / "config"), CXR_LOG_DIR=str(folder / "logs"))

    def desktop(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "desktop", "dicom", *args], env=env,
                              capture_output=True, text=True, timeout=240)

    orthanc = Orthanc(folder / "orthanc")
    down = desktop("send", "--to", ARCHIVE, "--model", params["model"], "--lang", "en",
                   *params["files"])
    listed = desktop("outbox", "list")
    orthanc.start()
    retried = desktop("outbox", "retry")
    again = desktop("outbox", "list")
    answer = {"down": [down.returncode, down.stdout, down.stderr],
              "listed": listed.stdout, "retry": [retried.returncode, retried.stdout,
                                                 retried.stderr],
              "after": again.stdout, "instances": len(orthanc.instances()),
              "modalities": sorted({orthanc.rest(f"/instances/{i}/simplified-tags")
                                    .get("Modality") for i in orthanc.rest("/instances")})}
    orthanc.kill()
    return answer


def desktop_command(env: dict, *args: str) -> list:
    """``python -m desktop ARGS`` in ``env``: [exit status, stdout, stderr] (JSON-friendly, the
    scenario's answer crosses the private network's process boundary)."""
    run = subprocess.run([sys.executable, "-m", "desktop", *args], env=env,
                         capture_output=True, text=True, timeout=240)
    return [run.returncode, run.stdout, run.stderr]


def predict_send(folder: Path, params: dict) -> dict:
    """``python -m desktop predict --send`` with the archive down (the SRs wait in the outbox),
    then up with ``--picture`` (SR and Secondary Capture sent at once), then ``dicom outbox
    retry`` delivering what waited."""
    env = dict(os.environ, CXR_DATA_DIR=str(folder / "data"),
               CXR_CONFIG_DIR=str(folder / "config"), CXR_LOG_DIR=str(folder / "logs"))

    desktop = functools.partial(desktop_command, env)

    predict = ["predict", "--send", "--to", ARCHIVE, "--model", params["model"], "--lang", "en"]
    orthanc = Orthanc(folder / "orthanc")
    down = desktop(*predict, *params["files"])
    listed = desktop("dicom", "outbox", "list")
    orthanc.start()
    up = desktop(*predict, "--json", "--picture", *params["files"])
    retried = desktop("dicom", "outbox", "retry")
    instances = orthanc.rest("/instances")
    answer = {"down": down, "listed": listed[1], "up": up, "retry": retried,
              "studies": sorted(orthanc.rest(f"/instances/{i}/simplified-tags")
                                .get("StudyInstanceUID") for i in instances),
              "classes": sorted(orthanc.rest(f"/instances/{i}/simplified-tags")
                                .get("SOPClassUID") for i in instances)}
    orthanc.kill()
    return answer


def round_trip(folder: Path, params: dict) -> dict:
    """``python -m desktop predict --send --picture --pdf`` to a running Orthanc: every object
    the outbox kept (SR, Secondary Capture, Encapsulated PDF), and each fetched back over
    Orthanc's REST API (``/instances/{id}/file``) into ``folder/fetched``, to be compared."""
    from desktop.network.outbox import Outbox

    env = dict(os.environ, CXR_DATA_DIR=str(folder / "data"),
               CXR_CONFIG_DIR=str(folder / "config"), CXR_LOG_DIR=str(folder / "logs"))
    orthanc = Orthanc(folder / "orthanc").start()
    run = subprocess.run([sys.executable, "-m", "desktop", "predict", "--send", "--to", ARCHIVE,
                          "--picture", "--pdf", "--model", params["model"], "--lang", "es",
                          *params["files"]], env=env, capture_output=True, text=True,
                         timeout=240)
    fetched = folder / "fetched"
    fetched.mkdir()
    ids = orthanc.ids_by_sop_uid()
    for uid, instance in ids.items():
        (fetched / f"{uid}.dcm").write_bytes(orthanc.file(instance))
    with Outbox(folder / "data" / "outbox.db") as outbox:
        sent = [{"uid": item.sop_uid, "class": item.sop_class, "state": item.state,
                 "file": str(item.file)} for item in outbox.items()]
    orthanc.kill()
    return {"run": [run.returncode, run.stdout, run.stderr], "sent": sent,
            "stored": sorted(ids), "fetched": str(fetched)}


def window_sends(folder: Path, params: dict) -> dict:
    """The window open (under a private Xvfb) with 3 results in the outbox and the archive
    down: its sending thread tries, waits its back-off, and once the archive is up the outbox
    drains with nobody touching anything; then Cases → Send all DICOM results and Send this
    result (a PNG) from the menu. The back-off starts at 0.5 s here instead of 30 s: the
    schedule is the app's, only its unit is shortened."""
    os.environ.update(CXR_DATA_DIR=str(folder / "data"), CXR_CONFIG_DIR=str(folder / "config"),
                      CXR_LOG_DIR=str(folder / "logs"))
    from desktop import i18n
    from desktop.network import outbox as outbox_module
    from desktop.network.outbox import Outbox
    from desktop.settings import Settings
    from desktop.ui.app import App
    from desktop.ui.style import make_root
    from tests.support.gui_support import virtual_display

    outbox_module.FIRST_DELAY_S = 0.5
    orthanc = Orthanc(folder / "orthanc")
    with Outbox() as outbox:
        queued = sorted(outbox.add(sr, ARCHIVE, "CXRNODE").sop_uid
                        for sr in some_srs(folder, 3))

    def outbox_now() -> list:
        with Outbox() as outbox:
            return outbox.items()

    answer: dict = {"queued": queued}
    with virtual_display():
        i18n.set_language("en")
        root, dnd = make_root()
        app = App(root, Settings(language="en", dicom_archive=ARCHIVE),
                  model_path=Path(params["model"]), dnd=dnd)

        def pump_until(condition, what: str, timeout_s: float = 90) -> None:
            deadline = time.monotonic() + timeout_s
            while not condition():
                if time.monotonic() > deadline:
                    raise AssertionError(f"the window never got to: {what}; status "
                                         f"{app.state.status()!r}, outbox "
                                         f"{[(i.state, i.attempts) for i in outbox_now()]}")
                root.update()
                time.sleep(0.02)
            root.update()

        try:
            pump_until(lambda: all(i.attempts >= 2 for i in outbox_now()),
                       "try twice while the archive is down")
            answer["while_down"] = [(i.state, i.reason) for i in outbox_now()]
            orthanc.start()
            pump_until(lambda: all(i.state == "sent" for i in outbox_now()), "drain the outbox")
            pump_until(lambda: "Results sent" in app.state.status(), "say what was sent")
            answer["drained_status"] = app.state.status()
            app.open_paths(params["files"])
            pump_until(lambda: len(app.session.results) == 2 and not app.state.pending,
                       "classify the files")
            app.run_command("send_all_results")
            answer["sending_status"] = app.state.status()
            pump_until(lambda: len(orthanc.rest("/instances")) == 4, "send the DICOM result")
            pump_until(lambda: "Results sent" in app.state.status(), "say it was sent")
            answer["sent_status"] = app.state.status()
            png = next(k for k, r in app.session.results.items() if r.path.suffix == ".png")
            app.state.select(png)
            app.run_command("send_result")
            pump_until(lambda: "is not a DICOM image" in app.state.status(), "refuse the PNG")
            answer["png_status"] = app.state.status()
            app.show_dicom_node()
            view = app.dicom_view
            pump_until(lambda: len(view.tree.get_children()) == 4, "list the outbox")
            answer["listed"] = [view.tree.item(i, "values")[0] for i in view.tree.get_children()]
            subprocess.run(["import", "-window", "root", str(folder / "window.png")],
                           capture_output=True, timeout=60)
        finally:
            app.close()
    answer.update(instances=len(orthanc.instances()), stores_received=orthanc.stores_received(),
                  counts=Outbox().counts())
    orthanc.kill()
    return answer


def app_killed_mid_send(folder: Path, params: dict) -> dict:
    """``dicom outbox retry`` SIGKILLed once the archive holds a few of ``count`` results; the
    outbox then still holds what was not confirmed, and the next ``retry`` delivers it."""
    import signal

    from desktop.network.outbox import Outbox

    orthanc = Orthanc(folder / "orthanc").start()
    database = folder / "data" / "outbox.db"
    with Outbox(database) as outbox:
        for sr in some_srs(folder, params["count"]):
            outbox.add(sr, ARCHIVE, "CXRNODE")
    command = [sys.executable, "-m", "desktop", "dicom", "--outbox", str(database), "outbox",
               "retry"]
    sending = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(orthanc.rest("/instances")) < params["kill_at"] and time.monotonic() < deadline:
        time.sleep(0.005)
    sending.send_signal(signal.SIGKILL)
    sending.wait(timeout=30)
    with Outbox(database) as outbox:
        after_kill = outbox.counts()
    stored_at_kill = len(orthanc.rest("/instances"))
    again = subprocess.run(command, capture_output=True, text=True, timeout=240)
    with Outbox(database) as outbox:
        answer = {"after_kill": after_kill, "stored_at_kill": stored_at_kill,
                  "retry_code": again.returncode, "counts": outbox.counts(),
                  "instances": sorted(orthanc.instances()),
                  "queued": sorted(item.sop_uid for item in outbox.items()),
                  "stores_received": orthanc.stores_received()}
    orthanc.kill()
    return answer


def tls(folder: Path, params: dict) -> dict:
    """An archive that takes only DICOM TLS and wants a certificate its CA signed: C-ECHO and
    C-STORE with mutual TLS; refused with a stranger's certificate, with none, by a CA file
    that did not sign the archive's, on an address its certificate does not name, without TLS,
    and from an unknown AE title; the outbox keeping the refused result and delivering it once
    the certificate is fixed; then the commands (``dicom echo`` with the saved settings,
    ``dicom send`` and ``predict --send`` with ``--tls-*``)."""
    from desktop.network.destination import Destination
    from desktop.network.outbox import Outbox
    from desktop.network.sender import deliver, echo
    from desktop.network.tls import TlsFiles
    from desktop.settings import Settings, save_settings
    from tests.support.tls_certs import make_certificates

    certs = make_certificates(folder / "certs")
    mutual = TlsFiles(str(certs.ca), str(certs.client_cert), str(certs.client_key))
    stranger = TlsFiles(str(certs.ca), str(certs.stranger_cert), str(certs.stranger_key))
    orthanc = Orthanc(folder / "orthanc", tls=certs).start()

    def said(answer) -> list:
        return [answer[0], str(answer[1])]

    def echo_to(where: str = ARCHIVE, calling: str = "CXRNODE", tls=mutual) -> list:
        return said(echo(Destination.parse(where, calling, tls)))

    answer: dict = {
        "mutual": echo_to(), "by_name": echo_to("ARCHIVE@localhost:4242"),
        "stranger": echo_to(tls=stranger), "no_client": echo_to(tls=TlsFiles(str(certs.ca))),
        "untrusted_archive": echo_to(tls=TlsFiles(str(certs.stranger_ca), str(certs.client_cert),
                                                  str(certs.client_key))),
        "wrong_address": echo_to("ARCHIVE@127.0.0.2:4242"),
        "plain": echo_to(tls=None), "intruder": echo_to(calling="INTRUDER")}
    outbox = Outbox(folder / "data" / "outbox.db")
    good, refused = some_srs(folder, 2)
    good_uid = outbox.add(good, ARCHIVE, "CXRNODE", "good.dcm", mutual).sop_uid
    refused_uid = outbox.add(refused, ARCHIVE, "CXRNODE", "refused.dcm", stranger).sop_uid
    first = deliver(outbox)
    refused_row = outbox.item(refused_uid)
    answer.update(first_stored=first.stored, first_refused=first.refused,
                  refused_state=refused_row.state, refused_reason=refused_row.reason,
                  refused_file_kept=refused_row.file.exists(),
                  instances_after_first=sorted(orthanc.instances()), good_uid=good_uid,
                  refused_uid=refused_uid)
    # the certificate fixed (the window's Save does this), then Retry now
    answer["rerouted"] = outbox.reroute(ARCHIVE, "CXRNODE", mutual)
    outbox.retry_now()
    second = deliver(outbox)
    answer.update(second_stored=second.stored, counts=outbox.counts())
    outbox.close()

    env = dict(os.environ, CXR_DATA_DIR=str(folder / "cli-data"),
               CXR_CONFIG_DIR=str(folder / "config"), CXR_LOG_DIR=str(folder / "logs"))

    desktop = functools.partial(desktop_command, env)

    os.environ["CXR_CONFIG_DIR"] = env["CXR_CONFIG_DIR"]
    save_settings(Settings(dicom_archive=ARCHIVE, dicom_tls_ca=str(certs.ca),
                           dicom_tls_cert=str(certs.client_cert),
                           dicom_tls_key=str(certs.client_key)))
    answer["cli_echo_saved"] = desktop("dicom", "echo", "--lang", "en")
    answer["cli_echo_same"] = desktop("dicom", "echo", "--to", ARCHIVE, "--lang", "en")
    answer["cli_echo_other"] = desktop("dicom", "echo", "--to", "ARCHIVE@localhost:4242",
                                       "--lang", "en")
    before = set(orthanc.instances())
    flags = ["--tls-ca", str(certs.ca), "--tls-cert", str(certs.stranger_cert), "--tls-key",
             str(certs.stranger_key)]
    answer["cli_send_stranger"] = desktop("dicom", "send", "--to", ARCHIVE, *flags, "--model",
                                          params["model"], "--lang", "en", *params["files"])
    answer["cli_listed"] = desktop("dicom", "outbox", "list")[1]
    flags = ["--tls-ca", str(certs.ca), "--tls-cert", str(certs.client_cert), "--tls-key",
             str(certs.client_key)]
    answer["cli_predict"] = desktop("predict", "--send", "--to", ARCHIVE, *flags, "--model",
                                    params["model"], "--lang", "en", *params["files"])
    answer["cli_new_instances"] = len(set(orthanc.instances()) - before)
    answer["instances"] = sorted(orthanc.instances())
    answer["stores_received"] = orthanc.stores_received()
    orthanc.kill()
    return answer


SCENARIOS = {"app_killed_mid_send": app_killed_mid_send, "kill_and_restart": kill_and_restart,
             "wrong_ae": wrong_ae, "command_line": command_line, "predict_send": predict_send,
             "window_sends": window_sends, "tls": tls, "round_trip": round_trip}


def main() -> None:
    name, folder, params = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
    # the sender's own account of each association (rejected how, aborted, connected) on stderr,
    # which in_private_network shows when a test fails
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("desktop.network").addHandler(handler)
    logging.getLogger("desktop.network").setLevel(logging.INFO)
    bring_up_loopback()
    print(json.dumps(SCENARIOS[name](folder, params)), flush=True)


if __name__ == "__main__":
    main()
