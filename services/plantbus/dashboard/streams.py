"""The browsers' event streams (Server-Sent Events): one bounded queue per open page."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from plantbus.dashboard.http import strict_json
from plantbus.dashboard.sessions import Session

__all__ = ["Streams"]

_CLIENT_QUEUE = 500
_KEEP_ALIVE_S = 15


class Streams:
    """Open event streams and the session each belongs to (None: a public viewer)."""

    def __init__(self) -> None:
        self.clients: dict[asyncio.Queue[str], Session | None] = {}

    def push(self, kind: str, data: Any) -> None:
        """One event to every open page."""
        line = f"event: {kind}\ndata: {strict_json(data)}\n\n"
        for queue in list(self.clients):
            if queue.qsize() >= _CLIENT_QUEUE:  # a stalled browser: drop it, it reconnects
                self.clients.pop(queue, None)
                queue.put_nowait("")
            else:
                queue.put_nowait(line)

    def close(self, session: Session) -> None:
        """A signed-out session's event streams end now."""
        for queue, owner in list(self.clients.items()):
            if owner is session:
                queue.put_nowait("")

    def close_all(self) -> None:
        """Every stream ends (the dashboard stops)."""
        for queue in self.clients:
            queue.put_nowait("")

    async def serve(
        self, request: web.Request, session: Session | None, keep: Callable[[Session], bool]
    ) -> web.StreamResponse:
        """The stream of one page, for as long as ``keep(session)`` (or forever for a
        public viewer) and the browser reads it."""
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        queue: asyncio.Queue[str] = asyncio.Queue()
        self.clients[queue] = session
        try:
            await response.write(b": connected\n\n")
            # an open page keeps its session; a signed-out or expired one loses the stream
            while session is None or keep(session):
                try:
                    line = await asyncio.wait_for(queue.get(), _KEEP_ALIVE_S)
                except TimeoutError:
                    line = ": keep-alive\n\n"
                if not line:
                    break
                await response.write(line.encode())
        except ConnectionResetError:
            pass  # the browser went away; it reconnects on its own
        finally:
            self.clients.pop(queue, None)
        return response
