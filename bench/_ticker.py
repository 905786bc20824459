"""Bench helper: the poll jitter this machine gives an event loop that does nothing else.

``python bench/_ticker.py TASKS INTERVAL_S`` runs ``TASKS`` tasks that each wake every
``INTERVAL_S`` seconds on a schedule, spread over the interval like the device service's
polls; prints ``ready``, and when stdin closes the p50 and p99 of ``|gap - interval|``
between consecutive wake-ups in ms, as JSON. Run beside a jitter measurement, it tells
how much of that jitter the machine's other load causes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _hub import percentile


async def tick(phase: float, interval: float, wakes: list[float]) -> None:
    next_at = time.monotonic() + phase
    while True:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        wakes.append(time.monotonic())
        next_at += interval


async def main(tasks: int, interval: float) -> None:
    series: list[list[float]] = [[] for _ in range(tasks)]
    running = [
        asyncio.create_task(tick(interval * i / tasks, interval, s)) for i, s in enumerate(series)
    ]
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for task in running:
        task.cancel()
    gaps = [abs(b - a - interval) * 1e3 for s in series for a, b in itertools.pairwise(s)]
    print(json.dumps({"p50": percentile(gaps, 50), "p99": percentile(gaps, 99)}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), float(sys.argv[2])))
