"""Alarm messages from a rule's template (pure).

Placeholders are checked when the config loads, but a format spec can still meet a value
it does not fit (``{value:.1f}`` while a stale alarm has no value); the alarm must be
raised anyway, so such a message falls back to a plain one.
"""

from __future__ import annotations

from typing import Any

__all__ = ["render"]


def render(template: str, rule: str, machine: str, value: Any, limit: float | None) -> str:
    """The message of one alarm; never raises."""
    try:
        return template.format_map(
            {"rule": rule, "machine": machine, "value": value, "limit": limit}
        )
    except (KeyError, IndexError, AttributeError, TypeError, ValueError):
        shown = "no value" if value is None else value
        return f"{rule} on {machine}: {shown}" + ("" if limit is None else f" (limit {limit:g})")
