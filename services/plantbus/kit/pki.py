"""The hub's own certificate authority, in ``<data_dir>/pki``.

``plantbus up`` calls :func:`ensure` at every start and once a day: it creates what is
missing (the CA, a certificate per service, the local operator's client certificate, the
config-signing key) and renews every leaf certificate that has less than 30 days left or
was not signed by the current CA, so no operator ever renews anything by hand. Private
files are created with mode 0600 from the start and replaced atomically, so a service
that re-reads them never sees half a file.

Layout: ``ca.crt``/``ca.key``, ``services/<svc>.crt``/``.key``, ``operator.crt``/``.key``,
``config-signing.key``/``.pub`` (Ed25519, for governance's config signatures). A
certificate's subject names its principal: ``O=plantbus, OU=service|user|operator,
CN=<name>`` (see :mod:`plantbus.kit.identity`).
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from plantbus.kit.signing import PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, ensure_signing_key
from plantbus.sdk._x509 import builder, general_name, key_usage, private_pem, write_atomic

__all__ = [
    "CA_DAYS",
    "LEAF_DAYS",
    "OPERATOR",
    "ORGANIZATION",
    "RENEW_BEFORE_DAYS",
    "Kind",
    "LeafFiles",
    "Pki",
    "ensure",
    "principal_of",
]

Kind = Literal["service", "user", "operator"]
ORGANIZATION: Final = "plantbus"
OPERATOR: Final = "local-operator"
"""Common name of the local operator's certificate."""
LEAF_DAYS: Final = 90
RENEW_BEFORE_DAYS: Final = 30
CA_DAYS: Final = 3650


@dataclass(frozen=True)
class LeafFiles:
    """A certificate and its private key on disk."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class Pki:
    """The files of one hub's PKI directory (nothing is read or created here)."""

    root: Path

    @property
    def ca_cert(self) -> Path:
        """The CA certificate every service and client trusts."""
        return self.root / "ca.crt"

    @property
    def ca_key(self) -> Path:
        """The CA's private key (only ``plantbus up`` reads it)."""
        return self.root / "ca.key"

    @property
    def operator(self) -> LeafFiles:
        """The local operator's client certificate, which the CLI presents."""
        return LeafFiles(self.root / "operator.crt", self.root / "operator.key")

    def service(self, name: str) -> LeafFiles:
        """The certificate a service (or ``all``, one process for every service) serves
        with and presents to the services it calls."""
        return LeafFiles(
            self.root / "services" / f"{name}.crt", self.root / "services" / f"{name}.key"
        )

    @property
    def signing_key(self) -> Path:
        """Governance's Ed25519 config-signing key (:mod:`plantbus.kit.signing`)."""
        return self.root / PRIVATE_KEY_FILE

    @property
    def signing_pub(self) -> Path:
        """Its public key, with which every service checks config signatures."""
        return self.root / PUBLIC_KEY_FILE


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600 from the first byte; atomic replace."""
    write_atomic(path, data, 0o600, dir_mode=0o700)


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(kind: Kind | None, common_name: str) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION)]
    if kind:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, kind))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def _create_ca(pki: Pki, now: dt.datetime) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(None, f"Plantbus hub CA ({socket.gethostname()})")
    cert = (
        builder(subject, subject, key.public_key(), now, now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write_private(pki.ca_key, private_pem(key))
    _write_private(pki.ca_cert, _pem_cert(cert))


def _load_ca(pki: Pki) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey), f"{pki.ca_key} is not an EC key"
    return cert, key


def _hosts() -> list[str]:
    """This machine's names: what a local hub's services are reached by."""
    host = socket.gethostname()
    return ["localhost", "127.0.0.1", "::1", *([host] if host and host != "localhost" else [])]


def issue(
    pki: Pki,
    files: LeafFiles,
    kind: Kind,
    name: str,
    *,
    now: dt.datetime | None = None,
    days: int = LEAF_DAYS,
    hosts: Sequence[str] = (),
) -> None:
    """Issue a leaf certificate for principal ``kind``/``name`` into ``files`` (a new key
    each time). Services may serve with theirs, for ``hosts`` (DNS names or addresses;
    default: this machine's); every leaf may authenticate as a client."""
    ca_cert, ca_key = _load_ca(pki)
    start = _now(now)
    key = ec.generate_private_key(ec.SECP256R1())
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
    if kind == "service":
        usages.insert(0, ExtendedKeyUsageOID.SERVER_AUTH)
    end = start + dt.timedelta(days=days)
    leaf = (
        builder(_name(kind, name), ca_cert.subject, key.public_key(), start, end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if kind == "service":
        names = [general_name(h) for h in hosts or _hosts()]
        leaf = leaf.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = leaf.sign(ca_key, hashes.SHA256())
    # key first: a reader that pairs the new key with the old certificate retries (see rpc)
    _write_private(files.key, private_pem(key))
    _write_private(files.cert, _pem_cert(cert))


def renewal_reason(cert_path: Path, ca_cert: x509.Certificate, now: dt.datetime) -> str:
    """Why the certificate at ``cert_path`` must be issued again ('' when it is fine)."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except FileNotFoundError:
        return "missing"
    except ValueError:
        return "unreadable"
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return "not issued by the current CA"
    left = cert.not_valid_after_utc - now
    if left < dt.timedelta(days=RENEW_BEFORE_DAYS):
        return f"expires in {max(left.days, 0)} days"
    return ""


def ensure(
    root: Path, services: Iterable[str], *, now: dt.datetime | None = None
) -> tuple[Pki, list[str]]:
    """Create or renew everything a hub needs under ``root``; (pki, what was done).

    The CA is replaced when it has fewer days left than a leaf lasts (every leaf is then
    issued again, since none is signed by the new CA).
    """
    pki = Pki(root)
    moment = _now(now)
    done: list[str] = []
    ca_reason = "missing" if not (pki.ca_cert.exists() and pki.ca_key.exists()) else ""
    if not ca_reason:
        ca_cert = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
        if ca_cert.not_valid_after_utc - moment < dt.timedelta(days=LEAF_DAYS):
            ca_reason = "expires within a leaf's lifetime"
    if ca_reason:
        _create_ca(pki, moment)
        done.append(f"CA created ({ca_reason})")
    ca_cert, _ = _load_ca(pki)
    leaves: list[tuple[LeafFiles, Kind, str]] = [(pki.operator, "operator", OPERATOR)]
    leaves += [(pki.service(name), "service", name) for name in services]
    for files, kind, name in leaves:
        if reason := renewal_reason(files.cert, ca_cert, moment):
            issue(pki, files, kind, name, now=moment)
            done.append(f"{kind} {name} certificate issued ({reason})")
    if not (pki.signing_key.is_file() and pki.signing_pub.is_file()):
        ensure_signing_key(root)
        done.append("config-signing key created")
    return pki, done


_KINDS: Final[Sequence[str]] = ("service", "user", "operator")


def principal_of(pem: bytes) -> tuple[Kind, str]:
    """(kind, name) from a client certificate's subject ``O=plantbus, OU=<kind>, CN=<name>``;
    ValueError naming what is wrong for any other subject."""
    subject = x509.load_pem_x509_certificate(pem).subject

    def one(oid: x509.ObjectIdentifier) -> str:
        values = subject.get_attributes_for_oid(oid)
        return str(values[0].value) if len(values) == 1 else ""

    org, unit, name = (
        one(NameOID.ORGANIZATION_NAME),
        one(NameOID.ORGANIZATIONAL_UNIT_NAME),
        one(NameOID.COMMON_NAME),
    )
    if org != ORGANIZATION or unit not in _KINDS or not name:
        raise ValueError(
            f"certificate subject {subject.rfc4514_string()!r} names no plantbus principal "
            "(expected O=plantbus, OU=service|user|operator, CN=<name>)"
        )
    return unit, name  # type: ignore[return-value]
