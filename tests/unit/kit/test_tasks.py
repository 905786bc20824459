"""Stopping tasks that swallow cancellation, as nats-py's publish and request can."""

from __future__ import annotations

import asyncio
import time

import pytest

from plantbus.kit.tasks import cancel


async def _swallows_once(swallowed: list[int]) -> None:
    """A loop whose first cancellation is lost inside a call, as nats-py loses it."""
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if swallowed:
                raise
            swallowed.append(1)


async def test_a_task_that_swallows_its_first_cancel_is_cancelled_again_until_it_ends() -> None:
    swallowed: list[int] = []
    task = asyncio.create_task(_swallows_once(swallowed))
    await asyncio.sleep(0)
    await cancel(task, timeout_s=5.0)
    assert task.cancelled(), "the second cancellation ended it"
    assert swallowed == [1]


async def test_a_task_that_never_ends_is_left_behind_after_the_deadline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()

    async def stubborn() -> None:
        while not stop.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    started = time.monotonic()
    await cancel(task, timeout_s=0.3)
    assert time.monotonic() - started < 2.0, "the shutdown went on"
    assert not task.done()
    assert "task stubborn ignored cancellation" in caplog.text
    stop.set()
    task.cancel()
    await asyncio.wait([task])


async def test_several_tasks_stop_together_and_a_failure_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fails() -> None:
        raise RuntimeError("broken reader")

    failed = asyncio.create_task(fails(), name="reader")
    sleepers = [asyncio.create_task(asyncio.sleep(3600)) for _ in range(3)]
    await asyncio.wait([failed])
    await cancel([failed, *sleepers], timeout_s=5.0)
    assert all(t.cancelled() for t in sleepers)
    assert "task reader had failed: broken reader" in caplog.text
    await cancel(None)
