"""A real PostgreSQL server for tests: Debian's ``postgresql`` package, a cluster made by
initdb in a temporary directory, listening on a free loopback port, as a non-root user
(the server refuses to run as root: under root it runs as ``postgres``, created with
useradd when missing). Stopped and removed after."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from plantbus.kit.net import free_port

__all__ = ["PostgresServer", "postgres_bin"]

_USER = "postgres"
_OPTIONS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "50",
    "shared_buffers": "64MB",
    # a throw-away cluster: no fsync (a server restart still recovers; only the box's
    # power loss would not)
    "fsync": "off",
    "full_page_writes": "off",
}


def postgres_bin() -> Path | None:
    """The newest server's bin directory of Debian's postgresql package, None when absent."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3])
    )
    return found[-1].parent if found else None


def _run_as() -> dict[str, Any]:
    """Popen arguments that drop root to the server's user (none when not root)."""
    if os.geteuid() != 0:
        return {}
    try:
        pwd.getpwnam(_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", _USER], check=True)
    entry = pwd.getpwnam(_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid}


class PostgresServer:
    """One throw-away cluster; ``superuser`` may create databases."""

    superuser = "plantbus"

    def __init__(self) -> None:
        bindir = postgres_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL is missing: apt-get install postgresql")
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="plantbus-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self._as = _run_as()
        if self._as:
            os.chown(self.dir, self._as["user"], self._as["group"])
        self._proc: subprocess.Popen[bytes] | None = None

    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq connection string for ``dbname``."""
        return f"host=127.0.0.1 port={self.port} user={self.superuser} dbname={dbname}"

    def own(self, path: Path) -> Path:
        """Make ``path`` a directory of the server's user (for a tablespace)."""
        path.mkdir(exist_ok=True)
        if self._as:
            os.chown(path, self._as["user"], self._as["group"])
        return path

    def _tool(self, name: str, *args: str) -> None:
        subprocess.run(
            [str(self.bindir / name), *args], check=True, capture_output=True, **self._as
        )

    def start(self) -> PostgresServer:
        """initdb on first start, then run the server until it accepts connections."""
        if not self.data.exists():
            self._tool(
                "initdb", "-D", str(self.data), "-U", self.superuser, "--auth=trust",
                "--no-sync", "--encoding=UTF8", "--locale=C",
            )  # fmt: skip
        log = (self.dir / "server.log").open("ab")
        options = {**_OPTIONS, "unix_socket_directories": str(self.dir)}
        args = [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        for key, value in options.items():
            args += ["-c", f"{key}={value}"]
        self._proc = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            **self._as,
        )
        log.close()
        deadline = time.monotonic() + 30
        while True:
            ready = subprocess.run(
                [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
                check=False,
            )
            if ready.returncode == 0:
                return self
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self) -> str:
        """The end of the server's log, for failures."""
        with contextlib.suppress(OSError):
            return (self.dir / "server.log").read_text(errors="replace")[-2000:]
        return ""

    def stop(self, *, immediate: bool = False) -> None:
        """Stop the server: a fast shutdown, or ``immediate`` (no checkpoint: crash
        recovery on the next start, as after a kill)."""
        if self._proc is None:
            return
        self._proc.send_signal(3 if immediate else 2)  # SIGQUIT immediate, SIGINT fast
        try:
            self._proc.wait(30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def create_database(self, name: str) -> str:
        """A new empty database; its connection string."""
        self._tool("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.superuser, name)
        return self.dsn(name)

    def remove(self) -> None:
        """Stop and delete the cluster."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
