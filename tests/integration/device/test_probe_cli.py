"""``plantbus probe`` against a real linetag server (the template plugin): reads, writes,
JSON output, and errors that say why."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from plantbus_linetag.server import LineTagServer

from plantbus.cli.main import cli
from plantbus.kit.net import free_port


@pytest.fixture
def server() -> Iterator[LineTagServer]:
    """A linetag server on its own event loop thread (the CLI runs asyncio.run itself)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = LineTagServer({"speed": 1200, "temp": 21.5, "label": "hello"})
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(5)
    yield server
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def probe(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["probe", *args])
    return result.exit_code, result.output


def test_reads_print_value_quality_and_round_trip(server: LineTagServer) -> None:
    code, out = probe(server.endpoint, "--read", "speed:int32", "--read", "temp")
    assert code == 0, out
    speed, temp = out.splitlines()
    assert speed.startswith("speed:int32 = 1200  [good]") and speed.endswith(" ms")
    assert temp.startswith("temp = 21.5  [good]")


def test_json_has_one_object_per_address_with_errors(server: LineTagServer) -> None:
    code, out = probe(
        server.endpoint,
        "--read",
        "speed:int32",
        "--read",
        "nothere",
        "--read",
        "label:int16",
        "--json",
    )
    assert code == 1
    speed, missing, mismatch = (json.loads(line) for line in out.splitlines())
    assert speed["value"] == 1200 and speed["quality"] == "good" and "error" not in speed
    assert missing["quality"] == "bad" and "illegal address" in missing["error"]
    assert missing["value"] is None
    assert "'hello' is not int16" in mismatch["error"]


def test_write_reads_back(server: LineTagServer, tmp_path: Path) -> None:
    args = [server.endpoint, "--write", "speed:int32=1500", "--json", "--yes"]
    result = CliRunner().invoke(cli, ["probe", *args, "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["value"] == 1500
    assert server.values["speed"] == 1500


def test_refused_and_unknown_scheme_say_why() -> None:
    port = free_port()
    code, out = probe(f"linetag://127.0.0.1:{port}", "--read", "speed", "--json")
    assert code == 1 and "connection refused" in json.loads(out)["error"]
    code, out = probe("nosuch://127.0.0.1:1", "--read", "x")
    assert code == 1 and "no installed driver handles nosuch://" in out
    assert "linetag://" in out and "memory://" in out


def test_browse_on_a_driver_that_cannot(server: LineTagServer) -> None:
    code, out = probe(server.endpoint, "--browse")
    assert code == 1 and "cannot browse" in out


def test_illegal_address_is_reported_before_connecting() -> None:
    port = free_port()
    code, out = probe(f"linetag://127.0.0.1:{port}", "--read", "speed:notatype", "--read", "x")
    assert code == 1
    bad_type, refused = out.splitlines()
    assert "illegal address 'speed:notatype'" in bad_type
    assert "connection refused" in refused
