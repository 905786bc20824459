"""The per-sample telemetry stream of an earlier release: ``plantbus up``'s provisioning
deletes it (no user of the hub may read it any more, and it stored every sample again)."""

from __future__ import annotations

import pytest
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError

from plantbus.kit import streams
from plantbus.kit.bus import Bus


async def test_provisioning_deletes_the_per_sample_stream_and_says_so(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    legacy = StreamConfig(name=streams.LEGACY_TELEMETRY, subjects=["plantbus.v1.telemetry.>"])
    await bus.js.add_stream(legacy)
    await streams.provision(bus)
    with pytest.raises(NotFoundError):
        await bus.js.stream_info(streams.LEGACY_TELEMETRY)
    assert "deleted stream PLANTBUS_TELEMETRY, left by an earlier release" in caplog.text
    assert (await bus.js.stream_info(streams.CYCLES.name)).config.subjects == [
        "plantbus.v1.cycle.>"
    ]
    caplog.clear()
    await streams.provision(bus)  # nothing left to delete: nothing said
    assert "deleted stream" not in caplog.text
