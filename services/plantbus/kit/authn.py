"""How a caller proves who they are: a client certificate from the hub's CA, a bearer
token, or (from a proxy service) a certificate it forwards; the rules are in
:mod:`plantbus.kit.identity`."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from plantbus.config import PlantConfig
from plantbus.kit.identity import (
    CLIENT_CERT_HEADER,
    PEER_HEADER,
    PROXIES,
    USER_HEADER,
    Identity,
    Kind,
)
from plantbus.kit.pki import OPERATOR, principal_of
from plantbus.kit.tokens import TokenCache
from plantbus.sdk.errors import Unauthenticated

__all__ = ["Authenticator"]


@functools.lru_cache(maxsize=256)
def _certificate_principal(pem: bytes) -> tuple[Kind, str]:
    return principal_of(pem)


@functools.lru_cache(maxsize=4)
def _load_ca(path: Path, mtime: float) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _issued_now(der: bytes, ca_path: Path) -> bytes:
    """The PEM of ``der`` if the CA at ``ca_path`` issued it and it is valid now."""
    try:
        cert = x509.load_der_x509_certificate(der)
        cert.verify_directly_issued_by(_load_ca(ca_path, ca_path.stat().st_mtime))
    except (OSError, ValueError, TypeError, InvalidSignature) as err:
        raise Unauthenticated(f"forwarded client certificate refused: {err}") from None
    now = dt.datetime.now(dt.UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise Unauthenticated("forwarded client certificate refused: not valid now")
    return cert.public_bytes(Encoding.PEM)


class Authenticator:
    """Turns a call's credentials into an :class:`Identity`, or raises Unauthenticated.
    ``ca`` (the hub's CA file) checks certificates forwarded by a proxy."""

    def __init__(
        self, tokens: TokenCache | None, *, insecure: bool = False, ca: Path | None = None
    ) -> None:
        self.tokens = tokens
        self.insecure = insecure
        self.ca = ca

    async def authenticate(
        self, context: grpc.aio.ServicerContext, config: PlantConfig | None = None
    ) -> Identity:
        """The effective caller of ``context`` (after delegation, which ``config``, the
        running one, may allow)."""
        metadata = {k: v for k, v in (context.invocation_metadata() or ())}
        principal = await self._principal(context, metadata, context.peer() or "")
        claimed = str(metadata.get(USER_HEADER, "")).strip()
        if claimed and principal.may_act_for(claimed, config):
            return principal.acting_for(claimed)
        return principal

    @staticmethod
    def _proxy(pems: Any) -> str:
        """The name of the proxy service that made this call ('' for anyone else)."""
        try:
            kind, name = _certificate_principal(bytes(pems[0])) if pems else ("", "")
        except ValueError:
            return ""
        return name if kind == "service" and name in PROXIES else ""

    async def _principal(
        self, context: grpc.aio.ServicerContext, metadata: Mapping[str, Any], address: str
    ) -> Identity:
        pems = (context.auth_context() or {}).get("x509_pem_cert")
        proxy = "" if self.insecure else self._proxy(pems)
        if proxy:
            address = str(metadata.get(PEER_HEADER, "")) or address
        if bearer := str(metadata.get("authorization", "")):
            scheme, _, token = bearer.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("authorization metadata must be 'Bearer <token>'")
            if self.tokens is None:
                raise Unauthenticated("this server takes no bearer tokens")
            record = await self.tokens.user_of(token.strip())
            return Identity("user", record.user, "token", address, by=proxy)
        if self.insecure:
            return Identity("operator", OPERATOR, "insecure", address)
        forwarded = metadata.get(CLIENT_CERT_HEADER) if proxy else None
        if forwarded:
            if self.ca is None:
                raise Unauthenticated("this server cannot check forwarded certificates")
            try:
                kind, name = _certificate_principal(_issued_now(bytes(forwarded), self.ca))
            except ValueError as err:
                raise Unauthenticated(str(err)) from None
            return Identity(kind, name, "mtls", address, by=proxy)
        if pems:
            try:
                kind, name = _certificate_principal(bytes(pems[0]))
            except ValueError as err:
                raise Unauthenticated(str(err)) from None
            return Identity(kind, name, "mtls", address)
        raise Unauthenticated(
            "no credentials: present a client certificate from the hub's CA or a bearer "
            "token (plantbus users token create)"
        )
