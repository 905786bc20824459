"""Issuing and revoking bearer tokens for configured users: stored hashed, audited before
a token exists (no audit, no token), revoked at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from plantbus.kit.audit import record_outcome
from plantbus.kit.tokens import DEFAULT_TTL_S, TokenRecord, TokenStore, mint
from plantbus.sdk.errors import NotFound, ValidationFailed
from plantbus.v1 import service_pb2

__all__ = ["TokenAdmin"]


@dataclass
class TokenAdmin:
    """Tokens for the users of the running config, through ``store``, audited by ``audit``."""

    store: TokenStore
    audit: Callable[..., Awaitable[Any]]
    users: Callable[[], Awaitable[set[str]]]
    """The users of the running config."""

    async def create(self, user: str, ttl_s: float, by: str) -> tuple[str, TokenRecord]:
        """A new bearer token for the configured ``user``, valid ``ttl_s`` (0: 90 days)."""
        users = await self.users()
        if user not in users:
            known = ", ".join(sorted(users)) or "-"
            raise NotFound(
                f"user {user!r} is not in the plant config's users ({known}); add it under "
                "users: and apply the config first"
            )
        if ttl_s < 0:
            raise ValidationFailed(f"token lifetime {ttl_s}s: must be positive")
        token, record = mint(user, ttl_s or DEFAULT_TTL_S, by)
        expires = datetime.fromtimestamp(record.expires, UTC).isoformat(timespec="seconds")
        audit = {
            "action": "token.create",
            "target": record.id,
            "actor": by,
            "detail": f"token {record.id} for {user}",
            "attributes": {"user": user, "expires": expires},
        }
        await self.audit(**audit, outcome=service_pb2.AUDIT_OUTCOME_ATTEMPT)
        await self.store.create(record)
        await record_outcome(self.audit, **audit)
        return token, record

    async def revoke(self, ident: str, by: str) -> TokenRecord:
        """Refuse token ``ident`` from now on."""
        record = await self.store.revoke(ident, by)
        await record_outcome(  # refused from now on whether or not this is stored at once
            self.audit,
            action="token.revoke",
            target=ident,
            actor=by,
            detail=f"token {ident} of {record.user} revoked",
            attributes={"user": record.user},
        )
        return record
