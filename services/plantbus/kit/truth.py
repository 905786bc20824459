"""Ground truth of a simulated plant's failures: what the simulator writes beside its
history export and ``plantbus maintenance backtest --truth`` reads (JSON, ISO 8601 UTC)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["Failure", "iso", "read_truth", "write_truth"]


@dataclass(frozen=True)
class Failure:
    """A failure of the ground truth."""

    machine: str
    component: str
    time: float
    """Unix seconds (simulated)."""
    replaced: float
    """When the new part was in (the maintenance was recorded)."""


def iso(t: float) -> str:
    """Unix seconds as ISO 8601 in UTC, as the history export writes times."""
    return datetime.fromtimestamp(t, UTC).isoformat()


def _time(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def write_truth(path: Path, failures: list[Failure], span: tuple[float, float]) -> None:
    """The failures and the span the history covers, as JSON."""
    doc = {
        "start": iso(span[0]),
        "end": iso(span[1]),
        "failures": [
            {
                "machine": f.machine,
                "component": f.component,
                "time": iso(f.time),
                "replaced": iso(f.replaced),
            }
            for f in failures
        ],
    }
    path.write_text(json.dumps(doc, indent=2))


def read_truth(path: Path) -> tuple[list[Failure], tuple[float, float]]:
    """Failures and the observed span from a ground-truth JSON file."""
    doc = json.loads(path.read_text())
    failures = [
        Failure(f["machine"], f.get("component", "machine"), _time(f["time"]), _time(f["replaced"]))
        for f in doc.get("failures", [])
    ]
    return failures, (_time(doc["start"]), _time(doc["end"]))
