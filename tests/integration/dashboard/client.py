"""A browser's view of a real dashboard in tests: host it, mint a login link with its token,
sign in, act with the session's CSRF token, and send raw bytes no client library would."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from plantbus.dashboard.service import DashboardService
from plantbus.kit.bus import Bus
from plantbus.kit.net import free_port
from plantbus.kit.runner import Runner
from plantbus.kit.service import Service
from plantbus.testing.harness import hosted
from plantbus.testing.messages import collected
from plantbus.v1 import service_pb2

__all__ = ["TOKEN", "Dashboard", "audits", "raw_request", "serving"]

TOKEN = "t0ken-for-tests-only"


@dataclass
class Dashboard:
    """A hosted dashboard and a cookie-keeping HTTP client pointed at it."""

    service: DashboardService
    base: str
    http: aiohttp.ClientSession
    runner: Runner

    async def login_link(self) -> str:
        """A fresh one-time link, minted as ``plantbus dashboard login`` does."""
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with self.http.post(f"{self.base}/api/login-links", headers=headers) as reply:
            assert reply.status == 201, await reply.text()
            return str((await reply.json())["url"])

    async def redeem(self, link: str) -> aiohttp.ClientResponse:
        """What the page does with the link's code (the response is read already)."""
        code = link.partition("#")[2]
        body = {"code": code}
        async with self.http.post(
            f"{self.base}/api/session", json=body, headers={"Origin": self.base}
        ) as reply:
            await reply.read()
            return reply

    async def sign_in(self) -> str:
        """Sign in with a new link; returns the session's CSRF token."""
        reply = await self.redeem(await self.login_link())
        assert reply.status == 200, await reply.text()
        return str((await reply.json())["csrf"])

    def acting(self, csrf: str) -> dict[str, str]:
        """The headers the page sends with an action."""
        return {"Origin": self.base, "X-Plantbus-CSRF": csrf}


@contextlib.asynccontextmanager
async def serving(
    nats_url: str,
    data_dir: Path,
    *,
    services: Sequence[type[Service]] = (),
    tls: ssl.SSLContext | None = None,
    **options: Any,
) -> AsyncIterator[Dashboard]:
    """The dashboard (and ``services``) hosted in this loop, with the test token."""
    port = free_port()
    config = {"dashboard": {"http_port": port, "token": TOKEN, **options}}
    scheme = "https" if tls else "http"
    async with (
        hosted(
            [*services, DashboardService], nats_url=nats_url, data_dir=data_dir, options=config
        ) as runner,
        aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # keep cookies of 127.0.0.1
            connector=aiohttp.TCPConnector(ssl=tls or True),
        ) as http,
    ):
        service = runner.services["dashboard"]
        assert isinstance(service, DashboardService)
        yield Dashboard(service, f"{scheme}://127.0.0.1:{port}", http, runner)


async def audits(bus: Bus, *services: str) -> dict[str, list[service_pb2.AuditRecord]]:
    """Per service, the audit records it publishes from now on."""
    record = service_pb2.AuditRecord
    out = {s: await collected(bus, f"plantbus.v1.audit.{s}", record) for s in services}
    await bus.nc.flush()  # subscribed at the server before anything is audited
    return out


async def raw_request(port: int, head: bytes, body: bytes = b"") -> tuple[int, dict[str, Any]]:
    """Send one HTTP/1.1 request as bytes; the status and the JSON body of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        head.rstrip(b"\r\n")
        + f"\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n".encode()
        + b"Connection: close\r\n\r\n"
        + body
    )
    answer = await reader.read()
    writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    payload = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), json.loads(payload)
