"""A heartbeat read that NATS does not answer is an error, never "nobody beats": a replica
that took it for an empty hub would think itself alone, ``plantbus status`` would say no
service runs (a CI run once failed on exactly that answer)."""

from __future__ import annotations

import nats.errors
import pytest

from plantbus.kit import discovery, heartbeat, kv_keys
from plantbus.kit.bus import Bus
from plantbus.sdk.errors import DeviceUnavailable


@pytest.fixture
def unanswered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bucket's listing times out, as a loaded server's stream info can."""

    async def slow(kv: object) -> list[str]:
        raise nats.errors.TimeoutError

    monkeypatch.setattr(kv_keys, "keys", slow)


@pytest.mark.usefixtures("unanswered")
async def test_an_unanswered_read_raises_instead_of_listing_nobody(bus: Bus) -> None:
    with pytest.raises(nats.errors.TimeoutError):
        await heartbeat.read_heartbeats(bus)


@pytest.mark.usefixtures("unanswered")
async def test_finding_a_service_looks_again_then_names_it(bus: Bus) -> None:
    with pytest.raises(DeviceUnavailable, match="no serving oee service"):
        await discovery.find(bus, "oee", wait_s=0.5)
