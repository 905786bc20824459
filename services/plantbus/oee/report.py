"""Running the engine over a finite event stream and rendering the result."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from plantbus.oee.engine import EngineSettings, MachineTrack, OeeEngine
from plantbus.oee.events import Event
from plantbus.oee.jsonl import LineError
from plantbus.oee.kpi import Kpis, Totals
from plantbus.oee.ordering import Reorderer

__all__ = ["Report", "compute", "render_table"]


@dataclass
class Report:
    """KPIs per machine, line, shift and work order, plus what could not be used."""

    engine: OeeEngine
    errors: list[str] = field(default_factory=list)
    duplicates: int = 0
    closed: dict[tuple[str, str], dict[str, Totals]] = field(default_factory=dict)
    """Totals of the shifts and work orders that ended, by (machine, kind) and key."""

    def take_closed(self) -> None:
        """Keep what the engine closed (a scope that opens again adds up)."""
        for c in self.engine.closed:
            self.closed.setdefault((c.machine, c.kind), {}).setdefault(c.key, Totals()).add(
                c.totals
            )
        self.engine.closed.clear()

    def scopes(self, track: MachineTrack, kind: str) -> dict[str, Totals]:
        """Every shift or work order of a machine: the closed ones and those still open."""
        out = {k: Totals.sum([v]) for k, v in self.closed.get((track.machine, kind), {}).items()}
        for key, totals in (track.shifts if kind == "shift" else track.orders).items():
            out.setdefault(key, Totals()).add(totals)
        return out

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` output."""
        e = self.engine
        return {
            "machines": {
                name: {
                    **Kpis(t.totals).as_dict(),
                    "line": t.line,
                    "shifts": {k: Kpis(v).as_dict() for k, v in self.scopes(t, "shift").items()},
                    "work_orders": {
                        k: Kpis(v).as_dict() for k, v in self.scopes(t, "work_order").items()
                    },
                }
                for name, t in sorted(e.machines.items())
            },
            "lines": {line: e.line_kpis(line).as_dict() for line in e.lines()},
            "errors": self.errors,
            "duplicates_dropped": self.duplicates,
        }


def compute(
    items: Iterable[tuple[int, Event | LineError]],
    settings: EngineSettings | None = None,
    tolerance_s: float = 5.0,
) -> Report:
    """Feed events through the reorder buffer into a fresh engine."""
    engine = OeeEngine(settings)
    reorder = Reorderer(tolerance_s)
    report = Report(engine)
    for _, item in items:
        if isinstance(item, LineError):
            report.errors.append(str(item))
            continue
        for event in reorder.push(item):
            engine.process(event)
        report.take_closed()
    for event in reorder.flush():
        engine.process(event)
    report.take_closed()
    report.duplicates = reorder.duplicates
    report.errors += [
        f"late event dropped (beyond the {tolerance_s}s window): {e}" for e in reorder.late
    ]
    return report


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f}%"


def render_table(report: Report) -> str:
    """A readable table of machines and lines."""
    header = (
        f"{'scope':<20} {'PBT h':>7} {'APT h':>7} {'down h':>7} {'parts':>7} "
        f"{'good':>7} {'A':>8} {'P':>8} {'Q':>8} {'OEE':>8}"
    )
    rows = [header, "-" * len(header)]
    scopes = [(f"machine {m}", Kpis(t.totals)) for m, t in sorted(report.engine.machines.items())]
    scopes += [(f"line {line}", report.engine.line_kpis(line)) for line in report.engine.lines()]
    for name, k in scopes:
        t = k.totals
        rows.append(
            f"{name:<20} {k.pbt_s / 3600:>7.2f} {t.apt_s / 3600:>7.2f} {t.down_s / 3600:>7.2f} "
            f"{t.total_count:>7} {k.good_count:>7} {_pct(k.availability):>8} "
            f"{_pct(k.performance):>8} {_pct(k.quality):>8} {_pct(k.oee):>8}"
        )
    for name, k in scopes:
        if k.totals.down_by_reason:
            reasons = ", ".join(
                f"{r} {s / 60:.1f} min"
                for r, s in sorted(k.totals.down_by_reason.items(), key=lambda x: -x[1])
            )
            rows.append(f"downtime {name}: {reasons}")
    return "\n".join(rows)
