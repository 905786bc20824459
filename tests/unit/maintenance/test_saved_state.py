"""Counters and baselines go to KV when they changed since this process wrote them, and
again after a write that failed."""

from __future__ import annotations

import logging
from typing import Any, cast

import nats.errors
from nats.js.kv import KeyValue

from plantbus.maintenance.engine import Engine
from plantbus.maintenance.state import SavedState, usage_key
from plantbus.maintenance.usage import Usage


class _Kv:
    def __init__(self) -> None:
        self.puts: list[str] = []
        self.failing = False

    async def put(self, key: str, value: bytes) -> int:
        if self.failing:
            raise nats.errors.TimeoutError
        self.puts.append(key)
        return len(self.puts)


def _engine() -> Engine:
    engine = Engine(cast(Any, None))
    engine.usage = {("s/a/l/m1", "machine"): Usage(since=0.0), ("s/a/l/m2", "machine"): Usage(0.0)}
    return engine


async def test_only_changed_documents_are_written_and_a_failed_one_again() -> None:
    kv = _Kv()
    state = SavedState(cast(KeyValue, kv), logging.getLogger("test"))
    engine = _engine()
    await state.save(engine)
    assert kv.puts == [usage_key("s/a/l/m1", "machine"), usage_key("s/a/l/m2", "machine")]
    kv.puts.clear()
    await state.save(engine)
    assert kv.puts == []
    engine.usage[("s/a/l/m2", "machine")].observe_state("running", 10.0)
    kv.failing = True
    await state.save(engine)
    assert state.saves.failures == 1
    kv.failing = False
    await state.save(engine)
    assert kv.puts == [usage_key("s/a/l/m2", "machine")]
    assert not state.saves.detail()
