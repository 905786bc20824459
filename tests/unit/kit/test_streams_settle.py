"""A stream or bucket asked for while JetStream does not answer (a cluster electing its
leaders, another replica creating the same stream) is asked for again, for a while."""

from __future__ import annotations

from typing import Any

import nats.errors
import pytest
from nats.js.errors import NotFoundError

from plantbus.kit import streams
from plantbus.kit.bus import NatsSettings


class _Js:
    def __init__(self, timeouts: int) -> None:
        self.timeouts = timeouts
        self.created: list[str] = []

    async def stream_info(self, name: str) -> Any:
        if self.timeouts:
            self.timeouts -= 1
            raise nats.errors.TimeoutError
        raise NotFoundError

    async def add_stream(self, config: Any) -> None:
        self.created.append(config.name)


class _Bus:
    def __init__(self, js: _Js) -> None:
        self.js = js
        self.settings = NatsSettings()


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    async def now(_: float) -> None:
        return None

    monkeypatch.setattr(streams.asyncio, "sleep", now)


async def test_a_stream_is_created_once_jetstream_answers_again() -> None:
    js = _Js(timeouts=3)
    await streams.ensure_stream(_Bus(js), streams.EVENTS)  # type: ignore[arg-type]
    assert js.created == [streams.EVENTS.name]


async def test_no_answer_for_longer_than_the_settle_time_is_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(streams, "SETTLE_S", 0.0)
    js = _Js(timeouts=10)
    with pytest.raises(nats.errors.TimeoutError):
        await streams.ensure_stream(_Bus(js), streams.EVENTS)  # type: ignore[arg-type]
    assert js.created == []
