"""The hub's PKI: created once with private files, leaf certificates renewed when fewer
than 30 days remain or when the CA changed, subjects that name principals."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from plantbus.kit import pki

NOW = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)


def serial(path: Path) -> int:
    return x509.load_pem_x509_certificate(path.read_bytes()).serial_number


def test_first_start_creates_everything_private(tmp_path: Path) -> None:
    made, done = pki.ensure(tmp_path / "pki", ["device", "dashboard"], now=NOW)
    assert done[0].startswith("CA created") and "config-signing key created" in done
    files = [made.ca_cert, made.ca_key, made.operator.cert, made.operator.key,
             made.signing_key, made.service("device").key]  # fmt: skip
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(made.root.stat().st_mode) == 0o700
    assert made.signing_pub.is_file()  # public: every service reads it
    device = x509.load_pem_x509_certificate(made.service("device").cert.read_bytes())
    device.verify_directly_issued_by(x509.load_pem_x509_certificate(made.ca_cert.read_bytes()))
    assert device.not_valid_after_utc - NOW > dt.timedelta(days=89)
    names = device.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    usages = device.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(usages)
    assert pki.principal_of(made.service("device").cert.read_bytes()) == ("service", "device")
    assert pki.principal_of(made.operator.cert.read_bytes()) == ("operator", "local-operator")
    operator = x509.load_pem_x509_certificate(made.operator.cert.read_bytes())
    assert operator.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "plantbus"


def test_a_second_start_changes_nothing(tmp_path: Path) -> None:
    made, _ = pki.ensure(tmp_path, ["device"], now=NOW)
    before = serial(made.service("device").cert)
    _, done = pki.ensure(tmp_path, ["device"], now=NOW + dt.timedelta(days=59))
    assert done == [] and serial(made.service("device").cert) == before


def test_leaves_are_renewed_when_fewer_than_30_days_remain(tmp_path: Path) -> None:
    made, _ = pki.ensure(tmp_path, ["device"], now=NOW)
    before = serial(made.service("device").cert), serial(made.operator.cert)
    ca = serial(made.ca_cert)
    _, done = pki.ensure(tmp_path, ["device"], now=NOW + dt.timedelta(days=61))
    assert done == [
        "operator local-operator certificate issued (expires in 29 days)",
        "service device certificate issued (expires in 29 days)",
    ]
    after = serial(made.service("device").cert), serial(made.operator.cert)
    assert after[0] != before[0] and after[1] != before[1]
    assert serial(made.ca_cert) == ca  # the CA lasts


def test_a_new_ca_reissues_every_leaf(tmp_path: Path) -> None:
    made, _ = pki.ensure(tmp_path, ["device"], now=NOW)
    made.ca_cert.unlink()
    _, done = pki.ensure(tmp_path, ["device"], now=NOW)
    assert "service device certificate issued (not issued by the current CA)" in done
    device = x509.load_pem_x509_certificate(made.service("device").cert.read_bytes())
    device.verify_directly_issued_by(x509.load_pem_x509_certificate(made.ca_cert.read_bytes()))


def test_a_subject_that_names_no_principal_is_refused(tmp_path: Path) -> None:
    made, _ = pki.ensure(tmp_path, [], now=NOW)
    pki.issue(made, pki.LeafFiles(tmp_path / "x.crt", tmp_path / "x.key"), "user", "eve")
    assert pki.principal_of((tmp_path / "x.crt").read_bytes()) == ("user", "eve")
    with pytest.raises(ValueError, match="names no plantbus principal"):
        pki.principal_of(made.ca_cert.read_bytes())  # O=plantbus but no OU
