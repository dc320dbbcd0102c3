"""DICOM over TLS: the files that secure the connection to the archive, and what a failed
handshake means in one sentence.

TLS is on when a CA file is given: the archive's certificate must be signed by it and made out
for the host we call (its name or IP address). A client certificate with its private key
(mutual TLS) is optional; the archive may require one. Each file is checked by loading it into
an ``ssl.SSLContext`` (PEM; the key unencrypted: the app has no one to ask for a passphrase),
so a wrong file is named in one sentence before anything is sent, and again at each
association (a file may have moved since it was saved).

pynetdicom wraps its socket with the context we hand it (``tls_args``) and only logs a failed
handshake: the association is then merely "aborted", like a dead archive. So the context we give
it makes sockets that keep the first TLS error they meet (``WatchedContext.failure``): during
the handshake (the archive's certificate refused here) or on the first read (TLS 1.3: the
archive refusing ours, which it says after our side has finished). ``handshake_sentence`` sorts
that error into what the person should check.
"""

from __future__ import annotations

import json
import logging
import os
import ssl
from dataclasses import asdict, dataclass
from pathlib import Path

from desktop.errors import N_, Sentence, UserError

log = logging.getLogger(__name__)

# A file given for TLS that is not right: one sentence, naming it and what to do.
UNREADABLE_CA = N_("The TLS CA file {file} cannot be read: check that it is there and choose "
                   "it again.")
UNREADABLE_CERT = N_("The TLS client certificate {file} cannot be read: check that it is there "
                     "and choose it again.")
UNREADABLE_KEY = N_("The TLS client key {file} cannot be read: check that it is there and "
                    "choose it again.")
NOT_CA = N_("The TLS CA file {file} holds no certificate in PEM form: choose the CA certificate "
            "(a .pem or .crt file) from the archive's administrator.")
NOT_PAIR = N_("The TLS client certificate {cert} and key {key} do not load together: choose the "
              "certificate in PEM form and the private key that belongs to it.")
ENCRYPTED_KEY = N_("The TLS client key {file} is protected by a passphrase, which the app "
                   "cannot ask for: save the key without one (for example with 'openssl "
                   "pkey').")
HALF_PAIR = N_("A TLS client certificate goes with its private key: give both, or neither.")
NO_CA = N_("A TLS client certificate is used only with a TLS CA file: give the CA file that "
           "signed the archive's certificate too.")

# A handshake that failed: it was the secure connection, and this is what to check.
SERVER_UNTRUSTED = N_("The secure connection (TLS) to the archive {aet} at {host}:{port} "
                      "failed: its certificate is not signed by the TLS CA file {ca}; check "
                      "that this is the CA file from the archive's administrator.")
SERVER_EXPIRED = N_("The secure connection (TLS) to the archive {aet} at {host}:{port} failed: "
                    "its certificate has expired or is not valid yet; ask its administrator to "
                    "renew it, and check this computer's clock.")
WRONG_HOST = N_("The secure connection (TLS) to the archive {aet} at {host}:{port} failed: its "
                "certificate is not made out for {host}; enter the host name its certificate "
                "names, or ask its administrator for a certificate that names {host}.")
CLIENT_NEEDED = N_("The secure connection (TLS) to the archive {aet} at {host}:{port} failed: "
                   "the archive asks for this computer's certificate; enter the TLS client "
                   "certificate and key it trusts.")
CLIENT_REFUSED = N_("The secure connection (TLS) to the archive {aet} at {host}:{port} failed: "
                    "the archive does not accept this computer's certificate {cert}; ask its "
                    "administrator to trust the CA that signed it, or use one that its CA "
                    "signed.")
TLS_FAILED = N_("The secure connection (TLS) to the archive {aet} at {host}:{port} failed: "
                "check that the archive takes DICOM over TLS on this port, and the CA file, "
                "certificate and key entered for it.")

# OpenSSL's X509_V_ERR_* codes the person can act on differently
_EXPIRED_CODES = {9, 10}  # not yet valid, expired
_WRONG_HOST_CODES = {62, 64}  # host name or IP address mismatch
# the alerts an archive sends when it wants a client certificate and got none
_NEEDED_ALERTS = {"TLSV13_ALERT_CERTIFICATE_REQUIRED", "SSLV3_ALERT_HANDSHAKE_FAILURE",
                  "SSLV3_ALERT_BAD_CERTIFICATE"}
# ... and those it sends when it does not accept the one it got
_REFUSED_ALERTS = {"TLSV1_ALERT_UNKNOWN_CA", "SSLV3_ALERT_BAD_CERTIFICATE",
                   "SSLV3_ALERT_CERTIFICATE_UNKNOWN", "SSLV3_ALERT_CERTIFICATE_EXPIRED",
                   "SSLV3_ALERT_CERTIFICATE_REVOKED", "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
                   "TLSV1_ALERT_ACCESS_DENIED", "TLSV13_ALERT_CERTIFICATE_REQUIRED",
                   "SSLV3_ALERT_HANDSHAKE_FAILURE"}


class TlsFileError(UserError):
    """A TLS file missing, unreadable or not what it should be; the sentence names it."""


class _WatchedSocket(ssl.SSLSocket):
    """An ``SSLSocket`` that leaves the first TLS error it meets on its context."""

    def do_handshake(self, *args, **kwargs):
        try:
            return super().do_handshake(*args, **kwargs)
        except OSError as exc:  # an SSLError, or the archive closing on a TLS hello
            _note(self.context, exc)
            raise

    def read(self, *args, **kwargs):
        try:
            return super().read(*args, **kwargs)
        except (ssl.SSLZeroReturnError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            raise
        except ssl.SSLError as exc:  # an alert after our side finished (TLS 1.3)
            _note(self.context, exc)
            raise


def _note(context, exc: OSError) -> None:
    if isinstance(context, WatchedContext) and context.failure is None:
        context.failure = exc


class WatchedContext(ssl.SSLContext):
    """A client context whose sockets keep the first TLS error in ``failure``; one per
    association, so two associations at once never mix their errors."""

    sslsocket_class = _WatchedSocket
    failure: OSError | None = None


@dataclass(frozen=True)
class TlsFiles:
    """The CA file that signed the archive's certificate, and optionally this computer's
    certificate and private key (PEM paths, as the person chose them)."""

    ca: str
    cert: str | None = None
    key: str | None = None

    @classmethod
    def from_fields(cls, ca: str | None, cert: str | None = None,
                    key: str | None = None) -> TlsFiles | None:
        """The files as entered (blank: not given); None when none is; ``TlsFileError`` for
        a certificate without its key (or the other way) or without a CA file."""
        ca, cert, key = (str(v).strip() if v is not None else "" for v in (ca, cert, key))
        if not (ca or cert or key):
            return None
        if bool(cert) != bool(key):
            raise TlsFileError(HALF_PAIR)
        if not ca:
            raise TlsFileError(NO_CA)
        return cls(*(_absolute(v) if v else None for v in (ca, cert, key)))

    def to_text(self) -> str:
        """As kept in an outbox row (JSON)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_text(cls, text: str) -> TlsFiles | None:
        """An outbox row's ``tls`` read back: '' is none (rows written before TLS); ValueError
        when it is not what ``to_text`` writes."""
        if not text:
            return None
        raw = json.loads(text)
        if not isinstance(raw, dict) or not isinstance(raw.get("ca"), str) or not all(
                isinstance(raw.get(k), (str, type(None))) for k in ("cert", "key")):
            raise ValueError(f"not a TLS setting: {text[:80]!r}")
        return cls(raw["ca"], raw.get("cert"), raw.get("key"))

    def context(self) -> WatchedContext:
        """A client context: TLS 1.2 or later, the archive's certificate checked against the
        CA file and its host name, our certificate shown when given; ``TlsFileError`` naming
        the file that does not load."""
        context = WatchedContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the peer and its name
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        _readable(self.ca, UNREADABLE_CA)
        try:
            context.load_verify_locations(cafile=self.ca)
        except (ssl.SSLError, ValueError, UnicodeError) as exc:
            log.info("TLS CA file %s does not load: %s", self.ca, exc)
            raise TlsFileError(NOT_CA, file=self.ca) from exc
        except OSError as exc:
            raise TlsFileError(UNREADABLE_CA, file=self.ca) from exc
        if self.cert and self.key:
            _readable(self.cert, UNREADABLE_CERT)
            _readable(self.key, UNREADABLE_KEY)
            if _encrypted(self.key):
                raise TlsFileError(ENCRYPTED_KEY, file=self.key)
            try:  # a passphrase asked for would wait on a terminal: refuse it instead
                context.load_cert_chain(self.cert, self.key, password=_no_passphrase)
            except (ssl.SSLError, ValueError, UnicodeError) as exc:
                log.info("TLS certificate %s and key %s do not load: %s", self.cert, self.key,
                         exc)
                raise TlsFileError(NOT_PAIR, cert=self.cert, key=self.key) from exc
            except OSError as exc:
                raise TlsFileError(NOT_PAIR, cert=self.cert, key=self.key) from exc
        return context


def _absolute(path: str) -> str:
    """A path as it will still mean the same file when the outbox retries from another folder
    (``~`` expanded); not resolved further, so a link keeps following what it points to."""
    return os.path.abspath(os.path.expanduser(path))


def _no_passphrase() -> bytes:
    raise ValueError("the key needs a passphrase")


def _readable(path: str, msgid: str) -> None:
    try:
        with open(path, "rb") as file:
            file.read(1)
    except OSError as exc:  # missing, a folder, no permission
        log.info("TLS file %s: %s", path, exc)
        raise TlsFileError(msgid, file=path) from exc


def _encrypted(path: str) -> bool:
    """A PEM key under a passphrase (PKCS#8 or the old OpenSSL header)."""
    try:
        head = Path(path).read_bytes()[:4096]
    except OSError:
        return False
    return b"ENCRYPTED PRIVATE KEY" in head or b"Proc-Type: 4,ENCRYPTED" in head


def handshake_sentence(failure: OSError, tls: TlsFiles, words: dict) -> tuple[Sentence, bool]:
    """What a failed TLS handshake means, and whether it is for good (a certificate someone
    has to change) rather than worth trying again later (the connection cut mid-way).
    ``words``: the sentence's ``aet``, ``host``, ``port``."""
    if isinstance(failure, ssl.SSLCertVerificationError):
        code = failure.verify_code
        if code in _WRONG_HOST_CODES:
            return Sentence(WRONG_HOST, **words), True
        if code in _EXPIRED_CODES:
            return Sentence(SERVER_EXPIRED, **words), True
        return Sentence(SERVER_UNTRUSTED, ca=tls.ca, **words), True
    reason = getattr(failure, "reason", None) or ""
    if isinstance(failure, ssl.SSLError) and not tls.cert and reason in _NEEDED_ALERTS:
        return Sentence(CLIENT_NEEDED, **words), True
    if isinstance(failure, ssl.SSLError) and tls.cert and reason in _REFUSED_ALERTS:
        return Sentence(CLIENT_REFUSED, cert=tls.cert, **words), True
    return Sentence(TLS_FAILED, **words), False
