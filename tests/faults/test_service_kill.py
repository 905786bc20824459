"""Services SIGKILLed under load inside `plantbus up`: the supervisor restarts them and
their state comes back from JetStream without counting anything twice."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest


def plantbus(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plantbus.cli", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
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


def machine_total(data: Path) -> tuple[str, int]:
    """Shift and parts of m1 in it, from the OEE service's own snapshot."""
    out = plantbus(
        "tail",
        "plantbus.v1.oee.demo.machining.line1.m1",
        "--count",
        "1",
        "--timeout",
        "20",
        data_dir=data,
    )
    assert out.returncode == 0, out.stderr
    message: dict[str, Any] = json.loads(out.stdout.splitlines()[0])["message"]
    return str(message.get("shift", "")), int(message.get("total_count", 0))


def child(proc: subprocess.Popen[bytes], service: str) -> psutil.Process:
    for c in psutil.Process(proc.pid).children(recursive=True):
        cmd = c.cmdline()
        if "run" in cmd and cmd[cmd.index("run") + 1] == service:
            return c
    raise AssertionError(f"no {service} child")


@pytest.mark.slow
def test_oee_killed_under_load_counts_nothing_twice(
    hub: tuple[subprocess.Popen[bytes], Path],
) -> None:
    proc, data = hub
    deadline = time.monotonic() + 60
    while (before := machine_total(data))[1] < 3:
        assert time.monotonic() < deadline, "m1 produced nothing"
    victim = child(proc, "oee")
    killed_at = time.monotonic()
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    deadline = time.monotonic() + 60
    while True:
        try:
            replacement = child(proc, "oee")
            if replacement.pid != victim.pid:
                break
        except AssertionError:
            pass
        assert time.monotonic() < deadline, "oee was not restarted"
        time.sleep(0.2)
    after = machine_total(data)
    elapsed = time.monotonic() - killed_at + 5
    if after[0] != before[0]:
        pytest.skip("a shift boundary passed during the test; totals restart per shift")
    # m1 makes a part every ~2 s: the total continues from where it was, it does not
    # restart from zero and does not jump by re-counted parts
    assert before[1] <= after[1] <= before[1] + elapsed / 2.0 + 5, (before, after, elapsed)


def status(data: Path) -> dict[str, dict[str, Any]]:
    out = plantbus("status", "--json", data_dir=data)
    assert out.returncode == 0, out.stderr
    return {s["service"]: s for s in json.loads(out.stdout)["services"]}


@pytest.mark.slow
def test_every_service_comes_back_serving_the_same_config_after_sigkill(
    hub: tuple[subprocess.Popen[bytes], Path],
) -> None:
    proc, data = hub
    before = status(data)
    assert before["governance"]["config_version"] == 1
    assert not any(s["config_drift"] for s in before.values())
    for service in ("governance", "device", "alerting", "erp", "dashboard"):
        victim = child(proc, service)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        deadline = time.monotonic() + 60
        while True:
            now = status(data).get(service)
            if now and now["pid"] != victim.pid and now["health"] == "serving":
                break
            assert time.monotonic() < deadline, f"{service} did not come back"
            time.sleep(0.3)
        assert not now["config_drift"], f"{service} lost its config: {now}"
    # and telemetry still flows from the restarted device service
    out = plantbus(
        "tail", "plantbus.v1.telemetry.>", "--count", "1", "--timeout", "20", data_dir=data
    )
    assert out.returncode == 0, out.stderr
