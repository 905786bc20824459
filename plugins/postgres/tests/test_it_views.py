"""The IT door: the example queries of docs/historian.md, read from the page, run against a
real server on rows written through the store, with the answers a plant expects."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from plantbus_postgres.store import PostgresStore

from plantbus.sdk.historian import MINUTE_US, Event, Sample, StoreContext, WriteBatch, summarize
from plantbus.v1 import oee_pb2

DOC = Path(__file__).resolve().parents[3] / "docs" / "historian.md"
TAG = "demo/machining/line1/m1/spindle_temp"
NOW = time.time_ns() // 1000
DAY = 86_400_000_000


def doc_queries() -> dict[str, str]:
    """Every ``<!-- query: NAME -->`` SQL block of the page."""
    found = re.findall(r"<!-- query: ([\w-]+) -->\n```sql\n(.*?)```", DOC.read_text(), re.S)
    return dict(found)


def _final(machine: str, end_us: int, oee: float, revision: int, **period: str) -> Event:
    msg = oee_pb2.OeeSnapshot(scope=machine, oee=oee, revision=revision, final=True, **period)
    msg.availability, msg.performance, msg.quality = oee, 1.0, 1.0
    msg.time.FromMicroseconds(end_us)
    key = f"shift:{msg.shift}" if msg.shift else f"work_order:{msg.work_order}"
    return Event("oee_final", machine, end_us, key, msg.SerializeToString())


def _stop(
    id: str, start_us: int, minutes: float, reason: str, planned: bool = False
) -> list[Event]:
    started = oee_pb2.DowntimeEvent(id=id, machine="s/a/l/m1", planned=planned)
    started.kind = oee_pb2.DOWNTIME_KIND_STARTED
    started.start.FromMicroseconds(start_us)
    ended = oee_pb2.DowntimeEvent()
    ended.CopyFrom(started)
    ended.kind, ended.reason = oee_pb2.DOWNTIME_KIND_ENDED, reason
    end_us = start_us + int(minutes * MINUTE_US)
    ended.end.FromMicroseconds(end_us)
    return [
        Event("downtime", "s/a/l/m1", start_us, id, started.SerializeToString()),
        Event("downtime", "s/a/l/m1", end_us, id, ended.SerializeToString()),
    ]


SERIES = [
    Sample(TAG, t, float(i // 60) + (i % 7) / 10, None, 1, t)
    for i, t in enumerate(range(NOW - NOW % MINUTE_US - 3 * 3600 * 10**6, NOW, 1_000_000))
]


@pytest.fixture
async def dsn(postgres_dsn: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database with three hours of a tag, final OEE figures and stops."""
    settings = PostgresStore.Settings.model_validate({"dsn": postgres_dsn})
    store = PostgresStore(settings, StoreContext(tmp_path))
    await store.open()
    events = [
        _final("s/a/l/m1", NOW - 2 * DAY, 0.5, 0, shift="early"),
        _final("s/a/l/m2", NOW - DAY, 0.7, 0, shift="late"),
        _final("s/a/l/m1", NOW - 2 * DAY, 0.6, 1, shift="early"),  # the correction
        _final("s/a/l/m1", NOW - DAY, 0.9, 0, work_order="WO-7"),
        _final("s/a/l/m1", NOW - 10 * DAY, 0.4, 0, shift="early"),  # too old
        *_stop("d1", NOW - DAY, 10, "jam"),
        *_stop("d2", NOW - 2 * DAY, 5, "jam"),
        *_stop("d3", NOW - 3 * DAY, 20, "tool change"),
        *_stop("d4", NOW - DAY, 30, "break", planned=True),
        *_stop("d5", NOW - 8 * DAY, 60, "jam"),  # too old
    ]
    try:
        await store.write(WriteBatch(samples=SERIES, events=events))
        yield postgres_dsn
    finally:
        await store.close()


async def _run(dsn: str, query: str) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        return await (await conn.execute(query)).fetchall()


def test_the_page_ships_each_example_query() -> None:
    assert set(doc_queries()) == {
        "oee-per-shift",
        "top-downtime-reasons",
        "tag-trend",
        "grafana-tag-trend",
    }


async def test_oee_per_shift_answers_the_latest_revision_of_each_closed_shift(dsn: str) -> None:
    rows = await _run(dsn, doc_queries()["oee-per-shift"])
    got = [(machine, shift, revision, float(oee)) for machine, shift, _, revision, *_, oee in rows]
    assert got == [("s/a/l/m1", "early", 1, 0.6), ("s/a/l/m2", "late", 0, 0.7)]


async def test_top_downtime_reasons_sum_unplanned_stops_of_the_week(dsn: str) -> None:
    rows = await _run(dsn, doc_queries()["top-downtime-reasons"])
    assert [(r, n, float(m)) for r, n, m in rows] == [("tool change", 1, 20.0), ("jam", 2, 15.0)]


async def test_tag_trend_is_a_point_per_closed_minute_equal_to_the_reference(dsn: str) -> None:
    rows = await _run(dsn, doc_queries()["tag-trend"])
    start = SERIES[0].time_us
    want = summarize(SERIES, start, SERIES[-1].time_us - SERIES[-1].time_us % MINUTE_US, MINUTE_US)
    first_kept = NOW - 24 * 3600 * 10**6
    want = [b for b in want if b.start_us >= first_kept]
    assert len(rows) == len(want) == 180
    for (at, mean, low, high), bucket in zip(rows, want, strict=True):
        assert at == datetime.fromtimestamp(bucket.start_us / 1e6, UTC)
        assert (mean, low, high) == pytest.approx((bucket.mean, bucket.min, bucket.max))


async def test_the_grafana_query_with_its_macros_expanded(dsn: str) -> None:
    """Grafana replaces $__timeFrom() and $__timeTo() with quoted RFC 3339 times."""
    since = datetime.fromtimestamp((SERIES[0].time_us + 30 * MINUTE_US) / 1e6, UTC)
    until = datetime.fromtimestamp((SERIES[0].time_us + 90 * MINUTE_US) / 1e6, UTC)
    query = doc_queries()["grafana-tag-trend"]
    query = query.replace("$__timeFrom()", f"'{since:%Y-%m-%dT%H:%M:%SZ}'")
    query = query.replace("$__timeTo()", f"'{until:%Y-%m-%dT%H:%M:%SZ}'")
    rows = await _run(dsn, query)
    assert len(rows) == 60 and rows[0][0] == since
    assert rows[0][1] == pytest.approx(30 + sum(i % 7 for i in range(1800, 1860)) / 600)
