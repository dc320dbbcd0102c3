"""A real Orthanc archive for the network tests, on loopback only.

Orthanc binds its DICOM port on every address, so the tests run it inside a network namespace
of their own (``unshare --net``: only ``lo`` exists there) through ``in_private_network``, which
re-runs ``tests.support.dicom_scenarios`` there and returns the JSON it prints.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"


def in_private_network(scenario: str, folder: Path, timeout_s: float = 300, **params) -> dict:
    """Run ``scenario`` of ``tests.support.dicom_scenarios`` in a new network namespace (its
    loopback brought up); its JSON answer. Fails when Orthanc is not installed (a missing
    dependency is no reason to skip); skips only where namespaces are not permitted."""
    if shutil.which("Orthanc") is None or shutil.which("unshare") is None:
        pytest.fail("needs Orthanc and unshare (apt-get install orthanc util-linux; .ci/run does)")
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip("unshare --net is not permitted here (needs root or user namespaces): "
                    + probe.stderr.decode(errors="replace").strip())
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run(
        ["unshare", "--net", sys.executable, "-m", "tests.support.dicom_scenarios", scenario,
         str(folder), json.dumps(params)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
    if run.returncode != 0:
        raise AssertionError(f"scenario {scenario} failed ({run.returncode}):\n{run.stdout}\n"
                             f"{run.stderr[-6000:]}")
    print(run.stderr[-6000:])  # the scenario's log: pytest shows it when the test then fails
    return json.loads(run.stdout.strip().splitlines()[-1])


def bring_up_loopback() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


# Orthanc's Lua hook, called for each instance received before it is stored
COUNTING = """
function ReceivedInstanceFilter(dicom, origin, info)
  local f = io.open("PATH", "a")
  f:write(dicom.SOPInstanceUID, "\\n")
  f:close()
  return true
end
"""


class Orthanc:
    """One Orthanc process with a temporary configuration; ``start``/``kill`` as often as the
    scenario needs, on the same storage."""

    def __init__(self, folder: Path, *, aet: str = "ARCHIVE", dicom_port: int = 4242,
                 http_port: int = 8042, modalities: dict[str, str] | None = None,
                 tls=None) -> None:
        """``tls``: a ``tests.support.tls_certs.Certificates`` to take only DICOM TLS on the
        DICOM port, with the archive's certificate, trusting the test CA and requiring every
        caller to show a certificate it signed."""
        self.folder, self.aet = folder, aet
        self.dicom_port, self.http_port = dicom_port, http_port
        self.process: subprocess.Popen | None = None
        config = {
            "Name": "test-archive", "DicomAet": aet, "DicomPort": dicom_port,
            "HttpPort": http_port, "StorageDirectory": str(folder / "storage"),
            "IndexDirectory": str(folder / "storage"), "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False, "DicomCheckCalledAet": True,
            "DicomAlwaysAllowEcho": False, "DicomAlwaysAllowStore": False,
            "DicomAlwaysAllowFind": False, "DicomAlwaysAllowMove": False,
            "DicomAlwaysAllowGet": False, "DicomAlwaysAllowFindWorklist": False,
            "DicomCheckModalityHost": False, "OverwriteInstances": True,
            "DicomModalities": {name.lower(): [name, LOOPBACK, 104]
                                for name in (modalities or {"CXRNODE": ""})},
            "Plugins": [], "HttpServerEnabled": True, "StableAge": 1,
            "SaveJobs": False, "ConcurrentJobs": 1, "LuaScripts": [str(folder / "count.lua")],
        }
        if tls is not None:
            config.update({
                "DicomTlsEnabled": True, "DicomTlsCertificate": str(tls.server_cert),
                "DicomTlsPrivateKey": str(tls.server_key),
                "DicomTlsTrustedCertificates": str(tls.ca),
                "DicomTlsRemoteCertificateRequired": True})
        # every C-STORE received (a second store of one instance too), one line each
        self.log_of_stores = folder / "received.txt"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "count.lua").write_text(COUNTING.replace("PATH", str(self.log_of_stores)))
        self.config = folder / "orthanc.json"
        self.config.write_text(json.dumps(config, indent=1))

    def start(self) -> Orthanc:
        log = open(self.folder / "orthanc.log", "ab")  # noqa: SIM115 - kept by the process
        self.process = subprocess.Popen(["Orthanc", str(self.config)], stdout=log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.rest("/system")
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError((self.folder / "orthanc.log").read_text()[-3000:]) from None
                time.sleep(0.1)
        raise RuntimeError("Orthanc did not answer within 60 s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def rest(self, path: str):
        with urllib.request.urlopen(f"http://{LOOPBACK}:{self.http_port}{path}",
                                    timeout=10) as answer:
            return json.loads(answer.read())

    def file(self, instance: str) -> bytes:
        """The DICOM file Orthanc keeps for ``instance`` (its Orthanc id), as its REST API gives
        it (``/instances/{id}/file``)."""
        with urllib.request.urlopen(
                f"http://{LOOPBACK}:{self.http_port}/instances/{instance}/file",
                timeout=30) as answer:
            return answer.read()

    def ids_by_sop_uid(self) -> dict[str, str]:
        """Orthanc's id of each instance stored, by its SOP Instance UID."""
        return {self.rest(f"/instances/{i}")["MainDicomTags"]["SOPInstanceUID"]: i
                for i in self.rest("/instances")}

    def instances(self) -> list[str]:
        """The SOP Instance UIDs stored."""
        return [self.rest(f"/instances/{i}")["MainDicomTags"]["SOPInstanceUID"]
                for i in self.rest("/instances")]

    def stores_received(self) -> list[str]:
        """The SOP Instance UID of every C-STORE received, in order, repeats included."""
        if not self.log_of_stores.exists():
            return []
        return self.log_of_stores.read_text().split()
