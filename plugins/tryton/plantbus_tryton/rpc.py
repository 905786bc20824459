"""A small asyncio JSON-RPC client for trytond (8.x).

Wire facts (see docs/erp.md): model calls go to ``POST /<db>/rpc/`` with the context as
the last parameter; dates, datetimes, timedeltas and Decimals travel as
``{"__class__": ...}`` objects; business errors come back with HTTP 200 and
``"error": ["UserError", [message, description, domain]]``.

Failures are sorted for the outbox: anything that may pass on a later try (connection
refused, timeouts, HTTP 5xx, locked database, concurrency) is ``ErpUnavailable``; what
Tryton refused on business grounds is ``ErpRejected`` with Tryton's own words.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from plantbus.sdk.errors import ErpRejected, ErpUnavailable, describe

__all__ = ["TrytonConnection", "TrytonRpc", "decode", "encode"]

_BUSINESS_ERRORS = frozenset({"UserError", "UserWarning"})


def _encode_value(obj: object) -> dict[str, Any]:
    if isinstance(obj, dt.datetime):  # Tryton keeps naive UTC datetimes
        utc = obj.astimezone(dt.UTC) if obj.tzinfo else obj
        fields = ("year", "month", "day", "hour", "minute", "second", "microsecond")
        return {"__class__": "datetime", **{f: getattr(utc, f) for f in fields}}
    if isinstance(obj, dt.date):
        return {"__class__": "date", "year": obj.year, "month": obj.month, "day": obj.day}
    if isinstance(obj, dt.timedelta):
        return {"__class__": "timedelta", "seconds": obj.total_seconds()}
    if isinstance(obj, Decimal):
        return {"__class__": "Decimal", "decimal": str(obj)}
    raise TypeError(f"cannot send {type(obj).__name__} to Tryton")


def _decode_object(obj: dict[str, Any]) -> Any:
    kind = obj.get("__class__")
    if kind == "datetime":  # Tryton's datetimes are naive UTC
        return dt.datetime(
            obj["year"],
            obj["month"],
            obj["day"],
            obj["hour"],
            obj["minute"],
            obj["second"],
            obj["microsecond"],
            tzinfo=dt.UTC,
        )
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "timedelta":
        return dt.timedelta(seconds=obj["seconds"])
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "bytes":
        return base64.b64decode(obj["base64"])
    return obj


def encode(payload: object) -> bytes:
    """JSON with Tryton's typed objects."""
    return json.dumps(payload, default=_encode_value).encode()


def decode(body: bytes) -> Any:
    """Parse a Tryton answer, turning typed objects back into Python values."""
    return json.loads(body, object_hook=_decode_object)


def _error_text(error: Any) -> tuple[bool, str]:
    """(business?, message) for a JSON-RPC ``error`` member."""
    if isinstance(error, list) and len(error) == 2 and isinstance(error[0], str):
        kind, args = error
        if kind in _BUSINESS_ERRORS and isinstance(args, list):
            words = [a for a in args if isinstance(a, str) and a]
            if kind == "UserWarning":
                words = words[1:]  # the warning's name is an internal key
            return True, " ".join(words) or kind
        if kind == "ConcurrencyException":
            return False, f"concurrent change: {args}"
        return False, kind  # a server-side exception; its traceback stays in Tryton's log
    return False, str(error)


class TrytonConnection(BaseModel):
    """Where the Tryton server is and who the connector logs in as (the settings every
    Tryton plugin of this package starts from)."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(pattern=r"^https?://", description="trytond base URL, without /<db>/rpc/")
    database: str = Field(min_length=1)
    user: str = "admin"
    password: SecretStr
    timeout_s: float = Field(default=10.0, gt=0)

    def rpc(self) -> TrytonRpc:
        """A client of this server (it logs in on its first call)."""
        return TrytonRpc(
            self.url, self.database, self.user, self.password.get_secret_value(), self.timeout_s
        )


class TrytonRpc:
    """One logged-in session on one Tryton database.

    Logs in lazily, logs in again when the session expires, and never puts the password
    in a message or a log line.
    """

    def __init__(
        self, url: str, database: str, user: str, password: str, timeout_s: float = 10.0
    ) -> None:
        self.base = url.rstrip("/")
        self.database = database
        self.user = user
        self._password = password
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._http: aiohttp.ClientSession | None = None
        self._auth: str | None = None
        self._lock = asyncio.Lock()
        self._ids = 0
        self.context: dict[str, Any] = {}

    @property
    def where(self) -> str:
        """The database this client talks to, for messages."""
        return f"Tryton {self.base} database {self.database!r}"

    async def close(self) -> None:
        """Close the HTTP session; safe to call twice."""
        if self._http is not None:
            await self._http.close()
            self._http = None
        self._auth = None

    async def _post(self, path: str, method: str, params: list[Any], auth: str | None) -> Any:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=self._timeout)
        self._ids += 1
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = auth
        body = encode({"id": self._ids, "method": method, "params": params})
        try:
            async with self._http.post(self.base + path, data=body, headers=headers) as resp:
                status, data = resp.status, await resp.read()
        except (aiohttp.ClientError, TimeoutError) as err:
            raise ErpUnavailable(f"{self.where} unreachable: {describe(err)}") from err
        if status == 401:
            raise _SessionExpired
        if status == 403:
            raise ErpRejected(f"{self.where} refused {method} (HTTP 403: unknown or forbidden)")
        if status >= 400:
            raise ErpUnavailable(f"{self.where} answered HTTP {status} to {method}")
        try:
            answer = decode(data)
        except ValueError as err:
            raise ErpUnavailable(f"{self.where} sent a non-JSON answer to {method}") from err
        if "error" in answer and answer["error"] is not None:
            business, message = _error_text(answer["error"])
            if business:
                raise ErpRejected(f"Tryton: {message}")
            raise ErpUnavailable(f"{self.where} failed {method}: {message}")
        return answer.get("result")

    async def login(self) -> None:
        """Open a session and load the user's context (company, employee, language)."""
        try:
            result = await self._post(
                f"/{self.database}/rpc/",
                "common.db.login",
                [self.user, {"password": self._password}, "en"],
                None,
            )
        except _SessionExpired:
            raise ErpUnavailable(
                f"{self.where}: login refused for user {self.user!r} (check the password)"
            ) from None
        if not isinstance(result, list) or len(result) < 2:
            raise ErpUnavailable(f"{self.where}: unexpected login answer")
        user_id, session = result[0], result[1]
        token = base64.b64encode(f"{self.user}:{user_id}:{session}".encode()).decode()
        auth = f"Session {token}"
        prefs = await self._post(
            f"/{self.database}/rpc/", "model.res.user.get_preferences", [True, {}], auth
        )
        self._auth = auth  # only with its context: calls without a company would fail
        self.context = {
            k: prefs[k]
            for k in ("company", "companies", "employee", "language")
            if isinstance(prefs, dict) and k in prefs
        }

    async def call(self, model: str, method: str, *args: Any) -> Any:
        """``model.<model>.<method>(*args, context)``; logs in (again) when needed."""
        async with self._lock:
            if self._auth is None:
                await self.login()
        for attempt in (1, 2):
            try:
                return await self._post(
                    f"/{self.database}/rpc/",
                    f"model.{model}.{method}",
                    [*args, self.context],
                    self._auth,
                )
            except _SessionExpired:
                if attempt == 2:
                    break
                async with self._lock:
                    await self.login()
        raise ErpUnavailable(f"{self.where}: session refused after a fresh login")


class _SessionExpired(Exception):
    """HTTP 401: the session (or the password) is no longer accepted."""
