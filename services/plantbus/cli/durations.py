"""Durations as people type them on the command line: 30s, 45m, 2h, 7d."""

from __future__ import annotations

from typing import Final

__all__ = ["seconds"]

_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(text: str) -> int | None:
    """``text`` in seconds, or None when it is not a number followed by s, m, h or d."""
    if text and text[-1] in _UNITS and text[:-1].isdigit():
        return int(text[:-1]) * _UNITS[text[-1]]
    return None
