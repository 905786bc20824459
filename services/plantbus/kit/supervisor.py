"""A service's background tasks, supervised: none dies unseen, none outlives the service.

A service that keeps its own list of tasks sees a crashed loop only when it stops, if at
all: the loop is gone, the heartbeat still says serving, and the data it carried stops
flowing with nothing in the log. :class:`TaskSet` logs a task that ends with an error at
once and keeps the first such error as the service's ``failure``, which the heartbeat
reports as not serving. ``close()`` cancels everything still running (through
:func:`plantbus.kit.tasks.cancel`, which survives tasks that swallow a cancellation).

We do not use a bare ``asyncio.TaskGroup``: one failed loop would cancel its siblings, and
a hub next to machines keeps doing what it still can (a dead notifier loop must not stop
telemetry) while telling the operator what broke.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from plantbus.kit.tasks import cancel

__all__ = ["TaskSet"]


class TaskSet:
    """Background tasks of one service; ``spawn`` them, ``close`` on stop."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._tasks: set[asyncio.Task[Any]] = set()
        self.failure = ""
        """The first task that ended with an error, as ``"<name>: <error>"``; "" if none."""

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run ``coro`` as a task called ``name`` until it ends or the set is closed."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._ended)
        return task

    def __len__(self) -> int:
        return len(self._tasks)

    def _ended(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or (err := task.exception()) is None:
            return
        self._log.error("task %s died: %r", task.get_name(), err, exc_info=err)
        if not self.failure:
            self.failure = f"{task.get_name()}: {err!r}"

    async def drain(self, timeout_s: float) -> None:
        """Let running tasks finish for up to ``timeout_s`` (audit records under way)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)

    async def close(self) -> None:
        """Cancel every task still running and wait until each has ended."""
        await cancel(set(self._tasks))
