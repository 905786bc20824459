"""Operator actions: the lifecycle step each one is, with the limits that bound it."""

from __future__ import annotations

import time

from plantbus.alerting.evaluation import Evaluation
from plantbus.alerting.lifecycle import Alarm
from plantbus.config.rules import RuleBase

__all__ = ["DEFAULT_MAX_SHELVE_S", "act"]

DEFAULT_MAX_SHELVE_S: float = RuleBase.model_fields["max_shelve_s"].default
"""Shelving limit for alarms without a rule of their own (the flood alarm)."""


def act(
    alarm: Alarm,
    action: str,
    who: str,
    why: str,
    duration_s: float,
    one_shot: bool,
    evaluation: Evaluation,
) -> None:
    """Acknowledge, shelve (at most the rule's ``max_shelve_s``), reset, remove from
    service (at most ``max_out_of_service_s``), return to service or unshelve ``alarm``;
    the lifecycle's refusals (ValidationFailed) are raised."""
    now, mono = time.time(), time.monotonic()
    if action == "acknowledge":
        alarm.acknowledge(who, why, now, mono)
    elif action == "shelve":
        rule = evaluation.rules.get(alarm.id)
        max_s = rule.max_shelve_s if rule else DEFAULT_MAX_SHELVE_S
        alarm.shelve(who, why, now + duration_s, now, one_shot, max_s=max_s, mono=mono)
    elif action == "reset":
        alarm.reset(who, why, now)
    elif action == "remove_from_service":
        max_s = evaluation.management.max_out_of_service_s
        alarm.remove_from_service(who, why, now + duration_s, now, max_s=max_s, mono=mono)
    elif action == "return_to_service":
        alarm.return_to_service(who, now, why)
    else:
        alarm.unshelve(who, now, why)
