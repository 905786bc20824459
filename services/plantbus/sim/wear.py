"""The demo's accelerated wear: how fast ``plantbus up`` wears m2's bearing, and the plant
config's maintenance section brought to that pace.

The demo plant's maintenance section (``examples/plant/maintenance.yaml``) is written for
:data:`DEMO_WEAR_SPEED`: a window of 30 s is one simulated hour, a warning margin of
0.4 h two simulated days. At another wear speed ``W`` the same plans mean the same in
simulated time when every time of the wear's clock is scaled by ``DEMO_WEAR_SPEED / W``:
the monitors' ``window_s`` (and ``min_samples`` with it, so a window keeps the same share
of the samples), the condition plans' ``forecast_window_h`` and ``warning``. Usage plans
(running hours, cycles, calendar days) count the line's own time, which is not
accelerated, and stay as written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import yaml

from plantbus.config.loader import Source
from plantbus.config.maintenance import Monitor, Plan

__all__ = ["DEMO_WEAR_SPEED", "MAX_WEAR_SPEED", "scale_maintenance", "scaled_sources"]

DEMO_WEAR_SPEED: Final = 120.0
"""m2's bearing wears 120 times faster than the line runs (a simulated day in 12
minutes): it fails 48 minutes after the start."""
MAX_WEAR_SPEED: Final = 2400.0
"""A simulated day in 36 s, the failure 144 s after the start. Faster, a simulated hour
(the demo's window) would hold fewer than 3 of the devices' samples (polled every 0.5 s)
and the trend would be fitted on noise."""
_MIN_SAMPLES: Final = 2
"""The least ``min_samples`` a monitor may have (``config.maintenance.Monitor``)."""
_DEFAULT_WINDOW_H: Final = float(Plan.model_fields["forecast_window_h"].default)
_DEFAULT_WINDOW_S: Final = float(Monitor.model_fields["window_s"].default)
_DEFAULT_MIN_SAMPLES: Final = int(Monitor.model_fields["min_samples"].default)


def _scaled(entry: Any, defaults: dict[str, float], factor: float) -> Any:
    """``entry`` with the fields of ``defaults`` (absent ones at their default) scaled."""
    if not isinstance(entry, dict):
        return entry  # the config's own validation names what is wrong with it
    out = {**defaults, **entry}
    for name in defaults:
        if isinstance(out[name], int | float):
            out[name] = out[name] * factor
    return out


def _monitor(monitor: Any, factor: float) -> Any:
    scaled = _scaled(monitor, {"window_s": _DEFAULT_WINDOW_S}, factor)
    wanted = scaled.get("min_samples", _DEFAULT_MIN_SAMPLES) if isinstance(scaled, dict) else None
    if isinstance(wanted, int):
        scaled["min_samples"] = max(_MIN_SAMPLES, math.ceil(wanted * factor))
    return scaled


def _plan(plan: Any, factor: float) -> Any:
    if not (isinstance(plan, dict) and plan.get("by") == "condition"):
        return plan  # usage plans count the line's own time
    return _scaled(plan, {"forecast_window_h": _DEFAULT_WINDOW_H, "warning": 0.0}, factor)


def scale_maintenance(section: dict[str, Any], factor: float) -> dict[str, Any]:
    """``section`` (a ``maintenance:`` mapping) with the wear's times scaled by ``factor``."""
    out = dict(section)
    if monitors := section.get("monitors"):
        out["monitors"] = [_monitor(m, factor) for m in monitors]
    if plans := section.get("plans"):
        out["plans"] = [_plan(p, factor) for p in plans]
    return out


def _scaled_source(source: Source, wear_speed: float) -> Source:
    doc = yaml.safe_load(source.text) if "maintenance" in source.text else None
    if not (isinstance(doc, dict) and isinstance(doc.get("maintenance"), dict)):
        return source
    doc["maintenance"] = scale_maintenance(doc["maintenance"], DEMO_WEAR_SPEED / wear_speed)
    note = f"# brought to wear speed {wear_speed:g} from {source.name}\n"
    return Source(source.name, note + yaml.safe_dump(doc, sort_keys=False))


def scaled_sources(sources: Sequence[Source], wear_speed: float) -> list[Source]:
    """The plant config's files with every maintenance section brought to ``wear_speed``
    (the files without one unchanged, byte for byte)."""
    return [_scaled_source(source, wear_speed) for source in sources]
