"""HTTP hygiene of the dashboard: security headers on every response, every refusal as
JSON with a message (4xx, never a 500 for bad input), strict request bodies."""

from __future__ import annotations

import json
import logging
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "MAX_BODY",
    "Approve",
    "Classify",
    "Comment",
    "Login",
    "MaintenanceDone",
    "OutOfService",
    "Refused",
    "Reject",
    "Shelve",
    "bearer",
    "errors_as_json",
    "read_body",
    "security_headers",
    "strict_json",
]

log = logging.getLogger("plantbus.dashboard")

MAX_BODY = 16 * 1024
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
B = TypeVar("B", bound=BaseModel)


class Refused(Exception):
    """A request the dashboard will not serve: answered with ``status`` and the message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class Comment(_Body):
    """Acknowledge or reset an alarm."""

    comment: str = Field("from the dashboard", max_length=500)


class Shelve(Comment):
    """Shelve an alarm for a while."""

    minutes: float = Field(60, gt=0, le=7 * 24 * 60)


class OutOfService(_Body):
    """Remove an alarm from service: a reason (the permit) and an expiry are required."""

    comment: str = Field(min_length=1, max_length=500)
    hours: float = Field(gt=0, le=30 * 24)


class Classify(_Body):
    """Give a downtime episode its reason."""

    reason: str = Field(min_length=1, max_length=100)


class MaintenanceDone(_Body):
    """Record maintenance of a machine's component, with what was done."""

    machine: str = Field(min_length=1, max_length=300)
    component: str = Field("machine", min_length=1, max_length=100)
    note: str = Field(min_length=1, max_length=500, pattern=r"\S")


class Approve(_Body):
    """Approve a proposed action: nothing to add (the value written is the proposal's)."""


class Reject(_Body):
    """Reject a proposed action: why is required (it is kept with the proposal)."""

    reason: str = Field(min_length=1, max_length=500, pattern=r"\S")


class Login(_Body):
    """Exchange a login code for a session."""

    code: str = Field(max_length=100)


def strict_json(data: Any) -> str:
    """JSON a browser can parse: a non-finite number is a bug here, never ``NaN`` on the wire."""
    return json.dumps(data, allow_nan=False)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows (only finite numbers)")


async def read_body(request: web.Request, model: type[B]) -> B:
    """The JSON object in the body (empty means ``{}``) as ``model``; Refused(400) otherwise."""
    raw = await request.read()  # over client_max_size: 413, answered by errors_as_json
    try:
        data = json.loads(raw, parse_constant=_no_constant) if raw.strip() else {}
    except RecursionError:
        raise Refused(400, "the JSON body is nested too deeply") from None
    except ValueError as err:
        raise Refused(400, f"the body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise Refused(400, f"the body must be a JSON object, not {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in err.errors()
        )
        raise Refused(400, f"bad request body: {problems}") from None


def bearer(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header; None without one."""
    value = request.headers.get("Authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or not token.isascii():
        raise Refused(401, "the Authorization header must be 'Bearer <token>' in ASCII")
    return token


def _message(request: web.Request, err: web.HTTPException) -> str:
    if err.status == 404:
        return f"no such endpoint: {request.method} {request.path} (see docs/dashboard.md)"
    if err.status == 405:
        return f"{request.method} is not allowed on {request.path}"
    return err.text or err.reason


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refusals, aiohttp's own errors (404, 405, 413) and surprises answer JSON."""
    try:
        return await handler(request)
    except Refused as err:
        return web.json_response({"error": str(err)}, status=err.status)
    except web.HTTPException as err:
        if err.status < 400:
            raise
        headers = {"Allow": err.headers["Allow"]} if "Allow" in err.headers else None
        return web.json_response(
            {"error": _message(request, err)}, status=err.status, headers=headers
        )
    except Exception:
        log.exception("dashboard failed on %s %s", request.method, request.path)
        return web.json_response({"error": "internal error (see the dashboard's log)"}, status=500)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response, the page, files and event streams alike."""
    response.headers.update(_HEADERS)
    if request.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"
