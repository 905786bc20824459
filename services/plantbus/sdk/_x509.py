"""X.509 pieces shared by the hub's CA (:mod:`plantbus.kit.pki`) and the drivers'
self-signed certificates (:mod:`plantbus.sdk.certificates`); not part of the vendor API."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificatePublicKeyTypes,
    PrivateKeyTypes,
)

__all__ = ["builder", "general_name", "key_usage", "private_pem", "write_atomic"]

_NO_USAGE = dict.fromkeys(
    (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    ),
    False,
)


def general_name(host: str) -> x509.GeneralName:
    """A subjectAltName entry: an IP address where ``host`` is one, else a DNS name."""
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def key_usage(**allowed: bool) -> x509.KeyUsage:
    """A KeyUsage extension with only the usages named true (e.g. ``crl_sign=True``)."""
    return x509.KeyUsage(**{**_NO_USAGE, **allowed})


def builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: CertificatePublicKeyTypes,
    start: dt.datetime,
    end: dt.datetime,
) -> x509.CertificateBuilder:
    """A certificate for ``public_key`` with a random serial, valid from five minutes
    before ``start`` (clocks drift) until ``end``."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - dt.timedelta(minutes=5))
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def private_pem(key: PrivateKeyTypes) -> bytes:
    """``key`` as unencrypted PKCS#8 PEM (the file holding it is 0600)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_atomic(path: Path, data: bytes, mode: int, *, dir_mode: int = 0o777) -> None:
    """Write ``data`` to ``path`` with ``mode`` from the first byte (never readable by
    others first) and replace it atomically, so a reader never sees half a file."""
    path.parent.mkdir(mode=dir_mode, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
