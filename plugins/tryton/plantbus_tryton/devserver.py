"""A throwaway trytond on SQLite, for tests, benchmarks and trying the connector.

Building a database (schema plus the production and project modules) takes about 15 s, so
the empty database is built once per trytond version in a cache directory and copied for
each server. Needs ``trytond``, ``trytond_production_work``/``_routing`` and
``trytond_project`` installed in the running interpreter's environment (the ``devserver``
extra, in requirements-dev.txt).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from plantbus.testing.ports import free_port

__all__ = [
    "ADMIN_PASSWORD",
    "DATABASE",
    "TrytonServer",
    "copy_database",
    "template_database",
    "tryton_server",
]

DATABASE = "mes"
ADMIN_PASSWORD = "admin-Secret-123"
MODULES = ("production_work", "production_routing", "project")
"""Activated in the test database: the ERP connector's and the maintenance requests'."""


def _bin(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    if not path.exists():
        raise RuntimeError(f"{name} not found beside {sys.executable}: pip install trytond")
    return str(path)


def _env(db_dir: Path, passfile: Path | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "TRYTOND_DATABASE__URI": "sqlite://",
        "TRYTOND_DATABASE__PATH": str(db_dir),
    }
    if passfile is not None:
        env["TRYTONPASSFILE"] = str(passfile)
    return env


def _version() -> str:
    from importlib.metadata import version

    return "-".join(version(p) for p in ("trytond", *(f"trytond_{m}" for m in MODULES)))


def template_database(cache: Path | None = None) -> Path:
    """The empty database file with the modules activated, built when missing."""
    cache = cache or Path(
        os.environ.get("PLANTBUS_TRYTON_CACHE", Path.home() / ".cache" / "plantbus" / "tryton")
    )
    target = cache / _version() / f"{DATABASE}.sqlite"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        work = Path(tmp)
        passfile = work / "passfile"
        passfile.write_text(ADMIN_PASSWORD + "\n")
        (work / f"{DATABASE}.sqlite").touch()  # trytond-admin does not create SQLite files
        result = subprocess.run(
            [
                _bin("trytond-admin"),
                "-d",
                DATABASE,
                "-u",
                *MODULES,
                "--activate-dependencies",
                "--email",
                "admin@example.com",
            ],
            env=_env(work, passfile),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"trytond-admin failed:\n{result.stderr[-2000:]}")
        os.replace(work / f"{DATABASE}.sqlite", target)  # atomic: parallel runs agree
    return target


def copy_database(source: Path, target: Path) -> None:
    """Copy an SQLite database, including what trytond still holds in its write-ahead log."""
    target.unlink(missing_ok=True)
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


@dataclass
class TrytonServer:
    """A running trytond: its URL, database directory and process."""

    url: str
    db_dir: Path
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    def start(self, timeout: float = 30.0) -> None:
        """Start (or restart) trytond on the same port and database; wait until it answers."""
        host_port = self.url.removeprefix("http://")
        self.log = self.db_dir / "trytond.log"
        env = {**_env(self.db_dir), "TRYTOND_WEB__LISTEN": host_port}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [_bin("trytond"), "-d", DATABASE], env=env, stdout=out, stderr=out
            )
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"trytond did not start; see {self.log}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop trytond (the database stays)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def answers(self) -> bool:
        """True when the server replies to a version request."""
        request = urllib.request.Request(
            self.url + "/rpc/",
            data=b'{"id": 0, "method": "common.server.version", "params": []}',
            headers={"Content-Type": "application/json"},
        )
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(request, timeout=1) as resp,
        ):
            return bool(resp.status == 200)
        return False


@contextlib.contextmanager
def tryton_server(workdir: Path, template: Path | None = None) -> Iterator[TrytonServer]:
    """A fresh copy of the template database served on a free loopback port."""
    db_dir = workdir / "tryton"
    db_dir.mkdir(parents=True, exist_ok=True)
    copy_database(template or template_database(), db_dir / f"{DATABASE}.sqlite")
    server = TrytonServer(f"http://127.0.0.1:{free_port()}", db_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _serve(directory: Path, port: int, orders: int) -> None:
    """Serve a persistent demo database in ``directory`` until interrupted."""
    import asyncio
    import signal

    from plantbus_tryton.rpc import TrytonRpc
    from plantbus_tryton.sample import release_orders, seed_plant

    db_dir = directory / "tryton"
    fresh = not (db_dir / f"{DATABASE}.sqlite").exists()
    if fresh:
        db_dir.mkdir(parents=True, exist_ok=True)
        print("building the Tryton database (about 15 s the first time)...", flush=True)
        copy_database(template_database(), db_dir / f"{DATABASE}.sqlite")
    server = TrytonServer(f"http://127.0.0.1:{port}", db_dir)
    server.start()

    async def seed() -> None:
        rpc = TrytonRpc(server.url, DATABASE, "admin", ADMIN_PASSWORD)
        try:
            plant = await seed_plant(rpc)
            references = [f"WO-{1000 + n}" for n in range(1, orders + 1)]
            await release_orders(rpc, plant, references, 20)
        finally:
            await rpc.close()

    try:
        if fresh:
            asyncio.run(seed())
            print(f"seeded: company, product SHAFT-20, work center line1, {orders} orders")
        print(
            f"trytond serving {server.url} database {DATABASE!r} "
            f"(admin / {ADMIN_PASSWORD}); log {server.log}; Ctrl-C stops it",
            flush=True,
        )
        assert server.process is not None
        signal.signal(signal.SIGTERM, lambda *_: server.stop())
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def main() -> None:
    """``python -m plantbus_tryton.devserver DIR``: a demo Tryton for ``plantbus up``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m plantbus_tryton.devserver",
        description="Run a demo trytond on SQLite with a seeded plant (see docs/erp.md).",
    )
    parser.add_argument("directory", type=Path, help="where the database is kept")
    parser.add_argument("--port", type=int, default=8000, help="loopback port (default 8000)")
    parser.add_argument("--orders", type=int, default=3, help="orders to release on first start")
    args = parser.parse_args()
    _serve(args.directory, args.port, args.orders)


if __name__ == "__main__":
    main()
