"""Child processes of ``plantbus up``: start, watch, restart with back-off, stop cleanly."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from plantbus.kit.process import die_with_parent
from plantbus.sdk.errors import PlantbusError

__all__ = ["Child", "Supervisor"]

log = logging.getLogger(__name__)


@dataclass
class Child:
    """One supervised process: ``args`` run with their output appended to ``log_file``;
    or, when ``launch`` is set, the process it returns (a server whose start waits until
    it accepts clients, such as the embedded NATS, which writes ``log_file`` itself)."""

    name: str
    args: list[str]
    log_file: Path
    launch: Callable[[], subprocess.Popen[bytes]] | None = None
    env: dict[str, str] = field(default_factory=dict)
    """Added to the environment of the process (file paths, never secret values)."""
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = field(default=0.0)

    def start(self) -> None:
        """Start (or restart) the process."""
        if self.launch is not None:
            self.process = self.launch()
        else:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            with self.log_file.open("ab") as out:
                self.process = subprocess.Popen(
                    self.args,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env={**os.environ, **self.env},
                    preexec_fn=die_with_parent(),  # noqa: PLW1509 - only calls prctl, no locks
                )
        self.started_at = time.monotonic()

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the child's log, for error messages."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])


@dataclass
class Supervisor:
    """Starts children in order, restarts the ones that die, stops them in reverse order."""

    children: list[Child] = field(default_factory=list)
    max_backoff_s: float = 30.0

    def add(self, child: Child) -> Child:
        """Register and start a child."""
        self.children.append(child)
        child.start()
        return child

    def check(self, now: float | None = None) -> list[str]:
        """Restart dead children with capped exponential back-off; return what happened."""
        now = time.monotonic() if now is None else now
        events = []
        for child in self.children:
            if child.alive or child.process is None:
                continue
            if child.next_start == 0.0:
                if now - child.started_at > 60:
                    child.restarts = 0  # it ran a good while: treat the next crash as a first one
                delay = min(self.max_backoff_s, 0.5 * 2**child.restarts)
                child.next_start = now + delay
                code = child.process.returncode
                events.append(
                    f"{child.name} exited with code {code}; restarting in {delay:.1f}s "
                    f"(log: {child.log_file})"
                )
            elif now >= child.next_start:
                child.restarts += 1
                child.next_start = 0.0
                try:
                    child.start()
                except (OSError, PlantbusError) as err:
                    # its process is still the exited one: the next check backs off again
                    events.append(f"{child.name} did not start: {err}")
                    continue
                events.append(f"{child.name} restarted")
        return events

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM every child (newest first), wait, then SIGKILL what is left."""
        for child in reversed(self.children):
            if child.alive and child.process:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in reversed(self.children):
            if child.process is None:
                continue
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(remaining)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0fs; killing it", child.name, timeout)
                with contextlib.suppress(ProcessLookupError):
                    child.process.kill()
                child.process.wait()
