"""Who is calling: the identity recorded in audits and checked against policies.

In order: the mTLS client certificate's common name; a bearer token
(``authorization: Bearer <token>``) whose SHA-256 matches a configured user; the
``x-plantbus-user`` metadata, trusted only when the server runs without TLS (a local
or development hub, where anyone on the machine can act anyway); else "anonymous".
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import grpc

__all__ = ["caller", "token_hash"]


def token_hash(token: str) -> str:
    """The SHA-256 hex digest stored in config instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def caller(context: grpc.aio.ServicerContext, tokens: Mapping[str, str] | None = None) -> str:
    """The caller's identity; ``tokens`` maps token hashes to user names."""
    auth = context.auth_context() or {}
    common_names = auth.get("x509_common_name")
    if common_names:
        return bytes(common_names[0]).decode()
    metadata = {k: v for k, v in (context.invocation_metadata() or ())}
    bearer = str(metadata.get("authorization", ""))
    if bearer.lower().startswith("bearer ") and tokens:
        user = tokens.get(token_hash(bearer[7:].strip()))
        if user:
            return user
    if not auth.get("transport_security_type") or auth.get("transport_security_type") == [
        b"insecure"
    ]:
        claimed = metadata.get("x-plantbus-user")
        if claimed:
            return str(claimed)
    return "anonymous"
