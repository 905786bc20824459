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


def test_events_pages_through_the_historian_and_names_each_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`plantbus history events --kind maintenance` asks for that kind and follows the
    pages (the RPC replaced: the request is what the historian gets)."""
    from click.testing import CliRunner

    from plantbus.cli import history
    from plantbus.v1 import historian_pb2, maintenance_pb2

    asked: list[historian_pb2.QueryEventsRequest] = []

    def call(hub: object, service: str, method: str, request: object) -> object:
        assert (service, method) == ("historian", "QueryEvents")
        assert isinstance(request, historian_pb2.QueryEventsRequest)
        asked.append(historian_pb2.QueryEventsRequest.FromString(request.SerializeToString()))
        page = len(asked)
        event = historian_pb2.HistoryEvent(
            kind=historian_pb2.EVENT_KIND_MAINTENANCE,
            scope="s/a/l/m2",
            key="spindle-temp",
            maintenance=maintenance_pb2.MaintenanceEvent(message=f"forecast {page}"),
        )
        event.time.FromMicroseconds(page * 1_000_000)
        return historian_pb2.QueryEventsResponse(
            events=[event], next_page_token="next" if page == 1 else ""
        )

    monkeypatch.setattr(history, "call", call)
    args = ["history", "events", "--kind", "maintenance", "--scope", "s/a/l/m2"]
    result = CliRunner().invoke(cli, [*args, "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert [list(r.kinds) for r in asked] == [[historian_pb2.EVENT_KIND_MAINTENANCE]] * 2
    assert [r.page_token for r in asked] == ["", "next"]
    assert asked[0].scope == "s/a/l/m2"
    lines = result.output.splitlines()
    assert lines == [
        "1970-01-01T00:00:01+00:00  maintenance  s/a/l/m2  spindle-temp  forecast 1",
        "1970-01-01T00:00:02+00:00  maintenance  s/a/l/m2  spindle-temp  forecast 2",
    ]
