"""Feeding the historian in tests: telemetry into the stream as the device service sends
it, events as the OEE, alerting and ERP services publish them (core NATS)."""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.message import Message

from plantbus.historian.service import HistorianService
from plantbus.kit import streams, subjects
from plantbus.kit.bus import Bus
from plantbus.kit.runner import Runner
from plantbus.testing.waiting import wait_until
from plantbus.v1 import alerting_pb2, erp_pb2, oee_pb2, telemetry_pb2

__all__ = [
    "EVENTS",
    "assert_stored_once",
    "final_figures",
    "open_historian",
    "publish_events",
    "publish_finals",
    "publish_samples",
]


async def publish_samples(
    bus: Bus, path: str, times_us: Sequence[int], values: Sequence[float] | None = None
) -> None:
    """One JetStream message per sample (a device cycle of one sample), acknowledged in
    one go."""
    acks = []
    for i, t in enumerate(times_us):
        sample = telemetry_pb2.TagSample(path=path, quality=telemetry_pb2.QUALITY_GOOD)
        sample.value.double_value = values[i] if values is not None else float(i)
        sample.source_time.FromMicroseconds(t)
        sample.receive_time.FromMicroseconds(t + 1000)
        batch = telemetry_pb2.TagSampleBatch(samples=[sample], device="plc")
        acks.append(
            await bus.js.publish_async(
                subjects.cycle(path.rpartition("/")[0], "plc"),
                batch.SerializeToString(),
                headers=bus.headers_for(batch),
            )
        )
    for ack in acks:
        await ack


def _events(now_us: int) -> list[tuple[str, Message]]:
    snapshot = oee_pb2.OeeSnapshot(scope="s/a/l/m1", state="running", oee=0.8)
    snapshot.time.FromMicroseconds(now_us)
    stop = oee_pb2.DowntimeEvent(id="d1", machine="s/a/l/m1", kind=oee_pb2.DOWNTIME_KIND_STARTED)
    stop.start.FromMicroseconds(now_us + 1)
    alarm = alerting_pb2.AlarmEvent(
        id="hot@s/a/l/m1", rule="hot", scope="s/a/l/m1", state="unacknowledged"
    )
    alarm.time.FromMicroseconds(now_us + 2)
    order = erp_pb2.WorkOrderEvent(erp_id="WO-1", status="running", machine="")
    confirmation = erp_pb2.Confirmation(
        idempotency_key="WO-1#1", machine="s/a/l/m1", good_quantity=5
    )
    confirmation.end.FromMicroseconds(now_us + 3)
    return [
        (subjects.oee("s", "a", "l", "m1"), snapshot),
        (subjects.downtime("s", "a", "l", "m1"), stop),
        (subjects.alarm("s", "a", "l", "m1", "hot"), alarm),
        (subjects.workorder("s", "l"), order),
        (subjects.confirmation("s", "l"), confirmation),
    ]


EVENTS = ("oee", "downtime", "alarm", "work_order", "confirmation")


async def publish_events(bus: Bus, now_us: int) -> None:
    """One event of each kind, published as their services publish them."""
    for subject, msg in _events(now_us):
        await bus.publish(subject, msg)
    await bus.nc.flush()


def final_figures(
    machine: str, end_us: int, oee: float, revision: int = 0, *, shift: str = "", order: str = ""
) -> oee_pb2.OeeSnapshot:
    """The final figures of a shift (``shift``) or work order (``order``), as the OEE
    service publishes them when the period ends and again, revised, after a correction."""
    final = oee_pb2.OeeSnapshot(
        scope=machine, shift=shift, work_order=order, oee=oee, revision=revision, final=True
    )
    final.availability, final.performance, final.quality = oee, 1.0, 1.0
    final.total_count, final.good_count = 100, 90
    final.time.FromMicroseconds(end_us)
    return final


async def publish_finals(bus: Bus, finals: Sequence[oee_pb2.OeeSnapshot]) -> None:
    """Final figures into PLANTBUS_OEE_FINAL, as the OEE service publishes them."""
    for final in finals:
        subject = subjects.oee_final(*final.scope.split("/"))
        await bus.js.publish(subject, final.SerializeToString(), headers=bus.headers_for(final))


async def open_historian(runner: Runner) -> HistorianService:
    """The runner's historian once its store is open on config version 1."""
    service = runner.services["historian"]
    assert isinstance(service, HistorianService)
    await wait_until(lambda: service.store is not None and service.config_version == 1)
    return service


async def assert_stored_once(
    bus: Bus, service: HistorianService, path: str, times_us: Sequence[int], events: int
) -> None:
    """The store holds every sample of ``path`` at ``times_us`` and ``events`` events,
    each once, and the telemetry and events streams' ends as its positions."""
    assert service.store is not None
    stored = await service.store.samples(path, 0, 2**62, 10_000)
    assert [s.time_us for s in stored] == list(times_us)
    assert len(await service.store.events([], "", 0, 2**62, 1000)) == events, "each event once"
    for spec in (streams.CYCLES, streams.EVENTS):
        last = (await bus.js.stream_info(spec.name)).state.last_seq
        assert await service.store.position(spec.name) == last
