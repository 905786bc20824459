"""The gRPC server's certificate files: read, checked as a pair, and read again when they
are renewed on disk."""

from __future__ import annotations

import logging
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from plantbus.sdk.errors import ConfigError

__all__ = ["CertFiles", "read_pem"]

log = logging.getLogger(__name__)


def read_pem(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise ConfigError(f"gRPC TLS: cannot read {path}: {err.strerror}") from err


def _pair_matches(key_pem: bytes, cert_pem: bytes) -> bool:
    """True when the key belongs to the certificate (not a renewal caught halfway)."""
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        return False
    der = serialization.Encoding.DER
    info = serialization.PublicFormat.SubjectPublicKeyInfo
    return bool(
        key.public_key().public_bytes(der, info) == cert.public_key().public_bytes(der, info)
    )


class CertFiles:
    """The server's certificate, key and CA files, read again when they change on disk
    (renewal by ``plantbus up``), so a running server never serves an expired one."""

    def __init__(self, cert: Path, key: Path, ca: Path) -> None:
        self.paths = (cert, key, ca)
        self._stamp = self._mtimes()
        self.initial = self._load()
        if self.initial is None:
            raise ConfigError(f"gRPC TLS: the key {key} does not belong to the certificate {cert}")

    def _mtimes(self) -> tuple[float, ...]:
        return tuple(p.stat().st_mtime if p.exists() else 0.0 for p in self.paths)

    def _load(self) -> grpc.ServerCertificateConfiguration | None:
        cert, key, ca = (read_pem(p) for p in self.paths)
        if not _pair_matches(key, cert):
            return None
        return grpc.ssl_server_certificate_configuration([(key, cert)], root_certificates=ca)

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """Called by grpc before each handshake: a new configuration, or None to keep it."""
        try:
            stamp = self._mtimes()
            if stamp == self._stamp:
                return None
            loaded = self._load()
        except Exception:
            log.exception("gRPC TLS: reloading %s failed; keeping the current one", self.paths[0])
            return None
        if loaded is not None:  # else: key and certificate caught mid-renewal, try again
            self._stamp = stamp
            log.info("gRPC TLS: serving the renewed certificate %s", self.paths[0])
        return loaded

    def credentials(self, require_client_certificate: bool) -> grpc.ServerCredentials:
        """Server credentials that follow the files."""
        return grpc.dynamic_ssl_server_credentials(
            self.initial, self.fetch, require_client_authentication=require_client_certificate
        )
