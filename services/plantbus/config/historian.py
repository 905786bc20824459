"""The historian's section: which store keeps history, what is kept and for how long.

Every field has a default, so a plant config without a ``historian:`` section keeps
history in the embedded SQLite store with the retention below.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, model_validator

from plantbus.config.base import Strict

__all__ = ["HistorianConfig", "Retention"]


class Retention(Strict):
    """How many days each data class is kept."""

    samples_days: float = Field(default=30, gt=0, le=36500)
    """Raw samples."""
    minute_rollups_days: float = Field(default=400, gt=0, le=36500)
    hour_rollups_days: float = Field(default=3650, gt=0, le=36500)
    oee_days: float = Field(default=400, gt=0, le=36500)
    """OEE snapshots."""
    oee_final_days: float = Field(default=3650, gt=0, le=36500)
    """Final figures of closed shifts and work orders (few rows, compared for years)."""
    downtime_days: float = Field(default=400, gt=0, le=36500)
    alarm_days: float = Field(default=400, gt=0, le=36500)
    work_order_days: float = Field(default=400, gt=0, le=36500)
    confirmation_days: float = Field(default=400, gt=0, le=36500)
    maintenance_days: float = Field(default=400, gt=0, le=36500)
    """Maintenance events: condition windows, anomalies, forecasts, plan changes."""

    @model_validator(mode="after")
    def _rollups_outlive_raw(self) -> Self:
        if not self.samples_days <= self.minute_rollups_days <= self.hour_rollups_days:
            raise ValueError(
                "keep rollups at least as long as what they are computed from: samples_days "
                f"({self.samples_days:g}) <= minute_rollups_days ({self.minute_rollups_days:g})"
                f" <= hour_rollups_days ({self.hour_rollups_days:g})"
            )
        return self


class HistorianConfig(Strict):
    """Where the historian keeps history and what it keeps."""

    store: str = "sqlite"
    """The store plugin (entry point in ``plantbus.historian_stores``)."""
    store_settings: dict[str, Any] = Field(default_factory=dict)
    """Settings of the store, validated with its own model."""
    tags: list[str] = Field(default_factory=lambda: ["*"])
    """Globs of tag paths whose samples are kept (``demo/*`` or ``*/spindle_temp``)."""
    retention: Retention = Field(default_factory=Retention)
    oee_every_s: float = Field(default=60, ge=0, le=86400)
    """OEE snapshots come about once a second per machine and line: keep one per scope in
    each slot of this many seconds, plus every one whose state, shift or work order
    changed (0 keeps them all)."""
    max_batch_messages: int = Field(default=10_000, ge=1, le=100_000)
    """Bus messages written in one transaction at most."""
    max_batch_delay_s: float = Field(default=0.5, gt=0, le=60)
    """How long a partly filled batch waits for more messages before it is written."""
