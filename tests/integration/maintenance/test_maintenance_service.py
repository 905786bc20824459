"""The maintenance service with a real nats-server and historian: history replayed at
start, windows and forecasts from live telemetry on its device's cycle subject, usage counted
and reset by RecordMaintenance (authorized, audited, kept in KV across a restart)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from click.testing import CliRunner, Result

from plantbus.cli.maintenance import maintenance as cli_group
from plantbus.historian.service import HistorianService
from plantbus.kit import subjects
from plantbus.kit.bus import Bus
from plantbus.kit.grpc_client import ClientTls, channel
from plantbus.kit.pki import Pki
from plantbus.kit.runner import Runner
from plantbus.maintenance.service import MaintenanceService
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted, issue_token, operator_channel, token_channel
from plantbus.testing.messages import collected
from plantbus.testing.waiting import wait_until
from plantbus.v1 import maintenance_pb2, maintenance_pb2_grpc, service_pb2, telemetry_pb2
from tests.historian import publish_samples

M2 = "s/a/l/m2"
CONFIG: dict[str, Any] = {
    "sites": [
        {
            "name": "s",
            "areas": [{"name": "a", "lines": [{"name": "l", "machines": [{"name": "m2"}]}]}],
        }
    ],
    "devices": [
        {
            "name": "plc",
            "driver": "memory",
            "endpoint": "memory://plc",
            "machine": M2,
            "tags": [
                {"name": "state", "address": "st", "data_type": "uint16"},
                {"name": "vibration", "address": "v", "data_type": "float32"},
            ],
        }
    ],
    "oee": [
        {
            "machine": M2,
            "state_tag": "state",
            "states": [{"value": 1, "state": "running"}, {"value": 3, "state": "stopped"}],
        }
    ],
    "historian": {"max_batch_delay_s": 0.1},
    "maintenance": {
        "components": [{"machine": M2, "name": "spindle"}],
        "monitors": [
            {
                "tag": f"{M2}/vibration",
                "min_samples": 3,
                "learn_windows": 10,
                "baseline_windows": 20,
            }
        ],
        "plans": [
            {
                "name": "bearing",
                "machine": M2,
                "component": "spindle",
                "by": "condition",
                "tag": "vibration",
                "limit": 8,
                "warning": 24,
                "forecast_window_h": 8,
            }
        ],
    },
    "roles": [{"name": "fitter", "permissions": ["maintenance.record"]}],
    "users": [{"name": "visitor", "roles": []}, {"name": "fred", "roles": ["fitter"]}],
}
MINUTE_S = 60
T0 = (int(time.time()) - 6 * 3600) // MINUTE_S * MINUTE_S
"""Six hours ago, on a minute boundary."""


def maintenance(runner: Runner) -> MaintenanceService:
    service = runner.services["maintenance"]
    assert isinstance(service, MaintenanceService)
    return service


async def _live(bus: Bus, start: float, seconds: int, vib: float, stop: bool = False) -> None:
    """m2 running for ``seconds`` from ``start`` (state and vibration every 5 s, as the
    device publishes them on its cycle subject); then stopped when ``stop``."""
    batch = telemetry_pb2.TagSampleBatch(device="plc")
    for i in range(0, seconds + 5 * stop, 5):
        state = 3.0 if i >= seconds else 1.0
        for tag, value in (("state", state), ("vibration", vib)):
            sample = batch.samples.add(path=f"{M2}/{tag}", quality=telemetry_pb2.QUALITY_GOOD)
            sample.value.double_value = value
            sample.source_time.FromMicroseconds(int((start + i) * 1e6))
    await bus.publish(subjects.cycle(M2, "plc"), batch)  # one cycle message of its device


async def test_history_is_replayed_then_live_windows_and_forecasts_are_published(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await put_config(bus, CONFIG)
    # five hours of a rising vibration in the historian: 4.0 + 0.4/h, every 20 s
    times = [T0 + 20 * i for i in range(5 * 180)]
    async with hosted([HistorianService], nats_url=nats_url, data_dir=tmp_path) as hist:
        historian = hist.services["historian"]
        assert isinstance(historian, HistorianService)
        await wait_until(lambda: historian.store is not None)  # its streams exist
        await publish_samples(bus, f"{M2}/state", [t * 1_000_000 for t in times[::3]], [1.0] * 300)
        await publish_samples(
            bus,
            f"{M2}/vibration",
            [t * 1_000_000 for t in times],
            [4.0 + 0.4 * (t - T0) / 3600 for t in times],
        )
        await wait_until(lambda: historian.stored["samples"] == 1200, timeout=30)
        events = await collected(
            bus, "plantbus.v1.maintenance.s.a.l.m2", maintenance_pb2.MaintenanceEvent
        )
        async with hosted([MaintenanceService], nats_url=nats_url, data_dir=tmp_path) as runner:
            service = maintenance(runner)
            await wait_until(
                lambda: service.replayed == 1200, timeout=30, message=service.replay_error
            )
            async with operator_channel(runner) as chan:
                stub = maintenance_pb2_grpc.MaintenanceServiceStub(chan)
                status = await stub.GetMaintenanceStatus(
                    maintenance_pb2.GetMaintenanceStatusRequest(machine=M2)
                )
            (plan,) = status.plans
            assert plan.forecast.points > 250  # a window a minute over five hours
            assert plan.forecast.slope_per_hour == pytest.approx(0.4, rel=0.05)
            # 6.0 now at 0.4/h: 8 in about 5 h, inside the 24 h warning margin
            assert plan.forecast.hours == pytest.approx(5, rel=0.15)
            assert plan.level == "warning" and "predicted to reach 8 in" in plan.message
            # the replay publishes nothing; live samples close windows that are published
            assert not [
                e for e in events if e.kind == maintenance_pb2.MAINTENANCE_EVENT_KIND_WINDOW
            ]
            now = T0 + 5 * 3600 + 120
            await _live(bus, now, 180, 6.0)
            kinds = lambda: {e.kind for e in events}  # noqa: E731
            await wait_until(lambda: maintenance_pb2.MAINTENANCE_EVENT_KIND_FORECAST in kinds())
            # the first closes the replay's last window; the next are the live ones
            window = next(
                e.window
                for e in events
                if e.kind == maintenance_pb2.MAINTENANCE_EVENT_KIND_WINDOW
                and e.window.start.seconds >= now
            )
            assert (window.tag, window.state, window.count) == (f"{M2}/vibration", "running", 12)
            assert window.mean == pytest.approx(6.0) and window.HasField("score")


async def test_record_maintenance_is_authorized_audited_and_kept(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    """Anonymous: UNAUTHENTICATED; a user without maintenance.record: PERMISSION_DENIED,
    audited; fred records, the spindle's counters restart and stay so after a restart."""
    await put_config(bus, CONFIG)
    audits = await collected(bus, "plantbus.v1.audit.maintenance", service_pb2.AuditRecord)
    request = maintenance_pb2.RecordMaintenanceRequest(
        machine=M2, component="spindle", note="new bearing"
    )
    now = time.time() // 60 * 60 - 600
    no_historian = {"maintenance": {"history_wait_s": 0}}
    async with hosted(
        [MaintenanceService], nats_url=nats_url, data_dir=tmp_path, options=no_historian
    ) as runner:
        service = maintenance(runner)
        await wait_until(lambda: service.config_version == 1 and not service.replaying)
        assert "no history replayed" in service.health()[1]
        await _live(bus, now, 300, 4.0, stop=True)
        await wait_until(lambda: service.engine.usage[(M2, "spindle")].stops == 1)
        assert runner.grpc is not None
        ca = Pki(runner.settings.data_dir / "pki").ca_cert
        async with channel(runner.grpc.token_address, ClientTls(ca)) as nobody:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await maintenance_pb2_grpc.MaintenanceServiceStub(nobody).RecordMaintenance(request)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        async with token_channel(runner, await issue_token(bus, "visitor")) as chan:
            stub = maintenance_pb2_grpc.MaintenanceServiceStub(chan)
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.RecordMaintenance(request)
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "maintenance.record" in (err.value.details() or "")
            status = await stub.GetMaintenanceStatus(maintenance_pb2.GetMaintenanceStatusRequest())
            spindle = next(u for u in status.usage if u.component == "spindle")
            assert (spindle.running_hours, spindle.stops, spindle.cycles) == (300 / 3600, 1, 0)
        refusal = await wait_until(lambda: next((a for a in audits if a.actor == "visitor"), None))
        assert refusal.outcome == service_pb2.AUDIT_OUTCOME_DENIED
        assert refusal.target == f"{M2}/spindle"
        async with token_channel(runner, await issue_token(bus, "fred")) as chan:
            stub = maintenance_pb2_grpc.MaintenanceServiceStub(chan)
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.RecordMaintenance(
                    maintenance_pb2.RecordMaintenanceRequest(machine=M2, component="pump", note="x")
                )
            assert err.value.code() == grpc.StatusCode.NOT_FOUND
            assert "it has: machine, spindle" in (err.value.details() or "")
            reply = await stub.RecordMaintenance(request)
        assert reply.before.running_hours == pytest.approx(300 / 3600)
        done = await wait_until(
            lambda: next(
                (
                    a
                    for a in audits
                    if a.actor == "fred" and a.outcome == service_pb2.AUDIT_OUTCOME_SUCCESS
                ),
                None,
            )
        )
        assert done.action == "maintenance.record" and done.detail == "new bearing"
    async with hosted(
        [MaintenanceService], nats_url=nats_url, data_dir=tmp_path, options=no_historian
    ) as runner:
        service = maintenance(runner)
        await wait_until(lambda: service.config_version == 1)
        usage = service.engine.usage[(M2, "spindle")]
        assert (usage.epoch, usage.running_s, usage.last_note, usage.last_by) == (
            1,
            0.0,
            "new bearing",
            "fred",
        )
        assert service.engine.usage[(M2, "machine")].running_s == 300


async def test_the_cli_records_and_shows(bus: Bus, nats_url: str, tmp_path: Path) -> None:
    await put_config(bus, CONFIG)
    audits = await collected(bus, "plantbus.v1.audit.maintenance", service_pb2.AuditRecord)
    no_historian = {"maintenance": {"history_wait_s": 0}}

    async def cli(*args: str) -> Result:
        argv = [*args, "--nats-url", nats_url, "--data-dir", str(tmp_path)]
        return await asyncio.to_thread(CliRunner().invoke, cli_group, argv)

    async with hosted(
        [MaintenanceService], nats_url=nats_url, data_dir=tmp_path, options=no_historian
    ) as runner:
        service = maintenance(runner)
        await wait_until(lambda: service.config_version == 1 and not service.replaying)
        await _live(bus, time.time() // 60 * 60 - 600, 300, 4.0, stop=True)
        await wait_until(lambda: service.engine.usage[(M2, "spindle")].stops == 1)
        shown = await cli("status", M2)
        assert shown.exit_code == 0, shown.output
        # the first state seen is no start: what came before it is not known
        assert f"{M2}  spindle: 0.1 h running, 0 cycles, 0 starts, 1 stops" in shown.output
        assert "[ok] bearing: vibration rms of m2 at 4, not heading for 8" in shown.output
        assert f"{M2}/vibration (running, 12 samples): mean 4" in shown.output
        as_json = await cli("status", M2, "--json")
        assert as_json.exit_code == 0
        assert json.loads(as_json.output)["plans"][0]["plan"] == "bearing"
        done = await cli("done", M2, "spindle", "-m", "regreased", "--user", "fred")
        assert done.exit_code == 0, done.output
        assert "recorded: regreased" in done.output and "0.1 h running" in done.output
        refused = await cli("done", M2, "spindle", "-m", "again", "--user", "visitor")
        assert refused.exit_code == 4 and "may not maintenance.record" in refused.output  # refused
        missing = await cli("done", M2)
        assert missing.exit_code == 2 and "--message" in missing.output
    record = await wait_until(
        lambda: next((a for a in audits if a.outcome == service_pb2.AUDIT_OUTCOME_SUCCESS), None)
    )
    assert (record.actor, record.attributes["via"]) == ("fred", "local-operator")
