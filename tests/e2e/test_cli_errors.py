"""Bad input on the command line: one line naming what is wrong, non-zero exit, no traceback;
and `plantbus run` stops gracefully on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from plantbus.kit import pki
from plantbus.kit.natsserver import NatsServer
from plantbus.testing.ports import free_port


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plantbus.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def governance_tls(tmp_path: Path) -> dict[str, str]:
    """What plantbus up gives the governance process: its certificate, key and the CA."""
    made, _ = pki.ensure(tmp_path / "pki", ["governance"])
    files = made.service("governance")
    return {
        "PLANTBUS_GRPC_TLS_CERT": str(files.cert),
        "PLANTBUS_GRPC_TLS_KEY": str(files.key),
        "PLANTBUS_GRPC_TLS_CA": str(made.ca_cert),
    }


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_unknown_service(tmp_path: Path) -> None:
    result = run("run", "billing", "--nats-url", "nats://127.0.0.1:1", "--data-dir", str(tmp_path))
    assert_one_line_error(result, "unknown service 'billing'", "governance, device")


def test_nats_port_in_use(tmp_path: Path, busy_port: int) -> None:
    result = run("up", "--nats-port", str(busy_port), "--data-dir", str(tmp_path))
    assert_one_line_error(result, f"port {busy_port} is in use", "--random-ports")


def test_mqtt_port_in_use(tmp_path: Path, busy_port: int) -> None:
    result = run(
        "up",
        "--nats-port",
        str(free_port()),
        "--mqtt-port",
        str(busy_port),
        "--data-dir",
        str(tmp_path),
    )
    assert_one_line_error(result, f"MQTT port {busy_port} is in use", "--mqtt-port")


def test_grpc_port_in_use(tmp_path: Path, busy_port: int, nats_server: NatsServer) -> None:
    result = run(
        "run",
        "governance",
        "--nats-url",
        nats_server.url,
        "--grpc-port",
        str(busy_port),
        "--data-dir",
        str(tmp_path),
        env=governance_tls(tmp_path),
    )
    assert_one_line_error(result, f"cannot listen for gRPC on 127.0.0.1:{busy_port}")


def test_a_service_without_certificates_is_refused_unless_insecure(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    common = ["run", "governance", "--nats-url", nats_server.url, "--data-dir", str(tmp_path)]
    result = run(*common, "--grpc-port", "0")
    assert_one_line_error(result, "gRPC needs TLS: PLANTBUS_GRPC_TLS_CERT", "--insecure")
    result = run(*common, "--grpc-host", "0.0.0.0", "--insecure")
    assert_one_line_error(result, "only on loopback, not on '0.0.0.0'")


def test_missing_nats_server_binary(tmp_path: Path) -> None:
    result = run(
        "up",
        "--random-ports",
        "--data-dir",
        str(tmp_path),
        env={"PLANTBUS_NATS_SERVER": str(tmp_path / "nope")},
    )
    assert_one_line_error(result, "PLANTBUS_NATS_SERVER=", "not an executable file")


def test_bad_option(tmp_path: Path) -> None:
    result = run("run", "governance", "--option", "nonsense", "--data-dir", str(tmp_path))
    assert_one_line_error(result, "expected SERVICE.KEY=VALUE")


def test_sigterm_stops_a_service_cleanly(tmp_path: Path, nats_server: NatsServer) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "plantbus.cli",
            "run",
            "governance",
            "--nats-url",
            nats_server.url,
            "--grpc-port",
            "0",
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **governance_tls(tmp_path)},
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "ready:" in line:
            break
    else:
        pytest.fail("service never became ready")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    rest = proc.stdout.read()
    assert "stopping" in rest and "Traceback" not in rest
