"""The hub the fault tests break: a real `plantbus up` on free ports in a temporary dir."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """`plantbus up --random-ports` once every service is ready; its process and data dir."""
    data = tmp_path / "hub"
    proc = subprocess.Popen(
        [sys.executable, "-m", "plantbus.cli", "up", "--random-ports", "--data-dir", str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while not (data / "runtime.json").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "plantbus up failed"
        time.sleep(0.2)
    try:
        yield proc, data
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
