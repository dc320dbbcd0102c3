"""Certificates for the DICOM TLS tests, made at test time with the ``openssl`` command.

``make_certificates(folder)`` writes, in PEM: a test CA; the archive's certificate signed by it
for ``localhost`` and ``127.0.0.1``; a client certificate signed by it (the laptop's); and a
second client certificate signed by another CA the archive does not trust (a stranger's). Each
key is unencrypted except ``encrypted.key`` (passphrase ``secret``), which the app must refuse
in one sentence rather than ask for a passphrase. Nothing here is kept between runs.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

DAYS = "2"
SERVER_EXTENSIONS = ("basicConstraints=critical,CA:FALSE\n"
                     "keyUsage=critical,digitalSignature,keyEncipherment\n"
                     "extendedKeyUsage=serverAuth\n"
                     "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
CLIENT_EXTENSIONS = ("basicConstraints=critical,CA:FALSE\n"
                     "keyUsage=critical,digitalSignature,keyEncipherment\n"
                     "extendedKeyUsage=clientAuth\n")


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA the archive and the laptop both trust
    server_cert: Path
    server_key: Path
    client_cert: Path  # signed by ``ca``
    client_key: Path
    stranger_cert: Path  # signed by ``stranger_ca``, which the archive does not trust
    stranger_key: Path
    stranger_ca: Path
    encrypted_key: Path  # ``client_key`` under the passphrase "secret"


def _openssl(*args: str, cwd: Path) -> None:
    run = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if run.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {run.stderr}")


def _ca(folder: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
             "-out", f"{name}.crt", "-days", DAYS, "-subj", f"/CN=CXR test {name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)


def _signed(folder: Path, name: str, ca: str, subject: str, extensions: str) -> None:
    (folder / f"{name}.ext").write_text(extensions)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
             f"{name}.csr", "-subj", subject, cwd=folder)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-out", f"{name}.crt", "-days", DAYS, "-extfile",
             f"{name}.ext", cwd=folder)


def make_certificates(folder: Path) -> Certificates:
    """A CA, the archive's certificate, a trusted and an untrusted client certificate."""
    if shutil.which("openssl") is None:
        pytest.fail("needs the openssl command (apt-get install openssl)")
    folder.mkdir(parents=True, exist_ok=True)
    _ca(folder, "ca")
    _ca(folder, "stranger-ca")
    _signed(folder, "server", "ca", "/CN=localhost", SERVER_EXTENSIONS)
    _signed(folder, "client", "ca", "/CN=CXRNODE", CLIENT_EXTENSIONS)
    _signed(folder, "stranger", "stranger-ca", "/CN=CXRNODE", CLIENT_EXTENSIONS)
    _openssl("pkey", "-in", "client.key", "-aes256", "-passout", "pass:secret", "-out",
             "encrypted.key", cwd=folder)
    return Certificates(ca=folder / "ca.crt", server_cert=folder / "server.crt",
                        server_key=folder / "server.key", client_cert=folder / "client.crt",
                        client_key=folder / "client.key",
                        stranger_cert=folder / "stranger.crt",
                        stranger_key=folder / "stranger.key",
                        stranger_ca=folder / "stranger-ca.crt",
                        encrypted_key=folder / "encrypted.key")
