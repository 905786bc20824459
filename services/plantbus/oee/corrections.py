"""Corrections by people (pure): scrap and rework found after the fact, and a machine's
part count corrected, each a count at the past time it belongs to. It goes through the
machine's timeline like a late sample, so the figures from then on (every shift and order
it touches) are recomputed and the machine's revision goes up."""

from __future__ import annotations

from typing import Final

from plantbus.oee.events import Count
from plantbus.oee.live import LiveOee
from plantbus.sdk.errors import NotFound, ValidationFailed
from plantbus.v1 import oee_pb2

__all__ = ["MAX_QUANTITY", "correct_counts"]

MAX_QUANTITY: Final = 1_000_000
_FIELDS: Final = {
    oee_pb2.COUNT_CORRECTION_SCRAP: "reject",
    oee_pb2.COUNT_CORRECTION_REWORK: "rework",
    oee_pb2.COUNT_CORRECTION_TOTAL: "total",
}


def correct_counts(
    live: LiveOee, machine: str, ts: float, correction: int, quantity: int, now: float
) -> Count:
    """Push the correction as a count at ``ts``; the next tick recomputes from there.
    Refused: an unknown machine or correction, quantity 0 or beyond ``MAX_QUANTITY``, a
    time in the machine's future or older than the correction horizon."""
    field = _FIELDS.get(correction)  # type: ignore[call-overload]
    if field is None:
        raise ValidationFailed("correction: scrap, rework or total")
    if not 0 < abs(quantity) <= MAX_QUANTITY:
        raise ValidationFailed(f"quantity: a whole number from 1 to {MAX_QUANTITY:,} (or minus)")
    known = live.machines.get(machine)
    if known is None:
        raise NotFound(f"no OEE for machine {machine!r}: is it mapped in the oee section?")
    timeline = live.timelines[machine]
    if ts > timeline.clock(now) + 1.0:
        raise ValidationFailed(f"the time is in {machine}'s future: parts are entered when made")
    if ts < timeline.oldest():
        raise ValidationFailed(
            f"the time is older than the correction horizon (oee_settings.correction_horizon_s"
            f" = {live.settings.correction_horizon_s:g} s): those figures are final; enter it"
            " at a later time or raise the horizon"
        )
    event = Count(ts, machine, known.line, **{field: quantity})
    live.event(event, now)
    live.out.urgent.add(machine)
    return event
