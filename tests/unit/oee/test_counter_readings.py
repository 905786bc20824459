"""A counter tag's reading that cannot be a register value counts nothing: NaN, an
infinity, a negative or out-of-range number (it raised, or made a wrap of astronomical
size, and then every snapshot of the machine failed)."""

from __future__ import annotations

import math

import pytest

from plantbus.config.oee import OeeMapping
from plantbus.oee.events import Count
from plantbus.oee.mapping import MachineMapper

MAPPING = OeeMapping.model_validate(
    {
        "machine": "s/a/l/m1",
        "state_tag": "state",
        "total_tag": "parts",
        "states": [{"value": 1, "state": "running"}],
    }
)


@pytest.mark.parametrize("wild", [math.nan, math.inf, -math.inf, -1e308, -1, 2**64 - 1, 65536])
def test_a_wild_counter_reading_counts_nothing_and_keeps_the_baseline(wild: float) -> None:
    mapper = MachineMapper(MAPPING, "s/a/l")
    assert mapper.on_sample("parts", 100, 0.0) == []  # the baseline
    assert mapper.on_sample("parts", wild, 1.0) == []
    [count] = mapper.on_sample("parts", 104, 2.0)
    assert isinstance(count, Count) and count.total == 4
