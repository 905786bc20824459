"""The ``linetag`` wire protocol, apart from the driver as a vendor's client library would
be: ``GET <tag>`` and ``SET <tag> <json>`` lines, answered ``OK [<json>]`` or
``ERR <reason>``. Replace this module with your protocol (or your vendor's library)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

__all__ = ["LineClient"]


class LineClient:
    """One TCP connection carrying one request at a time.

    Raises OSError (including ConnectionError) when the link fails and TimeoutError when
    the server does not answer in time; the driver translates both.
    """

    def __init__(self, host: str, port: int, timeout_s: float) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        """Open the connection."""
        async with asyncio.timeout(self.timeout_s):
            self._stream = await asyncio.open_connection(self.host, self.port)

    async def request(self, line: str, *value: Any) -> tuple[bool, Any]:
        """Send one line (with ``value`` as JSON); (True, the answer's value or None) or
        (False, the server's reason)."""
        if self._stream is None:
            raise ConnectionError("not connected")
        reader, writer = self._stream
        async with self._lock, asyncio.timeout(self.timeout_s):
            writer.write(f"{' '.join([line, *map(json.dumps, value)])}\n".encode())
            answer = await reader.readline()
        if not answer:
            raise ConnectionError("connection closed by the server")
        status, _, rest = answer.decode().rstrip("\n").partition(" ")
        if status != "OK":
            return False, rest
        try:
            return True, json.loads(rest) if rest else None
        except ValueError:
            return False, f"not a JSON value: {rest!r}"

    async def close(self) -> None:
        """Close the connection; safe at any time."""
        if self._stream is not None:
            writer, self._stream = self._stream[1], None
            writer.close()
            with contextlib.suppress(OSError):  # already reset by the server
                await writer.wait_closed()
