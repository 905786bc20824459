"""``plantbus history``: query and export what the historian keeps, list its events."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from google.protobuf.json_format import MessageToDict

from plantbus.cli.durations import seconds
from plantbus.cli.hub import Hub, hub_options
from plantbus.cli.rpc import call
from plantbus.v1 import historian_pb2, telemetry_pb2

__all__ = ["commands", "when"]

_COLUMNS = ("path", "time", "value", "quality", "receive_time")


def when(value: str, option: str) -> datetime:
    """``8h`` (that long ago), ``now`` or an ISO time."""
    if value == "now":
        return datetime.now(UTC)
    if (span := seconds(value)) is not None:
        return datetime.now(UTC) - timedelta(seconds=span)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: use 30m, 8h, 7d, now or an ISO time", param_hint=option
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _range(request: Any, since: str, until: str) -> Any:
    request.start.FromDatetime(when(since, "--since"))
    request.end.FromDatetime(when(until, "--until"))
    return request


def _value(v: telemetry_pb2.TagValue) -> float | str | None:
    kind = v.WhichOneof("kind")
    return None if kind is None else getattr(v, kind)


def _row(s: historian_pb2.HistorySample) -> dict[str, Any]:
    return {
        "path": s.path,
        "time": s.time.ToDatetime(UTC).isoformat(),
        "value": _value(s.value),
        "quality": telemetry_pb2.Quality.Name(s.quality).removeprefix("QUALITY_").lower(),
        "receive_time": s.receive_time.ToDatetime(UTC).isoformat()
        if s.HasField("receive_time")
        else "",
    }


@click.group()
def history() -> None:
    """The past: tag trends, raw samples, export (needs the historian service)."""


@history.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--since", default="1h", show_default=True, help="Start: 30m, 8h, 7d or ISO time.")
@click.option("--until", default="now", show_default=True, help="End: a duration ago, or ISO.")
@click.option("--bucket", help="Aggregate per bucket of this width (1m, 15m, 1h).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@hub_options
def query(
    paths: tuple[str, ...], since: str, until: str, bucket: str | None, as_json: bool, hub: Hub
) -> None:
    """History of PATHS (site/area/line/machine/tag; globs allowed): raw samples, or
    aggregates per --bucket (count, min, max, mean, time-weighted mean, first, last, good)."""
    if bucket is None:
        for sample in _raw(hub, paths, since, until):
            row = _row(sample)
            if as_json:
                click.echo(json.dumps(row))
            else:
                click.echo(f"{row['time']}  {row['path']}  {row['value']}  {row['quality']}")
        return
    width = seconds(bucket)
    if not width:
        raise click.BadParameter(f"{bucket!r}: use 10s, 1m, 15m, 1h or 1d", param_hint="--bucket")
    request = historian_pb2.QueryHistoryRequest(
        paths=paths, mode=historian_pb2.HISTORY_MODE_BUCKETED
    )
    request.bucket.FromSeconds(width)
    reply = call(hub, "historian", "QueryHistory", _range(request, since, until))
    for tag in reply.tags:
        for b in tag.buckets:
            fields = MessageToDict(b, preserving_proto_field_name=True)
            if as_json:
                click.echo(json.dumps({"path": tag.path, "source": reply.source, **fields}))
                continue
            twa = f"{b.time_weighted_mean:.6g}" if b.HasField("time_weighted_mean") else "-"
            span = f"{b.min:.6g}..{b.max:.6g}" if b.HasField("min") else "-"
            click.echo(
                f"{b.start.ToDatetime(UTC).isoformat()}  {tag.path}  n={b.count}  "
                f"twa={twa}  range={span}  good={b.good_fraction:.0%}"
            )


def _raw(
    hub: Hub, paths: tuple[str, ...], since: str, until: str
) -> Iterator[historian_pb2.HistorySample]:
    token = ""
    request = _range(historian_pb2.QueryHistoryRequest(paths=paths), since, until)
    while True:
        request.page_token = token
        reply = call(hub, "historian", "QueryHistory", request)
        for tag in reply.tags:
            yield from tag.samples
        if not (token := reply.next_page_token):
            return


_KINDS = sorted(
    name.removeprefix("EVENT_KIND_").lower()
    for name in historian_pb2.EventKind.keys()  # noqa: SIM118 - an enum wrapper, no dict
    if name != "EVENT_KIND_UNSPECIFIED"
)


@history.command()
@click.option("--kind", "kinds", multiple=True, type=click.Choice(_KINDS),
              help="Only events of this kind (repeat; default all).")  # fmt: skip
@click.option("--scope", default="", help="A machine or line path and everything under it.")
@click.option("--since", default="1d", show_default=True, help="Start: 30m, 8h, 7d or ISO time.")
@click.option("--until", default="now", show_default=True, help="End: a duration ago, or ISO.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@hub_options
def events(
    kinds: tuple[str, ...], scope: str, since: str, until: str, as_json: bool, hub: Hub
) -> None:
    """Stored events, oldest first: OEE, downtime, alarms, work orders, confirmations,
    final figures, maintenance (windows, anomalies, forecasts, plan changes)."""
    request = historian_pb2.QueryEventsRequest(scope=scope)
    request.kinds.extend(getattr(historian_pb2, f"EVENT_KIND_{k.upper()}") for k in kinds)
    _range(request, since, until)
    while True:
        reply = call(hub, "historian", "QueryEvents", request)
        for e in reply.events:
            kind = historian_pb2.EventKind.Name(e.kind).removeprefix("EVENT_KIND_").lower()
            if as_json:
                click.echo(json.dumps(MessageToDict(e, preserving_proto_field_name=True)))
                continue
            said = e.maintenance.message if e.HasField("maintenance") else ""
            click.echo(f"{e.time.ToDatetime(UTC).isoformat()}  {kind}  {e.scope}  {e.key}  {said}")
        if not reply.next_page_token:
            return
        request.page_token = reply.next_page_token


class _Writer:
    """Rows into a CSV file, or a Parquet file through pyarrow."""

    def __init__(self, out: Path, fmt: str) -> None:
        self.fmt = fmt
        self.rows: list[dict[str, Any]] = []
        if fmt == "parquet":
            try:
                import pyarrow  # noqa: F401 - checked before anything is exported
            except ImportError:
                raise click.ClickException(
                    "--format parquet needs pyarrow: pip install 'plantbus[parquet]' "
                    "(or use --format csv)"
                ) from None
            return
        self._file = out.open("w", newline="")
        self._csv = csv.DictWriter(self._file, fieldnames=_COLUMNS)
        self._csv.writeheader()

    def write(self, samples: Any) -> None:
        rows = [_row(s) for s in samples]
        if self.fmt == "parquet":
            self.rows.extend(rows)
        else:
            self._csv.writerows(rows)

    def close(self, out: Path) -> None:
        if self.fmt == "csv":
            self._file.close()
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {name: [r[name] for r in self.rows] for name in _COLUMNS}
        columns["value"] = [v if isinstance(v, float) else None for v in columns["value"]]
        pq.write_table(pa.table(columns), out)


@history.command()
@click.option("--path", "paths", multiple=True, help="Tag path or glob (repeat; default all).")
@click.option("--since", default="1d", show_default=True, help="Start: 30m, 8h, 7d or ISO time.")
@click.option("--until", default="now", show_default=True, help="End: a duration ago, or ISO.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@hub_options
def export(paths: tuple[str, ...], since: str, until: str, fmt: str, out: Path, hub: Hub) -> None:
    """Every raw sample of the matching tags in the range into a CSV or Parquet file."""
    writer = _Writer(out, fmt)
    request = _range(historian_pb2.ExportRequest(paths=paths), since, until)
    total = 0
    with click.progressbar(
        length=1, label="exporting", file=click.get_text_stream("stderr")
    ) as bar:

        def chunk(reply: historian_pb2.ExportResponse) -> None:
            nonlocal total
            writer.write(reply.samples)
            total += len(reply.samples)
            bar.length = max(reply.tags_total, 1)
            bar.label = f"exporting {reply.tags_done}/{reply.tags_total} tags, {total:,} samples"
            bar.update(reply.tags_done - bar.pos)

        call(hub, "historian", "Export", request, each=chunk)
    writer.close(out)
    click.echo(f"{total:,} samples written to {out}", err=True)


commands = [history]
