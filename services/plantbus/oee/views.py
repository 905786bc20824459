"""Provisional views of a machine, what its live snapshots show: a copy of its track with
what its reorder window still holds applied and time counted up to its source clock.
Nothing is published while one is computed (:attr:`LiveOee.muted`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plantbus.oee.engine import MachineTrack
from plantbus.oee.kpi import Totals
from plantbus.oee.snapshot import current_totals

if TYPE_CHECKING:
    from plantbus.oee.live import LiveOee

__all__ = ["View", "Views", "seen", "view"]

View = tuple[MachineTrack, Totals]
Views = dict[str, View]
"""Machine -> its view, computed once for several snapshots while nothing changes."""


def view(live: LiveOee, name: str, now: float) -> View:
    """The machine's provisional track and its current totals at ``now``."""
    machine, timeline = live.machines[name], live.timelines[name]
    saved = machine.save()
    live.muted += 1
    live.engine.downtime.muted = True
    try:
        for item in timeline.pending():
            machine.apply(item)
        track = live.engine.track(name, machine.line)
        live.engine.advance(track, timeline.clock(now))
    finally:
        machine.put_back(saved)
        live.muted -= 1
        live.engine.downtime.muted = False
    return track, current_totals(track)


def seen(live: LiveOee, name: str, now: float, views: Views | None) -> View:
    """:func:`view`, once per ``views`` (None: always computed)."""
    if views is None:
        return view(live, name, now)
    if name not in views:
        views[name] = view(live, name, now)
    return views[name]
