"""A service's background tasks: a task that dies is seen at once, none outlives stop."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, cast

import pytest

from plantbus.kit.bus import Bus
from plantbus.kit.service import Service, ServiceContext
from plantbus.kit.supervisor import TaskSet
from plantbus.testing.waiting import wait_until


class _Looping(Service):
    """A service with one loop that runs until stopped and one that fails on demand."""

    name = "looping"

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self.fail = asyncio.Event()
        self.ticks = 0

    async def start(self) -> None:
        self.tasks.spawn(self._run(), name="looping-run")
        self.tasks.spawn(self._fails(), name="looping-fails")

    async def _run(self) -> None:
        while True:
            self.ticks += 1
            await asyncio.sleep(0.01)

    async def _fails(self) -> None:
        await self.fail.wait()
        raise RuntimeError("register map out of range")


def _context(tmp_path: Path) -> ServiceContext:
    return ServiceContext(
        name="looping", instance="i1", bus=cast(Bus, None), data_dir=tmp_path, audit=_no_audit
    )


async def _no_audit(**_: Any) -> None:
    return None


async def test_a_task_that_dies_turns_the_service_to_not_serving_and_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with _Looping(_context(tmp_path)) as service:
        assert service.reported_health() == (True, "")
        service.fail.set()
        await wait_until(lambda: not service.reported_health()[0], timeout=5)
        detail = service.reported_health()[1]
        assert "looping-fails" in detail and "register map out of range" in detail
        assert any("looping-fails died" in r.getMessage() for r in caplog.records)
        ticks = service.ticks
        await wait_until(lambda: service.ticks > ticks, timeout=5)  # the sibling runs on
    assert len(service.tasks) == 0, "stop left nothing running"


async def test_stop_cancels_every_task_still_running(tmp_path: Path) -> None:
    service = _Looping(_context(tmp_path))
    await service.start()
    assert len(service.tasks) == 2
    await service.stop()
    assert len(service.tasks) == 0
    assert service.reported_health() == (True, ""), "a cancelled task is not a failure"


async def test_a_service_that_fails_to_start_is_stopped_again(tmp_path: Path) -> None:
    class _Broken(_Looping):
        async def start(self) -> None:
            await super().start()
            raise OSError("port taken")

    service = _Broken(_context(tmp_path))
    with pytest.raises(OSError, match="port taken"):
        async with service:
            pass
    assert len(service.tasks) == 0


async def test_drain_waits_for_short_tasks_then_returns() -> None:
    tasks = TaskSet(logging.getLogger("t"))
    done = asyncio.Event()

    async def audit_record() -> None:
        await asyncio.sleep(0.01)
        done.set()

    tasks.spawn(audit_record(), name="audit")
    await tasks.drain(timeout_s=5)
    assert done.is_set() and len(tasks) == 0
