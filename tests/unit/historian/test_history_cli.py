"""The history CLI without a hub: times, bucket widths and the missing-pyarrow error."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest

from plantbus.cli.history import _Writer, when
from plantbus.cli.main import cli


def test_times_are_durations_ago_now_or_iso() -> None:
    assert abs(when("8h", "--since") - (datetime.now(UTC) - timedelta(hours=8))).total_seconds() < 5
    assert when("2026-11-30T08:00:00", "--since") == datetime(2026, 11, 30, 8, tzinfo=UTC)
    with pytest.raises(click.BadParameter, match="use 30m, 8h, 7d"):
        when("yesterday", "--since")


def test_parquet_without_pyarrow_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(click.ClickException, match=r"pip install 'plantbus\[parquet\]'"):
        _Writer(tmp_path / "x.parquet", "parquet")
    assert not (tmp_path / "x.parquet").exists()


def test_a_bad_bucket_is_refused_before_any_call(tmp_path: Path) -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(
        cli, ["history", "query", "a/b", "--bucket", "soon", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 2 and "use 10s, 1m, 15m, 1h or 1d" in result.output
