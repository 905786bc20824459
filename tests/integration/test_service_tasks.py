"""The device and gateway services keep their background loops in ``self.tasks``: a loop
that dies turns the heartbeat to not serving (it no longer dies unseen), and nothing of
theirs runs on after stop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plantbus.device.service import DeviceService
from plantbus.gateway.service import GatewayService
from plantbus.kit.bus import Bus
from plantbus.kit.service import ServiceContext
from plantbus.testing.harness import hosted
from plantbus.testing.waiting import wait_until


async def _no_audit(**_: Any) -> None:
    return None


async def test_a_dead_membership_loop_turns_the_device_service_to_not_serving(
    bus: Bus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = {"membership_interval_s": 0.05}
    ctx = ServiceContext("device", "i1", bus, tmp_path, _no_audit, options)
    async with DeviceService(ctx) as svc:
        assert len(svc.tasks) == 1, "the membership loop is supervised"
        assert svc.reported_health()[0]

        async def unreadable() -> set[str]:
            raise RuntimeError("heartbeats unreadable")

        monkeypatch.setattr(svc, "_live_instances", unreadable)
        await wait_until(lambda: not svc.reported_health()[0], timeout=5, message="not serving")
        assert "device-members" in svc.reported_health()[1]
    assert len(svc.tasks) == 0


async def test_the_gateway_certificate_follower_ends_with_the_gateway(
    nats_url: str, tmp_path: Path
) -> None:
    options = {"gateway": {"https_port": 0}}
    hub = hosted([GatewayService], nats_url=nats_url, data_dir=tmp_path, options=options)
    async with hub as runner:
        gateway = runner.services["gateway"]
        assert len(gateway.tasks) == 1, "the certificate follower is supervised"
        assert gateway.reported_health()[0]
    assert len(gateway.tasks) == 0, "stop left nothing running"
