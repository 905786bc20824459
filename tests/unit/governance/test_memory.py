"""Handing freed heap memory back to the system after a whole config was read."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from plantbus.governance import memory
from plantbus.testing.waiting import wait_until

GLIBC = platform.libc_ver()[0] == "glibc"


FREED_IN_THE_MIDDLE = """
from pathlib import Path
from plantbus.governance import memory

def rss_mb():
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024

held = []
for _ in range(400):  # 40 MB of heap blocks, each pinned in place by a small one after it
    held += [b"x" * 100_000, bytearray(600)]
del held[::2]
before = rss_mb()
assert memory.release() is True
print(before - rss_mb())
"""


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_release_hands_back_memory_freed_in_the_middle_of_the_heap() -> None:
    # a fresh process: its heap is laid out as the script says, not as earlier tests left it
    done = subprocess.run(
        [sys.executable, "-c", FREED_IN_THE_MIDDLE], capture_output=True, text=True, check=True
    )
    assert float(done.stdout) > 20  # without it the pages stay in the process


async def test_calls_in_a_row_release_once(monkeypatch: pytest.MonkeyPatch) -> None:
    released: list[bool] = []
    monkeypatch.setattr(memory, "release", lambda: released.append(True))
    monkeypatch.setattr(memory, "RELEASE_AFTER_S", 0.01)
    pending = memory.Release()
    for _ in range(3):
        pending.soon()
    await wait_until(lambda: released, timeout=5)
    assert released == [True]  # the first two were due as early and never ran
