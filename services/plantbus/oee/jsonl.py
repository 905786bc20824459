"""Reading machine events from JSON Lines (``plantbus oee compute``).

One event per line, for example
``{"ts": "2026-01-05T06:00:00Z", "machine": "m1", "event": "state", "state": "running"}``.
Every bad line is reported with its number; the others are still used.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plantbus.oee import events as ev

__all__ = ["LineError", "parse_event", "read_events"]

_STATES = {"running", "stopped", "planned_stop"}


@dataclass(frozen=True)
class LineError:
    """A line that could not be used."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def _ts(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no time zone (add Z or +01:00)")
        return parsed.timestamp()
    raise ValueError(f"ts must be an ISO 8601 string or epoch seconds, found {value!r}")


def _nonnegative_int(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{key} must be a whole number >= 0, found {value!r}")
    return value


def parse_event(obj: Any) -> ev.Event:
    """One event from a decoded JSON object; ValueError says what is wrong."""
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    for key in ("ts", "machine", "event"):
        if key not in obj:
            raise ValueError(f"missing key {key!r}")
    base = (_ts(obj["ts"]), str(obj["machine"]), str(obj.get("line", "")))
    kind = obj["event"]
    if kind == "state":
        state = obj.get("state")
        if state not in _STATES:
            raise ValueError(f"state must be one of {sorted(_STATES)}, found {state!r}")
        return ev.StateChange(*base, state=state, reason=str(obj.get("reason") or ""))
    if kind == "count":
        total, reject = _nonnegative_int(obj, "total"), _nonnegative_int(obj, "reject")
        rework = _nonnegative_int(obj, "rework")
        if reject + rework > total:
            raise ValueError(f"reject ({reject}) plus rework ({rework}) exceeds total ({total})")
        return ev.Count(*base, total=total, reject=reject, rework=rework)
    if kind == "ideal_cycle_time":
        seconds = obj.get("seconds")
        if not isinstance(seconds, int | float) or seconds <= 0:
            raise ValueError(f"seconds must be a number > 0, found {seconds!r}")
        return ev.IdealCycleTime(*base, seconds=float(seconds))
    if kind == "shift_start":
        return ev.ShiftStart(*base, shift=str(obj.get("shift", "")))
    if kind == "shift_end":
        return ev.ShiftEnd(*base)
    if kind == "break_start":
        return ev.BreakStart(*base, reason=str(obj.get("reason") or "break"))
    if kind == "break_end":
        return ev.BreakEnd(*base)
    if kind == "work_order_start":
        ict = obj.get("ideal_cycle_time")
        return ev.WorkOrderStart(
            *base,
            order=str(obj.get("order", "")),
            ideal_cycle_time_s=float(ict) if ict is not None else None,
        )
    if kind == "work_order_end":
        return ev.WorkOrderEnd(*base, order=str(obj.get("order", "")))
    raise ValueError(
        f"unknown event {kind!r}; expected state, count, ideal_cycle_time, shift_start, "
        "shift_end, break_start, break_end, work_order_start or work_order_end"
    )


def read_events(lines: Iterable[str]) -> Iterator[tuple[int, ev.Event | LineError]]:
    """(line number, event or error) for every non-blank line."""
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            yield number, parse_event(json.loads(text))
        except json.JSONDecodeError as err:
            yield number, LineError(number, f"not JSON: {err.msg} at column {err.colno}")
        except (ValueError, TypeError) as err:
            yield number, LineError(number, str(err))
