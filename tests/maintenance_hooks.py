"""A Standard Webhooks receiver for maintenance requests: checks every signature, answers
with scripted statuses first, and files each webhook-id once."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from plantbus.testing.ports import free_port

__all__ = ["SECRET", "Receiver", "receiving"]

SECRET = "whsec_" + base64.b64encode(b"plantbus-test-maintenance-key-32").decode()


@dataclass
class Receiver:
    """What came in: every attempt, what was filed, what was refused."""

    answers: list[int] = field(default_factory=list)
    attempts: list[dict[str, str]] = field(default_factory=list)
    filed: dict[str, dict[str, Any]] = field(default_factory=dict)
    """webhook-id -> body, once each."""
    refused: list[str] = field(default_factory=list)
    refusing: bool = False
    """While set, every request is refused for good (422)."""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.attempts.append(dict(request.headers))
        if self.refusing:
            return web.Response(status=422, text="no such machine in this CMMS")
        if self.answers:
            return web.Response(status=self.answers.pop(0))
        msg_id, stamp = request.headers["webhook-id"], request.headers["webhook-timestamp"]
        key = base64.b64decode(SECRET.removeprefix("whsec_"))
        mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
        if request.headers["webhook-signature"] != "v1," + base64.b64encode(mac).decode():
            self.refused.append("bad signature")
            return web.Response(status=401)
        self.filed.setdefault(msg_id, json.loads(body))
        number = list(self.filed).index(msg_id) + 1  # a repeat answers its first filing
        return web.Response(status=201, headers={"Location": f"/requests/{number}"})


@contextlib.asynccontextmanager
async def receiving(
    hooks: Receiver | None = None, port: int | None = None
) -> AsyncIterator[tuple[Receiver, str]]:
    """A receiver (``hooks``, or a new one) on a local port (``port``, or a free one) and
    its URL."""
    hooks = hooks or Receiver()
    app = web.Application()
    app.router.add_post("/hook", hooks.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = port or free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield hooks, f"http://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()
