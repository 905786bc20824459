"""Pytest fixtures: a real trytond on SQLite with the sample plant, on a free port.

The empty database is cached across runs (see :mod:`plantbus_tryton.devserver`); the
sample master data is seeded once per test session, and every test gets its own copy
of that database and its own server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from plantbus_tryton.devserver import (
    ADMIN_PASSWORD,
    DATABASE,
    TrytonServer,
    copy_database,
    template_database,
    tryton_server,
)
from plantbus_tryton.rpc import TrytonRpc
from plantbus_tryton.sample import SamplePlant, seed_plant

__all__ = ["TrytonErp"]


@dataclass
class TrytonErp:
    """A running trytond with the sample plant."""

    server: TrytonServer
    plant: SamplePlant
    password_file: Path
    """Holds the admin password, for plant config that refers to it (``file:<path>``)."""

    def rpc(self) -> TrytonRpc:
        """A new admin session (close it when done)."""
        return TrytonRpc(self.server.url, DATABASE, "admin", ADMIN_PASSWORD)

    def settings(self, **extra: Any) -> dict[str, Any]:
        """Connector settings as the connector receives them (the password resolved)."""
        return {
            "url": self.server.url,
            "database": DATABASE,
            "password": ADMIN_PASSWORD,
            "work_center": "line1",
            **extra,
        }

    def request_settings(self, project: str, **extra: Any) -> dict[str, Any]:
        """Settings of the maintenance-request connector filing under ``project``."""
        settings = {**self.settings(project=project, **extra)}
        settings.pop("work_center")
        return settings

    def config_settings(self, **extra: Any) -> dict[str, Any]:
        """Connector settings as a plant config holds them: the password by reference."""
        return self.settings(password=f"file:{self.password_file}", **extra)


def _seed(url: str) -> SamplePlant:
    async def run() -> SamplePlant:
        rpc = TrytonRpc(url, DATABASE, "admin", ADMIN_PASSWORD)
        try:
            return await seed_plant(rpc)
        finally:
            await rpc.close()

    return asyncio.run(run())


@pytest.fixture(scope="session")
def tryton_sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SamplePlant]:
    """A database file with the sample plant, and the plant's ids."""
    work = tmp_path_factory.mktemp("tryton-sample")
    with tryton_server(work, template_database()) as server:
        plant = _seed(server.url)
    seeded = work / "sample.sqlite"
    copy_database(server.db_dir / f"{DATABASE}.sqlite", seeded)
    return seeded, plant


@pytest.fixture
def tryton(tmp_path: Path, tryton_sample: tuple[Path, SamplePlant]) -> Iterator[TrytonErp]:
    """A trytond of this test's own, with the sample plant."""
    seeded, plant = tryton_sample
    password = tmp_path / "tryton-password"
    password.write_text(ADMIN_PASSWORD + "\n")
    password.chmod(0o600)
    with tryton_server(tmp_path, seeded) as server:
        yield TrytonErp(server, plant, password)


@pytest.fixture
async def tryton_rpc(tryton: TrytonErp) -> AsyncIterator[TrytonRpc]:
    """An admin session on :func:`tryton`, logged in."""
    session = tryton.rpc()
    await session.login()
    yield session
    await session.close()
