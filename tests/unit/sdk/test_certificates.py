"""Self-signed application certificates and the trust list of plantbus.sdk.certificates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from plantbus.sdk.certificates import (
    CertificateInfo,
    TrustList,
    ensure_self_signed,
    fingerprint,
    read_der,
)


def make(tmp: Path) -> bytes:
    return ensure_self_signed(
        tmp / "own" / "cert.der",
        tmp / "own" / "key.pem",
        name="Plantbus@host",
        uri="urn:host:plantbus",
        hosts=["host", "127.0.0.1"],
    )


def test_made_once_with_the_uri_and_hosts_and_a_private_key(tmp_path: Path) -> None:
    der = make(tmp_path)
    assert make(tmp_path) == der, "kept while valid"
    cert = x509.load_der_x509_certificate(der)
    alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert alt.get_values_for_type(x509.UniformResourceIdentifier) == ["urn:host:plantbus"]
    assert alt.get_values_for_type(x509.DNSName) == ["host"]
    assert [str(ip) for ip in alt.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    info = CertificateInfo.of(der)
    assert info.subject == "CN=Plantbus@host" == info.issuer and info.uris == ("urn:host:plantbus",)
    assert (
        not info.expired() and info.fingerprint == fingerprint(der) and len(info.fingerprint) == 64
    )
    assert (tmp_path / "own" / "key.pem").stat().st_mode & 0o777 == 0o600


def test_an_expired_certificate_is_made_again(tmp_path: Path) -> None:
    der = make(tmp_path)
    info = CertificateInfo.of(der)
    assert info.expired(info.not_after + dt.timedelta(seconds=1))
    old = x509.load_der_x509_certificate(der)
    key = serialization.load_pem_private_key((tmp_path / "own" / "key.pem").read_bytes(), None)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    expired = (
        x509.CertificateBuilder()
        .subject_name(old.subject)
        .issuer_name(old.subject)
        .public_key(old.public_key())
        .serial_number(1)
        .not_valid_before(past - dt.timedelta(days=1))
        .not_valid_after(past)
        .sign(key, old.signature_hash_algorithm)  # type: ignore[arg-type]
    )
    (tmp_path / "own" / "cert.der").write_bytes(expired.public_bytes(serialization.Encoding.DER))
    renewed = make(tmp_path)
    assert not CertificateInfo.of(renewed).expired()


def test_trust_list_by_fingerprint(tmp_path: Path) -> None:
    der = make(tmp_path)
    trusted = TrustList.of(tmp_path, "opcua")
    assert not trusted.contains(der)
    path = trusted.add(der)
    assert path == tmp_path / "pki" / "opcua" / "trusted" / f"{fingerprint(der)}.der"
    assert trusted.contains(der) and path.read_bytes() == der
    assert not trusted.contains(make(tmp_path / "other"))
    with pytest.raises(ValueError):
        trusted.add(b"not a certificate")


def test_read_der_takes_pem_and_der(tmp_path: Path) -> None:
    der = make(tmp_path)
    pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
    (tmp_path / "c.pem").write_bytes(pem)
    assert read_der(tmp_path / "c.pem") == der == read_der(tmp_path / "own" / "cert.der")
    (tmp_path / "junk").write_bytes(b"junk")
    with pytest.raises(ValueError):
        read_der(tmp_path / "junk")
