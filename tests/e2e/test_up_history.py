"""`plantbus up` keeps history from the first minute: the CLI finds the last minute of a
tag (raw and bucketed), events of the simulated line, and exports CSV and Parquet."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.hub import demo_plant, plantbus, running_hub

TAG = "demo/machining/line1/m1/spindle_temp"


def _lines(*args: str, data: Path) -> list[dict[str, Any]]:
    out = plantbus("history", *args, data_dir=data)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def _until(what: str, probe: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        assert time.monotonic() < deadline, f"{what} within {timeout}s"
        time.sleep(1)
    return found


@pytest.mark.slow
def test_up_keeps_history_from_the_first_minute(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    with running_hub(data, "--config", str(demo_plant(tmp_path))):
        raw = _until(
            "samples of the last minute",
            lambda: _lines("query", TAG, "--since", "1m", "--json", data=data),
        )
        assert all(r["path"] == TAG and r["quality"] == "good" for r in raw)
        assert all(isinstance(r["value"], float) for r in raw)
        buckets = _lines(
            "query",
            "demo/machining/line1/*/spindle_temp",
            "--since",
            "2m",
            "--bucket",
            "1m",
            "--json",
            data=data,
        )
        assert {b["path"] for b in buckets} >= {TAG}
        assert all(b["source"] == "minute" and int(b["count"]) >= 1 for b in buckets)
        human = plantbus("history", "query", TAG, "--since", "2m", "--bucket", "1m", data_dir=data)
        assert "twa=" in human.stdout, human.stderr

        out = tmp_path / "export.csv"
        done = plantbus(
            "history",
            "export",
            "--since",
            "10m",
            "--path",
            "demo/*",
            "--out",
            str(out),
            data_dir=data,
        )
        assert done.returncode == 0, done.stderr
        with out.open() as f:
            rows = list(csv.DictReader(f))
        assert rows and {r["path"] for r in rows} >= {TAG}
        assert "samples written" in done.stderr

        parquet = tmp_path / "export.parquet"
        done = plantbus(
            "history",
            "export",
            "--since",
            "10m",
            "--format",
            "parquet",
            "--out",
            str(parquet),
            data_dir=data,
        )
        assert done.returncode == 0, done.stderr
        pq = pytest.importorskip("pyarrow.parquet")
        assert pq.read_table(parquet).num_rows >= len(rows)

        unknown = plantbus("history", "query", "demo/nope", data_dir=data)
        assert unknown.returncode == 3 and "no stored tag matches 'demo/nope'" in unknown.stderr
        assert "Traceback" not in unknown.stderr
