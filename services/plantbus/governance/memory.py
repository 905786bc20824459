"""Giving back to the system the memory that reading a whole config freed.

glibc's malloc keeps what a process frees for its next allocations and returns only the
free top of its heaps. Reading, validating, dumping and cutting a plant config, and the
gRPC request that carried it, free tens of MB in the middle of them, which stayed in
governance's RSS until it stopped (50,000 tags: about 40 MB). ``malloc_trim(0)`` hands
every free page back (3 ms there). Where the C library has none (musl, macOS) nothing is
done.

Python's own allocator (pymalloc) hands back an arena of 1 MiB only once every block in
it is free: :func:`collect` before a version is stored keeps what lives on from pinning
arenas the apply filled with what it is about to free.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
from collections.abc import Callable
from functools import cache

__all__ = ["Release", "collect", "release"]

RELEASE_AFTER_S = 0.5
"""After the call that carried a config ended: its request and reply are freed by then."""


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # no such symbol, or no C library to ask
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim  # type: ignore[no-any-return]


def release() -> bool:
    """Return the heap's free pages to the system; False where the C library cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def collect() -> None:
    """A full collection (governance pauses the collector while it reads a config). It
    finds next to nothing to free after an apply's reading and diffing, but made before
    the version is stored it keeps governance flat over whole-plant re-applies (50,000
    tags, every device changed, in one process: 171, 174, 176 MB after three without,
    148, 148, 152 with; at the end of the call instead 153, 158, 161), likely as a full
    collection also empties the interpreter's free lists of tuples, lists, dicts and
    floats, whose blocks would otherwise keep arenas. About 0.1 s at 50,000 tags."""
    gc.collect()


class Release:
    """One :func:`release` RELEASE_AFTER_S after the latest :meth:`soon` (calls in a row
    postpone it: the pages are handed back once, when they stop)."""

    def __init__(self) -> None:
        self._pending: asyncio.TimerHandle | None = None

    def soon(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
        self._pending = asyncio.get_running_loop().call_later(RELEASE_AFTER_S, release)
