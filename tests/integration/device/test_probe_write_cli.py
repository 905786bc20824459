"""``plantbus probe --write`` against the simulator's real pymodbus server: it says loudly
that it bypasses the hub's policies and audit, writes nothing without a confirmation (or
``--yes``), and logs every write to ``<data_dir>/probe-writes.log``."""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from plantbus.cli.main import cli
from plantbus.sim.model import MachineSim, line
from plantbus.sim.server import ModbusSim, serve_modbus

SPEED = "holding:10:uint16"  # m1's speed setpoint


@pytest.fixture
async def plc() -> AsyncIterator[tuple[str, MachineSim]]:
    """The simulated line on Modbus TCP: its URL and machine m1."""
    machines = line()
    async with serve_modbus(ModbusSim(machines)) as port:
        yield f"modbus://127.0.0.1:{port}", machines[0]


async def probe(*args: str, data_dir: Path, answer: str = "") -> Result:
    """The CLI in a thread (it runs its own event loop), ``answer`` on its stdin."""
    argv = ["probe", *args, "--data-dir", str(data_dir)]
    return await asyncio.to_thread(CliRunner().invoke, cli, argv, input=answer)


def records(data_dir: Path) -> list[dict[str, object]]:
    log = data_dir / "probe-writes.log"
    return [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []


async def test_refused_without_confirmation(plc: tuple[str, MachineSim], tmp_path: Path) -> None:
    url, m1 = plc
    before = m1.speed_setpoint
    for answer in ("", "n\n"):  # no terminal to ask on, and a "no"
        refused = await probe(url, "--write", f"{SPEED}=4321", data_dir=tmp_path, answer=answer)
        assert refused.exit_code != 0
        assert "bypasses the hub's write policies, tag limits and audit" in refused.output
        assert f"{SPEED} = 4321" in refused.output
        assert m1.speed_setpoint == before
    assert records(tmp_path) == []


async def test_done_with_yes_and_logged(plc: tuple[str, MachineSim], tmp_path: Path) -> None:
    url, m1 = plc
    before = m1.speed_setpoint
    done = await probe(url, "--write", f"{SPEED}=4321", "--yes", data_dir=tmp_path)
    assert done.exit_code == 0, done.output
    assert "bypasses the hub's write policies" in done.stderr
    assert done.stdout.startswith(f"{SPEED} = 4321  [good]")
    assert m1.speed_setpoint == 4321
    confirmed = await probe(url, "--write", f"{SPEED}=1500", data_dir=tmp_path, answer="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert m1.speed_setpoint == 1500
    first, second = records(tmp_path)
    assert first["user"] == getpass.getuser() and first["time"]
    assert first["url"] == url and first["address"] == SPEED
    assert (first["old"], first["new"], first["read_back"]) == (before, 4321, 4321)
    assert first["written"] is True and first["error"] == ""
    assert (second["old"], second["new"]) == (4321, 1500)
    assert (tmp_path / "probe-writes.log").stat().st_mode & 0o077 == 0


async def test_nothing_written_when_it_cannot_be_logged(
    plc: tuple[str, MachineSim], tmp_path: Path
) -> None:
    url, m1 = plc
    before = m1.speed_setpoint
    (tmp_path / "probe-writes.log").mkdir()  # a directory where the log file should be
    refused = await probe(url, "--write", f"{SPEED}=4321", "--yes", data_dir=tmp_path)
    assert refused.exit_code == 1
    assert "cannot write the log" in refused.output and "nothing was done" in refused.output
    assert m1.speed_setpoint == before


async def test_a_refused_write_is_logged_with_its_error(
    plc: tuple[str, MachineSim], tmp_path: Path
) -> None:
    url, _ = plc
    beyond = "holding:5000:uint16"  # the simulator has 300 registers
    refused = await probe(url, "--write", f"{beyond}=1", "--yes", data_dir=tmp_path)
    assert refused.exit_code == 1
    (record,) = records(tmp_path)
    assert record["address"] == beyond and record["new"] == 1 and record["old"] is None
    assert record["written"] is False and "illegal" in str(record["error"]).lower()
