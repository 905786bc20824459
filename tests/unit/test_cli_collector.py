"""`plantbus run` collects the youngest generation less often than Python's default;
PLANTBUS_GC_THRESHOLD sets another threshold, 0 keeps Python's, and a wrong value is a
usage error that names the variable."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import click
import pytest

from plantbus.cli.core import _tune_collector


@pytest.fixture(autouse=True)
def restored() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_the_young_generation_is_collected_every_20000_allocations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PLANTBUS_GC_THRESHOLD", raising=False)
    gc.set_threshold(700, 10, 10)
    _tune_collector()
    assert gc.get_threshold() == (20_000, 10, 10)


def test_the_threshold_is_set_by_the_environment_and_0_keeps_pythons(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gc.set_threshold(700, 10, 10)
    monkeypatch.setenv("PLANTBUS_GC_THRESHOLD", "5000")
    _tune_collector()
    assert gc.get_threshold() == (5000, 10, 10)
    gc.set_threshold(700, 10, 10)
    monkeypatch.setenv("PLANTBUS_GC_THRESHOLD", "0")
    _tune_collector()
    assert gc.get_threshold() == (700, 10, 10)


def test_a_threshold_that_is_no_number_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANTBUS_GC_THRESHOLD", "lots")
    with pytest.raises(click.UsageError, match="PLANTBUS_GC_THRESHOLD='lots'"):
        _tune_collector()
