"""Certificates for drivers whose protocols secure sessions with X.509 (OPC UA).

Each such driver keeps its files under ``<data_dir>/pki/<driver>/`` (the hub's data dir,
shared by the device service and the CLI on one host):

- ``own/cert.der`` and ``own/key.pem``: the hub's application instance certificate, made on
  first use (:func:`ensure_self_signed`);
- ``trusted/<sha256>.der``: the server certificates the hub trusts (:class:`TrustList`),
  added by ``plantbus devices trust`` after an operator checked the fingerprint.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from plantbus.sdk._x509 import builder, general_name, key_usage, private_pem, write_atomic

__all__ = [
    "CertificateInfo",
    "TrustList",
    "ensure_self_signed",
    "fingerprint",
    "pki_dir",
    "read_der",
]

_VALID = dt.timedelta(days=2 * 365)


def pki_dir(data_dir: Path, driver: str) -> Path:
    """Where ``driver`` keeps its own certificate and its trust list."""
    return data_dir / "pki" / driver


def fingerprint(der: bytes) -> str:
    """The SHA-256 of a DER certificate, 64 lowercase hex digits (as the trust list names it)."""
    return hashlib.sha256(der).hexdigest()


def read_der(path: Path) -> bytes:
    """A certificate file, PEM or DER, as DER; ValueError when it holds no certificate."""
    data = path.read_bytes()
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
    x509.load_der_x509_certificate(data)
    return data


@dataclass(frozen=True)
class CertificateInfo:
    """What an operator checks before trusting a certificate."""

    fingerprint: str
    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    uris: tuple[str, ...]
    """The URIs in its subjectAltName (an OPC UA application's URI is the first)."""

    @classmethod
    def of(cls, der: bytes) -> CertificateInfo:
        """Read a DER certificate; ValueError when it is not one."""
        cert = x509.load_der_x509_certificate(der)
        try:
            alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            uris = tuple(alt.get_values_for_type(x509.UniformResourceIdentifier))
        except x509.ExtensionNotFound:
            uris = ()
        return cls(
            fingerprint(der),
            cert.subject.rfc4514_string(),
            cert.issuer.rfc4514_string(),
            cert.not_valid_before_utc,
            cert.not_valid_after_utc,
            uris,
        )

    def expired(self, now: dt.datetime | None = None) -> bool:
        """True outside the validity period."""
        now = now or dt.datetime.now(dt.UTC)
        return not self.not_before <= now <= self.not_after


class TrustList:
    """A directory of trusted certificates, one ``<sha256>.der`` file each."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def of(cls, data_dir: Path, driver: str) -> TrustList:
        """The trust list of ``driver`` in the hub's data dir."""
        return cls(pki_dir(data_dir, driver) / "trusted")

    def path(self, der: bytes) -> Path:
        """The file that holds ``der`` once it is trusted."""
        return self.directory / f"{fingerprint(der)}.der"

    def contains(self, der: bytes) -> bool:
        """Whether ``der`` is trusted; read from disk every time, so an added one counts at once."""
        return self.path(der).is_file()

    def add(self, der: bytes) -> Path:
        """Trust ``der`` (a DER certificate; ValueError when it is not one); returns its file."""
        CertificateInfo.of(der)
        path = self.path(der)
        write_atomic(path, der, 0o644)
        return path


def ensure_self_signed(
    cert_file: Path, key_file: Path, *, name: str, uri: str, hosts: Sequence[str]
) -> bytes:
    """The DER certificate in ``cert_file``, made first (with a new key) when missing or
    expired: self-signed, RSA 2048 and SHA-256, for client and server use, with ``uri`` (the
    application URI OPC UA requires there) and ``hosts`` (DNS names or IP addresses) in its
    subjectAltName. The key is written with mode 0600."""
    if der := _valid(cert_file, key_file):  # no lock: the files may be a read-only mount
        return der
    with _locked(cert_file.parent / ".lock"):  # the device service and the CLI may race
        return _valid(cert_file, key_file) or _self_signed(cert_file, key_file, name, uri, hosts)


def _valid(cert_file: Path, key_file: Path) -> bytes:
    """The certificate when it and its key are there and it is valid now; else b""."""
    if cert_file.is_file() and key_file.is_file():
        der = cert_file.read_bytes()
        if not CertificateInfo.of(der).expired():
            return der
    return b""


def _self_signed(
    cert_file: Path, key_file: Path, name: str, uri: str, hosts: Sequence[str]
) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    alt_names = [x509.UniformResourceIdentifier(uri), *map(general_name, hosts)]
    usage = key_usage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=True,
        data_encipherment=True,
        key_cert_sign=True,  # self-signed: it signs itself (OPC UA Part 6, 6.2.2)
    )
    cert = (
        builder(subject, subject, key.public_key(), now, now + _VALID)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = private_pem(key)
    write_atomic(key_file, pem, 0o600)
    der = cert.public_bytes(serialization.Encoding.DER)
    write_atomic(cert_file, der, 0o644)
    return der


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
