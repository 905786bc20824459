"""Backtest: a historian export replayed through the same engine, scored against the
ground truth of failures (pure; the reference detector is optional).

For every failure: the lead time of the first warning of the failing component's
condition plans (``warning`` or ``due``) and of the first anomaly of its machine's
monitors, counted from the last replacement (or the start). On machines without a
failure: the warnings and anomalies per machine-week (false by definition). A recorded
replacement restarts the component's counters, baselines and trends, as
``plantbus maintenance done`` does.

The reference detector is scikit-learn's IsolationForest on the same windows (mean,
RMS, std, peak): one forest per tag and machine state, trained on the first
``baseline_windows`` windows after a start or a replacement, an alarm when
``persistence`` windows in a row score as outliers (``predict == -1``).
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from plantbus.config import PlantConfig
from plantbus.kit.truth import Failure, read_truth
from plantbus.maintenance.engine import Engine, ModelFactory
from plantbus.sdk.errors import ValidationFailed
from plantbus.sdk.maintenance import Window

__all__ = ["Failure", "Result", "Row", "backtest", "read_export", "read_truth", "reference"]

_WEEK_S = 7 * 86400.0


@dataclass
class Row:
    """One detector's figures."""

    detector: str
    leads_h: list[float | None] = field(default_factory=list)
    """Per failure: hours from the first warning to the failure (None: missed)."""
    false_per_machine_week: float = 0.0

    @property
    def caught(self) -> int:
        """Failures warned of before they happened."""
        return sum(lead is not None for lead in self.leads_h)


@dataclass
class Result:
    """Everything a backtest found."""

    rows: list[Row]
    failures: list[Failure]
    healthy_weeks: float
    samples: int
    windows: int


def _time(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def read_export(path: Path) -> list[tuple[str, float, object]]:
    """Good samples of a ``plantbus history export`` CSV, in time order."""
    out: list[tuple[str, float, object]] = []
    with path.open(newline="") as source:
        for row in csv.DictReader(source):
            if row.get("quality", "good") != "good" or row.get("value", "") == "":
                continue
            value: object
            try:
                value = float(row["value"])
            except ValueError:
                value = row["value"]
            out.append((row["path"], _time(row["time"]), value))
    out.sort(key=lambda r: r[1])
    if not out:
        raise ValidationFailed(f"{path}: no good samples (is it a plantbus history export?)")
    return out


def _lead(times: Iterable[float], since: float, failure: float) -> float | None:
    first = min((t for t in times if since <= t < failure), default=None)
    return None if first is None else (failure - first) / 3600


def _score(
    name: str,
    alarms: dict[str, list[float]],
    failures: Sequence[Failure],
    machines: Iterable[str],
    span: tuple[float, float],
) -> Row:
    row = Row(name)
    previous: dict[str, float] = defaultdict(lambda: span[0])
    for f in sorted(failures, key=lambda f: f.time):
        row.leads_h.append(_lead(alarms.get(f.machine, []), previous[f.machine], f.time))
        previous[f.machine] = f.replaced
    healthy = [m for m in machines if m not in {f.machine for f in failures}]
    weeks = len(healthy) * (span[1] - span[0]) / _WEEK_S
    false = sum(len(alarms.get(m, [])) for m in healthy)
    row.false_per_machine_week = false / weeks if weeks else math.nan
    return row


def backtest(
    config: PlantConfig,
    samples: Sequence[tuple[str, float, object]],
    failures: Sequence[Failure],
    span: tuple[float, float],
    models: ModelFactory,
    with_reference: bool = True,
) -> Result:
    """Replay ``samples`` through the engine and score its warnings and anomalies (and
    the reference detector's, when scikit-learn is there and ``with_reference``)."""
    engine = Engine(models)
    engine.configure(config, span[0])
    replacements = sorted((f.replaced, f.machine, f.component) for f in failures)
    warned: dict[str, list[float]] = defaultdict(list)
    anomalies: dict[str, list[float]] = defaultdict(list)
    windows: list[tuple[str, Window]] = []
    resets: list[tuple[float, str]] = []
    plan_of = {p.name: p for p in config.maintenance.plans}
    for path, t, value in samples:
        while replacements and replacements[0][0] <= t:
            when, machine, component = replacements.pop(0)
            engine.done(machine, component, when, "replaced (ground truth)", "backtest")
            resets.append((when, machine))
        for e in engine.sample(path, t, value):
            if e.kind in ("warning", "due") and plan_of[e.plan].by == "condition":
                warned[e.machine].append(e.time)
            elif e.kind == "anomaly":
                anomalies[e.machine].append(e.time)
            elif e.kind == "window" and e.window is not None:
                windows.append((e.machine, e.window))
    machines = {p.rsplit("/", 1)[0] for p in engine.monitored}
    rows = [
        _score("forecast warning (Theil-Sen)", warned, failures, machines, span),
        _score("anomaly score (median/MAD)", anomalies, failures, machines, span),
    ]
    if with_reference:
        alarms = reference(windows, resets, config)
        if alarms is not None:
            rows.append(_score("reference: IsolationForest", alarms, failures, machines, span))
    return Result(rows, list(failures), 0.0, len(samples), len(windows))


def reference(
    windows: Sequence[tuple[str, Window]],
    resets: Sequence[tuple[float, str]],
    config: PlantConfig,
    persistence: int = 3,
) -> dict[str, list[float]] | None:
    """Alarm times per machine of the IsolationForest peer; None without scikit-learn."""
    try:
        from sklearn.ensemble import IsolationForest  # type: ignore[import-untyped]
    except ImportError:
        return None
    sizes = {m.tag: m.baseline_windows for m in config.maintenance.monitors}
    # the windows of each tag and state, cut at the replacements of its machine
    segments: dict[tuple[str, str, int], list[Window]] = defaultdict(list)
    machine_of: dict[str, str] = {}
    for machine, w in windows:
        cycle = sum(1 for when, m in resets if m == machine and when <= w.end)
        segments[(w.tag, w.state, cycle)].append(w)
        machine_of[w.tag] = machine
    alarms: dict[str, list[float]] = defaultdict(list)
    for (tag, _, _), segment in segments.items():
        size = sizes.get(tag, 200)
        if len(segment) <= size:
            continue
        features = [[w.mean, w.rms, w.std, w.peak] for w in segment]
        forest = IsolationForest(random_state=0).fit(features[:size])
        streak = 0
        for w, label in zip(segment[size:], forest.predict(features[size:]), strict=True):
            streak = streak + 1 if label == -1 else 0
            if streak == persistence:
                alarms[machine_of[tag]].append(w.end)
    for times in alarms.values():
        times.sort()
    return alarms
