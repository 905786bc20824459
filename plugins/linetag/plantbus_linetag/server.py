"""A linetag server holding values in memory, for tests and demos.

Run ``python -m plantbus_linetag.server --port 7000`` to serve ``speed``, ``temperature``,
``running`` and ``label``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from typing import Any

__all__ = ["DEMO_VALUES", "LineTagServer"]

DEMO_VALUES: dict[str, Any] = {"speed": 1200, "temperature": 21.5, "running": True, "label": "m1"}


class LineTagServer:
    """Serves ``values`` on 127.0.0.1; ``stop()`` and ``start()`` keep the port."""

    def __init__(self, values: dict[str, Any] | None = None, port: int = 0) -> None:
        self.values = dict(DEMO_VALUES if values is None else values)
        self.port = port
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    @property
    def endpoint(self) -> str:
        """The URL drivers connect to."""
        return f"linetag://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen (on a free port the first time, the same port after)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every connection."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._clients):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    def answer(self, line: str) -> str:
        """The answer to one request line."""
        verb, _, rest = line.partition(" ")
        address, _, text = rest.partition(" ")
        if address not in self.values and verb in {"GET", "SET"}:
            return f"ERR illegal address {address!r}"
        if verb == "GET":
            return f"OK {json.dumps(self.values[address])}"
        if verb == "SET":
            try:
                self.values[address] = json.loads(text)
            except ValueError:
                return f"ERR not a JSON value: {text!r}"
            return "OK"
        return f"ERR unknown request {verb!r}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while line := await reader.readline():
                writer.write(f"{self.answer(line.decode().strip())}\n".encode())
                await writer.drain()
        except ConnectionError:
            pass  # the client went away
        finally:
            self._clients.discard(writer)
            writer.close()


async def _main(port: int) -> None:
    server = LineTagServer(port=port)
    await server.start()
    print(f"serving {server.endpoint}", flush=True)
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=7000)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(parser.parse_args().port))
