"""Things that start and stop (the runner, every service) as async context managers.

``async with thing:`` starts it and stops it at the end; when starting fails part way,
what had started is stopped before the error goes on, so a failed start leaves nothing
running (``stop()`` must therefore cope with a partial start).
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self

__all__ = ["Started"]


class Started(abc.ABC):
    """Base of what ``start()``s and ``stop()``s; an async context manager."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Start; on an error, ``stop()`` is called before it is raised."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop whatever started; safe after a partial start and when called twice."""

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
