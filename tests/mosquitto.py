"""A real MQTT broker for tests: Debian's mosquitto on a free port in a temporary dir, TLS
with a throwaway CA, and password users."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from plantbus.testing.ports import free_port

__all__ = ["MISSING", "running_mosquitto"]

MISSING = "mosquitto is not installed (Debian package mosquitto: apt-get install mosquitto)"


@contextlib.contextmanager
def running_mosquitto(
    directory: Path, pki: Path, users: Mapping[str, str], timeout: float = 10.0
) -> Iterator[int]:
    """mosquitto with a TLS listener (``pki``'s ``localhost`` certificate, as
    tests.certs.make_pki makes it) and ``users`` (name -> password); yields its port."""
    binary, passwd = shutil.which("mosquitto"), shutil.which("mosquitto_passwd")
    if binary is None or passwd is None:
        pytest.skip(MISSING)
    directory.mkdir(parents=True, exist_ok=True)
    passwords = directory / "passwd"
    passwords.touch(mode=0o600)
    for user, password in users.items():
        subprocess.run([passwd, "-b", str(passwords), user, password], check=True)
    port = free_port()
    config = directory / "mosquitto.conf"
    config.write_text(
        "\n".join(
            [
                "user root",  # started as root (CI): stay, to read the files below
                "persistence false",
                f"log_dest file {directory / 'mosquitto.log'}",
                "log_type all",
                "per_listener_settings false",
                "allow_anonymous false",
                f"password_file {passwords}",
                f"listener {port} 127.0.0.1",
                f"cafile {pki / 'ca.crt'}",
                f"certfile {pki / 'localhost.crt'}",
                f"keyfile {pki / 'localhost.key'}",
                "",
            ]
        )
    )
    proc = subprocess.Popen([binary, "-c", str(config)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"mosquitto did not start on {port}: {err}")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
