"""Bearer tokens: ``pbt_<id>_<secret>``, stored only as the SHA-256 of the whole token.

Governance issues and revokes them in the KV bucket ``plantbus_tokens`` (one JSON record
per token id); every service reads them through a :class:`TokenCache` that follows the
bucket and asks it directly for an id it has not seen yet (a token created a moment ago
on another service). A token is refused when unknown, expired or revoked, with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Final

from nats.js.errors import BucketNotFoundError, KeyNotFoundError
from nats.js.kv import KeyValue

from plantbus.kit import kv_keys, streams
from plantbus.kit.bus import Bus
from plantbus.kit.tasks import cancel
from plantbus.sdk.errors import NotFound, Unauthenticated

__all__ = [
    "DEFAULT_TTL_S",
    "TokenCache",
    "TokenRecord",
    "TokenStore",
    "mint",
    "token_id",
]

log = logging.getLogger(__name__)

PREFIX: Final = "pbt"
DEFAULT_TTL_S: Final = 90 * 86400.0


@dataclass(frozen=True)
class TokenRecord:
    """What the bucket holds about one token (never the token)."""

    id: str
    user: str
    sha256: str
    created: float
    expires: float
    created_by: str = ""
    revoked: float = 0.0
    revoked_by: str = ""

    def encode(self) -> bytes:
        """The stored JSON."""
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def decode(cls, raw: bytes) -> TokenRecord:
        """From the stored JSON; ValueError when it is not a token record."""
        try:
            data: dict[str, Any] = json.loads(raw)
            return cls(**data)
        except (TypeError, ValueError) as err:
            raise ValueError(f"not a token record: {err}") from err

    def refusal(self, token: str, now: float) -> str:
        """Why ``token`` does not authenticate as this record ('' when it does)."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        if not hmac.compare_digest(digest, self.sha256):
            return "unknown token"
        if self.revoked:
            return f"token {self.id} was revoked"
        if now >= self.expires:
            expired = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.expires))
            return f"token {self.id} expired at {expired}"
        return ""


def mint(
    user: str, ttl_s: float, created_by: str, now: float | None = None
) -> tuple[str, TokenRecord]:
    """A new token for ``user`` and its record."""
    moment = time.time() if now is None else now
    ident = secrets.token_hex(8)
    token = f"{PREFIX}_{ident}_{secrets.token_urlsafe(32)}"
    record = TokenRecord(
        id=ident,
        user=user,
        sha256=hashlib.sha256(token.encode()).hexdigest(),
        created=moment,
        expires=moment + ttl_s,
        created_by=created_by,
    )
    return token, record


def token_id(token: str) -> str:
    """The id part of a well-formed token ('' for anything else)."""
    prefix, _, rest = token.partition("_")
    ident, _, secret = rest.partition("_")
    if prefix != PREFIX or len(ident) != 16 or not secret:
        return ""
    return ident if all(c in "0123456789abcdef" for c in ident) else ""


class TokenStore:
    """Governance's side: issue, revoke and list tokens."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    @classmethod
    async def open(cls, bus: Bus) -> TokenStore:
        """Open (and on first use create) the bucket."""
        return cls(await streams.open_bucket(bus, streams.TOKENS))

    async def create(self, record: TokenRecord) -> None:
        """Store a new record."""
        await self.kv.create(record.id, record.encode())

    async def get(self, ident: str) -> TokenRecord:
        """The record of ``ident``; NotFound naming it."""
        try:
            entry = await self.kv.get(ident)
        except KeyNotFoundError:
            entry = None
        if entry is None or not entry.value:
            raise NotFound(f"no token {ident!r} (plantbus users token list)")
        return TokenRecord.decode(entry.value)

    async def revoke(self, ident: str, by: str, now: float | None = None) -> TokenRecord:
        """Mark ``ident`` revoked (kept, so a replay is refused as revoked, not unknown)."""
        record = await self.get(ident)
        if not record.revoked:
            record = replace(record, revoked=time.time() if now is None else now, revoked_by=by)
            await self.kv.put(ident, record.encode())
        return record

    async def all(self) -> list[TokenRecord]:
        """Every record, oldest first."""
        out = []
        for key in await kv_keys.keys(self.kv):
            with contextlib.suppress(KeyNotFoundError, ValueError):
                entry = await self.kv.get(key)
                if entry.value:
                    out.append(TokenRecord.decode(entry.value))
        return sorted(out, key=lambda r: r.created)


class TokenCache:
    """Every service's side: token records kept up to date by a watch on the bucket.

    Readers never create the bucket (only governance writes it); until it exists every
    token is unknown.
    """

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.records: dict[str, TokenRecord] = {}
        self._kv: KeyValue | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Follow the bucket in the background."""
        self._task = asyncio.create_task(self._follow(), name="token-watch")

    async def stop(self) -> None:
        """Stop following; safe to call twice."""
        if self._task:
            await cancel(self._task)
            self._task = None

    async def _bucket(self) -> KeyValue | None:
        if self._kv is None:
            with contextlib.suppress(BucketNotFoundError):
                self._kv = await self.bus.js.key_value(streams.TOKENS.name)
        return self._kv

    async def _follow(self) -> None:
        while True:
            try:
                kv = await self._bucket()
                if kv is None:
                    await asyncio.sleep(2.0)
                    continue
                watcher: Any = await kv.watchall()
                try:
                    async for entry in watcher:
                        if entry is None:
                            continue  # end of the initial values
                        if entry.value:
                            self._remember(entry.key, entry.value)
                        else:
                            self.records.pop(entry.key, None)
                finally:
                    await watcher.stop()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - NATS away: look up directly meanwhile
                log.warning("token watch stopped (%s); retrying", err)
                self._kv = None
                await asyncio.sleep(2.0)

    def _remember(self, key: str, raw: bytes) -> TokenRecord | None:
        try:
            record = TokenRecord.decode(raw)
        except ValueError as err:
            log.error("token record %s in %s ignored: %s", key, streams.TOKENS.name, err)
            return None
        self.records[key] = record
        return record

    async def _fetch(self, ident: str) -> TokenRecord | None:
        kv = await self._bucket()
        if kv is None:
            return None
        try:
            entry = await kv.get(ident)
        except KeyNotFoundError:
            return None
        return self._remember(ident, entry.value) if entry.value else None

    async def user_of(self, token: str, now: float | None = None) -> TokenRecord:
        """The record ``token`` authenticates as; Unauthenticated saying why not."""
        ident = token_id(token)
        if not ident:
            raise Unauthenticated("unknown token (not a plantbus token: pbt_<id>_<secret>)")
        record = self.records.get(ident) or await self._fetch(ident)
        if record is None:
            raise Unauthenticated("unknown token")
        if why := record.refusal(token, time.time() if now is None else now):
            raise Unauthenticated(why)
        return record
