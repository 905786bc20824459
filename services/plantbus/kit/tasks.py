"""Stopping background tasks so that a shutdown always ends.

nats-py can swallow a CancelledError that lands while it flushes or waits for a reply, so
a loop that was cancelled once may run on, and ``task.cancel(); await task`` then waits
forever (a service that never stops, a pod that never terminates). :func:`cancel` cancels
again until the task ends, and after a deadline leaves it behind with an error in the log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

__all__ = ["cancel"]

log = logging.getLogger(__name__)

_RETRY_S = 1.0


async def cancel(
    tasks: asyncio.Task[Any] | Iterable[asyncio.Task[Any]] | None, timeout_s: float = 10.0
) -> None:
    """Cancel ``tasks`` and wait until each has ended, re-cancelling every second.

    A task still running after ``timeout_s`` is logged and left behind. A task that ended
    with an error has it logged here, since nobody else awaits it.
    """
    if tasks is None:
        return
    every = [tasks] if isinstance(tasks, asyncio.Task) else list(tasks)
    pending = set(every)
    deadline = time.monotonic() + timeout_s
    while pending:
        for task in pending:
            task.cancel()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            for task in pending:
                log.error(
                    "task %s ignored cancellation for %.0fs; left behind",
                    task.get_name(),
                    timeout_s,
                )
            break
        _, pending = await asyncio.wait(pending, timeout=min(_RETRY_S, remaining))
    for task in every:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("task %s had failed: %s", task.get_name(), task.exception())
