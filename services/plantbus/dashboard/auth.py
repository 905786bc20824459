"""Who may read the dashboard and who may act on it.

A one-time login link (minted with the dashboard's token by ``plantbus dashboard login``)
is exchanged for a session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS). Reading
needs the session unless ``public_read``; every action also needs the session's CSRF token
in a header and an Origin header of the page's own origin.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from plantbus.dashboard.http import Login, Refused, bearer, read_body
from plantbus.dashboard.options import DashboardOptions
from plantbus.dashboard.sessions import Session, Sessions
from plantbus.v1 import service_pb2

__all__ = ["CSRF_HEADER", "Gate"]

CSRF_HEADER = "X-Plantbus-CSRF"
SIGN_IN = "not signed in: open a login link (plantbus dashboard login prints one)"
_DENIED = service_pb2.AUDIT_OUTCOME_DENIED


def _from_this_host(request: web.Request) -> bool:
    try:
        address = ipaddress.ip_address(request.remote or "")
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool((mapped or address).is_loopback)


class Gate:
    """Sessions, the checks in front of every read and action, and the sign-in routes."""

    def __init__(
        self,
        options: DashboardOptions,
        audit: Callable[..., Awaitable[Any]],
        on_sign_out: Callable[[Session], None],
    ) -> None:
        self.options = options
        self.audit = audit
        self.on_sign_out = on_sign_out
        self.sessions = Sessions(
            code_ttl_s=options.login_link_minutes * 60,
            idle_s=options.session_idle_minutes * 60,
            max_age_s=options.session_max_hours * 3600,
        )
        # the __Host- prefix: browsers accept it only Secure, for this host, for every path
        self.cookie = "__Host-plantbus-session" if options.secure else "plantbus-session"

    def routes(self) -> list[web.RouteDef]:
        """Sign-in, sign-out, who am I, and minting login links."""
        return [
            web.get("/api/session", self._whoami),
            web.post("/api/session", self._sign_in),
            web.delete("/api/session", self._sign_out),
            web.post("/api/login-links", self._login_link),
        ]

    def reader(self, request: web.Request) -> Session | None:
        """The session of a read; None when the view is public and there is none."""
        found = self._session(request)
        if found:
            return found[1]
        if self.options.public_read:
            return None
        raise Refused(401, SIGN_IN)

    def actor(self, request: web.Request) -> tuple[str, Session]:
        """Session id and session of an action, after its Origin and CSRF checks."""
        self._same_origin(request)
        found = self._session(request)
        if not found:
            raise Refused(401, SIGN_IN)
        if not self.sessions.csrf_ok(found[0], request.headers.get(CSRF_HEADER, "")):
            raise Refused(403, f"missing or wrong CSRF token ({CSRF_HEADER}): reload the page")
        return found

    def _session(self, request: web.Request) -> tuple[str, Session] | None:
        session_id = request.cookies.get(self.cookie, "")
        session = self.sessions.get(session_id) if session_id else None
        return (session_id, session) if session else None

    def _same_origin(self, request: web.Request) -> None:
        expected = self.options.public_url or f"{request.scheme}://{request.host}"
        origin = request.headers.get("Origin")
        if origin is None:
            raise Refused(403, "no Origin header: actions come from the dashboard page")
        if origin != expected:
            raise Refused(
                403,
                f"requests from {origin!r} may not act here (expected {expected}; "
                "behind a proxy or Ingress set dashboard.public_url)",
            )

    def _signed_in(self, session_id: str, session: Session) -> dict[str, Any]:
        return {
            "user": session.user,
            "csrf": self.sessions.csrf(session_id),
            "public_read": self.options.public_read,
        }

    async def _whoami(self, request: web.Request) -> web.Response:
        found = self._session(request)
        if found is None:
            body = {"error": SIGN_IN, "public_read": self.options.public_read}
            return web.json_response(body, status=401)
        return web.json_response(self._signed_in(*found))

    async def _sign_in(self, request: web.Request) -> web.Response:
        self._same_origin(request)
        body = await read_body(request, Login)
        remote = {"remote": str(request.remote)}
        opened = self.sessions.redeem(body.code)
        if opened is None:
            await self.audit(
                action="dashboard.sign_in",
                target="dashboard",
                actor="anonymous",
                outcome=_DENIED,
                detail="unknown, used or expired login code",
                attributes=remote,
                source="dashboard",
            )
            raise Refused(
                401,
                "this login link is unknown, used or expired: "
                "get a new one with plantbus dashboard login",
            )
        if previous := request.cookies.get(self.cookie):
            self.sessions.end(previous)
        session_id, session = opened
        await self.audit(
            action="dashboard.sign_in",
            target="dashboard",
            actor=session.user,
            attributes=remote,
            source="dashboard",
        )
        response = web.json_response(self._signed_in(session_id, session))
        response.set_cookie(
            self.cookie,
            session_id,
            path="/",
            max_age=int(self.sessions.max_age_s),
            httponly=True,
            samesite="Strict",
            secure=self.options.secure,
        )
        return response

    async def _sign_out(self, request: web.Request) -> web.Response:
        session_id, session = self.actor(request)
        self.sessions.end(session_id)
        self.on_sign_out(session)
        await self.audit(
            action="dashboard.sign_out", target="dashboard", actor=session.user, source="dashboard"
        )
        response = web.json_response({"signed_out": session.user})
        response.del_cookie(
            self.cookie, path="/", httponly=True, samesite="Strict", secure=self.options.secure
        )
        return response

    async def _login_link(self, request: web.Request) -> web.Response:
        if not _from_this_host(request):
            raise Refused(403, "login links are given only on the dashboard's own host")
        if self.options.token is None:
            raise Refused(
                403,
                "login links are disabled: start the dashboard with a token "
                "(option dashboard.token or PLANTBUS_DASHBOARD_TOKEN)",
            )
        given = bearer(request) or ""
        if not hmac.compare_digest(given.encode(), self.options.token.get_secret_value().encode()):
            await self.audit(
                action="dashboard.login_link",
                target=self.options.token_user,
                actor="anonymous",
                outcome=_DENIED,
                detail="wrong or missing dashboard token",
                source="dashboard",
            )
            raise Refused(401, "wrong or missing dashboard token (Authorization: Bearer ...)")
        code = self.sessions.issue_code(self.options.token_user)
        await self.audit(
            action="dashboard.login_link",
            target=self.options.token_user,
            actor=self.options.token_user,
            source="dashboard",
        )
        base = self.options.public_url or f"{request.scheme}://{request.host}"
        body = {
            "url": f"{base}/login#{code}",
            "user": self.options.token_user,
            "expires_in_s": self.sessions.code_ttl_s,
        }
        return web.json_response(body, status=201)
