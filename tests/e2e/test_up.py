"""`plantbus up` from the outside: brings every service up healthy, `plantbus status` finds it
through the data dir, and Ctrl-C leaves no child process behind."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from plantbus.kit.registry import SERVICES
from plantbus.testing.waiting import wait_until

UP_TIMEOUT_S = 90


def plantbus(*args: str, data_dir: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plantbus.cli", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_for_file(path: Path, proc: subprocess.Popen[str], timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"plantbus up exited with {proc.returncode}: {out[-2000:]}")
        if path.exists():
            return dict(json.loads(path.read_text()))
        time.sleep(0.1)
    pytest.fail(f"{path} not written within {timeout}s")


@contextlib.contextmanager
def running_up(data_dir: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    """``plantbus up --random-ports *args`` on ``data_dir``, stopped with Ctrl-C at the end."""
    up = [sys.executable, "-m", "plantbus.cli", "up", "--random-ports", *args]
    proc = subprocess.Popen(
        [*up, "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    data_dir = tmp_path / "hub"
    with running_up(data_dir) as proc:
        yield proc, data_dir


@pytest.mark.slow
def test_up_status_a_second_hub_refused_and_clean_stop(
    hub: tuple[subprocess.Popen[str], Path],
) -> None:
    proc, data_dir = hub
    started = time.monotonic()
    runtime = wait_for_file(data_dir / "runtime.json", proc, UP_TIMEOUT_S)
    elapsed = time.monotonic() - started
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children, "plantbus up started no child process"
    token = (data_dir / "dashboard-token").read_text()
    assert not [c.cmdline() for c in children if token in " ".join(c.cmdline())], "token in ps"

    status = plantbus("status", "--json", data_dir=data_dir)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    by_name = {s["service"]: s for s in report["services"]}
    for name in list(SERVICES):
        assert by_name[name]["health"] == "serving", by_name.get(name)
        assert by_name[name]["grpc"] == runtime["services"][name]["grpc"]  # type: ignore[index]
    print(f"hub up in {elapsed:.1f}s with {len(children)} child processes")

    tail = plantbus(
        "tail",
        "plantbus.v1.telemetry.demo.machining.line1.m1.>",
        "--count",
        "2",
        "--timeout",
        "30",
        data_dir=data_dir,
        timeout=60,
    )
    assert tail.returncode == 0, tail.stderr
    first = json.loads(tail.stdout.splitlines()[0])
    assert first["subject"].startswith("plantbus.v1.telemetry.demo.machining.line1.m1.")
    assert first["message"]["samples"][0]["quality"] == "QUALITY_GOOD"

    # the README's probe of the simulator: signed and encrypted, its certificate trusted by
    # the hub that made it
    opcua = f"opc.tcp://{runtime['sim']['opcua']}"  # type: ignore[index]

    def browsed() -> subprocess.CompletedProcess[str] | None:
        result = plantbus("probe", opcua, "--browse", data_dir=data_dir)
        return result if result.returncode == 0 else None

    browse = asyncio.run(wait_until(browsed, timeout=30, message=f"{opcua} browsed"))
    assert "ns=2;s=Line1" in browse.stdout
    assert "security Aes256_Sha256_RsaPss SignAndEncrypt" in browse.stderr

    check_scripting(data_dir)

    # a second hub on the same data dir while this one runs
    second = plantbus("up", "--random-ports", data_dir=data_dir)
    assert second.returncode != 0
    assert "already running" in second.stderr
    assert "Traceback" not in second.stderr

    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 0
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"left behind: {[p.pid for p in alive]}"
    assert not (data_dir / "runtime.json").exists()


LISTS = (
    ("devices", "list"),
    ("devices", "show", "m1-plc"),
    ("alarms", "list", "--all"),
    ("alarms", "history"),
    ("alarms", "metrics"),
    ("config", "history"),
    ("config", "show"),
    ("oee", "show", "demo/machining/line1/m1"),
    ("erp", "orders"),
    ("erp", "status"),
    ("erp", "dead-letters"),
    ("users", "token", "list"),
)


def check_scripting(data_dir: Path) -> None:
    """What scripts rely on (docs/cli.md): --json on every list and show, and exit codes
    that tell not found from refused."""
    for command in LISTS:

        def answered(
            command: tuple[str, ...] = command,
        ) -> subprocess.CompletedProcess[str] | None:
            result = plantbus(*command, "--json", data_dir=data_dir)
            assert result.returncode in (0, 3), f"{command}: {result.stderr}"
            return result if result.returncode == 0 else None  # 3: OEE has no m1 yet

        result = asyncio.run(wait_until(answered, timeout=60, message=" ".join(command)))
        assert isinstance(json.loads(result.stdout), dict), command
    missing = plantbus("devices", "show", "no-such-plc", data_dir=data_dir)
    assert missing.returncode == 3, missing.stderr
    assert "no-such-plc" in missing.stderr
    # the local operator acting for nobody: no write policy grants it a tag write
    refused = plantbus("devices", "write", "m1-plc", "speed_setpoint", "1200", data_dir=data_dir)
    assert refused.returncode == 4, refused.stderr
    assert "PERMISSION_DENIED" in refused.stderr


def test_status_without_hub_says_how_to_start_one(tmp_path: Path) -> None:
    result = plantbus("status", data_dir=tmp_path)
    assert result.returncode == 5, "hub unreachable"
    assert "plantbus up" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_nats_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "plantbus.cli", "status", "--nats-url", "nats://127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 5, "hub unreachable"
    assert "cannot connect to NATS at nats://127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr
