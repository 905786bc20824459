"""The PostgreSQL store's connections: one that writes, ``read_connections`` that read
(so reads run beside a write). A broken connection (a server restart) is made anew on
its next use; a failed statement raises StoreUnavailable (or StoreFull)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import psycopg

from plantbus.sdk.historian import StoreUnavailable
from plantbus_postgres.settings import PostgresSettings, failure

__all__ = ["Connections"]

_CLOSED = "PostgreSQL historian store is not open"


class Connections:
    """The writer and the readers of one store; :meth:`open` before use."""

    def __init__(self, settings: PostgresSettings) -> None:
        self.settings = settings
        self._w: psycopg.AsyncConnection[Any] | None = None
        self._readers: asyncio.Queue[psycopg.AsyncConnection[Any] | None] | None = None

    def open(self) -> None:
        """Make room for the readers; connections are made on first use."""
        self._readers = asyncio.Queue()
        for _ in range(self.settings.read_connections):
            self._readers.put_nowait(None)

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        s = self.settings
        extra: dict[str, Any] = {"connect_timeout": max(1, round(s.connect_timeout_s))}
        if s.password is not None:
            extra["password"] = s.password.get_secret_value()
        try:
            return await psycopg.AsyncConnection.connect(s.dsn, autocommit=True, **extra)
        except psycopg.Error as err:
            raise failure(err) from err

    async def writer(self) -> psycopg.AsyncConnection[Any]:
        """The writing connection (the caller holds the store's write lock)."""
        if self._readers is None:
            raise StoreUnavailable(_CLOSED)
        if self._w is None or self._w.closed or self._w.broken:
            self._w = await self._connect()
        return self._w

    @contextlib.asynccontextmanager
    async def reader(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A read connection for the block; a broken one is replaced."""
        if self._readers is None:
            raise StoreUnavailable(_CLOSED)
        readers = self._readers
        conn = await readers.get()
        try:
            if conn is None or conn.closed or conn.broken:
                conn = await self._connect()
            yield conn
        except psycopg.Error as err:
            raise failure(err) from err
        finally:
            readers.put_nowait(conn)

    async def rows(self, query: str, params: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
        """Every row of one read statement."""
        async with self.reader() as conn:
            cur = await conn.execute(query, params)  # type: ignore[arg-type]
            return await cur.fetchall()

    async def close(self) -> None:
        """Close every connection; safe twice."""
        conns = [self._w]
        while self._readers is not None and not self._readers.empty():
            conns.append(self._readers.get_nowait())
        self._w, self._readers = None, None
        for conn in conns:
            if conn is not None:
                with contextlib.suppress(psycopg.Error):
                    await conn.close()
