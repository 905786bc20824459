"""Retention cut-offs from the config, pure: the caller passes the time."""

from __future__ import annotations

from plantbus.config.historian import Retention
from plantbus.sdk.historian import HOUR_US, MINUTE_US, Cutoffs

__all__ = ["Cutoffs", "cutoffs"]

_DAY_US = 86_400_000_000


def cutoffs(retention: Retention, now_us: int) -> Cutoffs:
    """The cut-offs for ``retention`` at ``now_us``; rollups go by whole buckets."""

    def before(days: float, align: int = 1) -> int:
        cut = now_us - int(days * _DAY_US)
        return cut - cut % align

    return Cutoffs(
        samples_us=before(retention.samples_days),
        rollups_us={
            MINUTE_US: before(retention.minute_rollups_days, MINUTE_US),
            HOUR_US: before(retention.hour_rollups_days, HOUR_US),
        },
        events_us={
            "oee": before(retention.oee_days),
            "oee_final": before(retention.oee_final_days),
            "downtime": before(retention.downtime_days),
            "alarm": before(retention.alarm_days),
            "work_order": before(retention.work_order_days),
            "confirmation": before(retention.confirmation_days),
            "maintenance": before(retention.maintenance_days),
        },
    )
