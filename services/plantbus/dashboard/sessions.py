"""Sign-in for the dashboard: one-time login codes exchanged for server-side sessions.

Codes and session ids are kept by their SHA-256 only, so nothing in memory (or in a dump
of it) could be presented by a browser. The CSRF token of a session is an HMAC of its id
under a key of this process, so it is never stored either. A restart forgets everything:
everybody signs in again with a new link. Times are monotonic (a clock jump neither ends
nor extends a session).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Session", "Sessions"]

_SECRET = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
_MAX_CODES = 100
_MAX_SESSIONS = 1000


def _new() -> str:
    return secrets.token_urlsafe(32)


def _digest(secret: str) -> str | None:
    """The key a code or session id is stored under; None when it cannot be one of ours."""
    if not _SECRET.fullmatch(secret):
        return None
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(eq=False)  # identity: keep() asks whether this very session is still open
class Session:
    """Who signed in, when, and when they were last seen."""

    user: str
    started: float
    seen: float


class Sessions:
    """Login codes (single use, short-lived) and the sessions they open."""

    def __init__(
        self,
        *,
        code_ttl_s: float,
        idle_s: float,
        max_age_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.code_ttl_s, self.idle_s, self.max_age_s = code_ttl_s, idle_s, max_age_s
        self.clock = clock
        self._codes: dict[str, tuple[str, float]] = {}  # digest -> (user, expires)
        self._sessions: dict[str, Session] = {}  # digest -> session
        self._csrf_key = secrets.token_bytes(32)

    def issue_code(self, user: str) -> str:
        """A new one-time login code for ``user``."""
        now = self.clock()
        self._codes = {k: v for k, v in self._codes.items() if v[1] > now}
        while len(self._codes) >= _MAX_CODES:
            self._codes.pop(next(iter(self._codes)))
        code = _new()
        self._codes[str(_digest(code))] = (user, now + self.code_ttl_s)
        return code

    def redeem(self, code: str) -> tuple[str, Session] | None:
        """Exchange a valid code (once) for a new session id and its session."""
        key = _digest(code)
        entry = self._codes.pop(key, None) if key else None
        now = self.clock()
        if entry is None or entry[1] <= now:
            return None
        self._sessions = {k: s for k, s in self._sessions.items() if self._alive(s, now)}
        while len(self._sessions) >= _MAX_SESSIONS:
            self._sessions.pop(next(iter(self._sessions)))
        session_id = _new()
        session = Session(user=entry[0], started=now, seen=now)
        self._sessions[str(_digest(session_id))] = session
        return session_id, session

    def get(self, session_id: str) -> Session | None:
        """The live session of ``session_id``, marked as seen now; None when unknown or over."""
        key = _digest(session_id)
        session = self._sessions.get(key) if key else None
        now = self.clock()
        if session is None or not self._alive(session, now):
            if key:
                self._sessions.pop(key, None)
            return None
        session.seen = now
        return session

    def keep(self, session: Session) -> bool:
        """Whether ``session`` is still open (not ended, not expired); marks it seen if so."""
        now = self.clock()
        if session not in self._sessions.values() or not self._alive(session, now):
            return False
        session.seen = now
        return True

    def end(self, session_id: str) -> Session | None:
        """Sign out: the session is gone; returns it when there was one."""
        key = _digest(session_id)
        return self._sessions.pop(key, None) if key else None

    def csrf(self, session_id: str) -> str:
        """The CSRF token of a session (the page sends it back with every action)."""
        return hmac.new(self._csrf_key, session_id.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session_id: str, given: str) -> bool:
        """``given`` is the CSRF token of ``session_id``; compared in constant time."""
        return hmac.compare_digest(self.csrf(session_id).encode(), given.encode(errors="replace"))

    def _alive(self, session: Session, now: float) -> bool:
        return now - session.seen < self.idle_s and now - session.started < self.max_age_s
