"""Waiting on conditions with a deadline, the only way tests synchronise with background work."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["wait_until"]

T = TypeVar("T")


async def wait_until(
    predicate: Callable[[], T | Awaitable[T]],
    timeout: float = 10.0,
    interval: float = 0.05,
    message: str = "",
) -> T:
    """Poll ``predicate`` (sync or async) until it returns something truthy; return that.

    Raises TimeoutError naming ``message`` (or the predicate) when ``timeout`` passes.
    """
    try:
        async with asyncio.timeout(timeout):
            while True:
                result = predicate()
                if inspect.isawaitable(result):
                    result = await result
                if result:
                    return result  # type: ignore[return-value]
                await asyncio.sleep(interval)
    except TimeoutError:
        what = message or getattr(predicate, "__name__", "condition")
        raise TimeoutError(f"{what} not met within {timeout}s") from None
