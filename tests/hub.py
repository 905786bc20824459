"""Driving a real `plantbus up` from tests: the demo plant, the hub, its CLI, its child
processes and their status."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import psutil
import yaml
from pydantic import SecretStr

from plantbus.kit import natsauth, natsconfig
from plantbus.kit.bus import NatsSettings, inbox_prefix

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def demo_plant(tmp: Path) -> Path:
    """The demo plant without shift breaks, so OEE has values at any time of day."""
    plant = tmp / "plant"
    shutil.copytree(EXAMPLES / "plant", plant)
    oee = yaml.safe_load((plant / "oee.yaml").read_text())
    for calendar in oee["shift_calendars"]:
        for shift in calendar["shifts"]:
            shift["breaks"] = []
    (plant / "oee.yaml").write_text(yaml.safe_dump(oee, sort_keys=False))
    return plant


def plantbus(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plantbus.cli", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@contextlib.contextmanager
def running_hub(
    data: Path, *args: str, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`plantbus up --random-ports ARGS` (with ``env`` added to its environment) until
    every service is ready; Ctrl-C at the end."""
    command = [sys.executable, "-m", "plantbus.cli", "up", "--random-ports"]
    proc = subprocess.Popen(
        [*command, "--data-dir", str(data), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    deadline = time.monotonic() + 90
    while not (data / "runtime.json").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "plantbus up failed"
        time.sleep(0.2)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)


def child(proc: subprocess.Popen[bytes], service: str) -> psutil.Process:
    """The `plantbus run <service>` process of the hub."""
    for c in psutil.Process(proc.pid).children(recursive=True):
        cmd = c.cmdline()
        if "run" in cmd and cmd[cmd.index("run") + 1] == service:
            return c
    raise AssertionError(f"no {service} child")


def status(data: Path) -> dict[str, dict[str, Any]]:
    """`plantbus status --json`, by service."""
    out = plantbus("status", "--json", data_dir=data)
    assert out.returncode == 0, out.stderr
    return {s["service"]: s for s in json.loads(out.stdout)["services"]}


def settled(data: Path, timeout: float = 60) -> dict[str, dict[str, Any]]:
    """:func:`status` once every service is serving its applied config: `plantbus up`
    reports ready at each service's first SERVING heartbeat, and on a loaded machine a
    service may still be catching up (degraded) or applying the config a moment later."""
    deadline = time.monotonic() + timeout
    while True:
        now = status(data)
        unsettled = {
            name: (s["health"], s["config_drift"])
            for name, s in now.items()
            if s["health"] != "serving" or s["config_drift"]
        }
        if not unsettled:
            return now
        assert time.monotonic() < deadline, f"not serving the applied config: {unsettled}"
        time.sleep(0.3)


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


def nats_login(data: Path, user: str = natsauth.OPERATOR) -> dict[str, Any]:
    """``nats.connect`` arguments for one of the hub's NATS users (default: the operator)."""
    secret = natsconfig.password_file(natsconfig.credentials_dir(data), user).read_text().strip()
    url = json.loads((data / "runtime.json").read_text())["nats_url"]
    return {"servers": [url], "user": user, "password": secret, "inbox_prefix": inbox_prefix(user)}


def nats_settings(data: Path, user: str = natsauth.OPERATOR) -> NatsSettings:
    """:class:`NatsSettings` for one of the hub's NATS users."""
    login = nats_login(data, user)
    return NatsSettings(url=login["servers"][0], user=user, password=SecretStr(login["password"]))
