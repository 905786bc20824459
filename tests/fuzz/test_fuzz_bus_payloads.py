"""Whatever a stranger publishes on a Plantbus subject: decoding answers with a
ValidationFailed naming the problem, or a message, never another exception; and the real
handlers of the OEE and alerting services, fed random, truncated and hostile payloads
under valid type headers through a real nats-server, never raise and keep acting."""

from __future__ import annotations

import math
import operator
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.message import Message
from hypothesis import given, settings
from hypothesis import strategies as st

from plantbus.alerting.service import AlertingService
from plantbus.kit import streams
from plantbus.kit.bus import TYPE_HEADER, Bus, decode
from plantbus.oee.service import OeeService
from plantbus.sdk.errors import ValidationFailed
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.messages import collected, store_samples
from plantbus.testing.waiting import wait_until
from plantbus.v1 import erp_pb2, oee_pb2, telemetry_pb2

KNOWN_TYPES = [
    "plantbus.v1.TagSampleBatch",
    "plantbus.v1.TagSample",
    "plantbus.v1.ServiceHeartbeat",
    "plantbus.v1.AuditRecord",
]
type_names = st.one_of(st.sampled_from(KNOWN_TYPES), st.text(max_size=40))
headers = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from([TYPE_HEADER, "traceparent", "x"]), type_names, max_size=3),
)


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=512), hdrs=headers)
def test_decode_never_raises_anything_but_validation_failed(
    data: bytes, hdrs: dict[str, str] | None
) -> None:
    try:
        msg = decode(data, hdrs)
    except ValidationFailed as err:
        assert str(err)
    else:
        assert msg.DESCRIPTOR.full_name == (hdrs or {}).get(TYPE_HEADER)


@settings(max_examples=200, deadline=None)
@given(path=st.text(max_size=30), seq=st.integers(0, 2**64 - 1), value=st.floats())
def test_valid_payloads_round_trip(path: str, seq: int, value: float) -> None:
    sample = telemetry_pb2.TagSample(path=path, sequence=seq)
    sample.value.double_value = value
    batch = telemetry_pb2.TagSampleBatch(samples=[sample])
    out = decode(batch.SerializeToString(), {TYPE_HEADER: "plantbus.v1.TagSampleBatch"})
    assert out.SerializeToString() == batch.SerializeToString()


# --- the real handlers of the OEE and alerting services, through a real nats-server ---

M1, M2 = "s/a/l/m1", "s/a/l/m2"
TAGS = ["state", "parts", "rejects", "reason", "temp"]
HANDLERS_CONFIG: dict[str, Any] = {
    "sites": [{"name": "s", "areas": [{"name": "a", "lines": [{"name": "l", "machines": [
        {"name": "m1"}, {"name": "m2"}]}]}]}],
    "oee": [
        {
            "machine": machine,
            "state_tag": "state",
            "total_tag": "parts",
            "reject_tag": "rejects",
            "reason_tag": "reason",
            "reason_codes": {102: "jam"},
            "states": [{"value": 1, "state": "running"}, {"value": 3, "state": "stopped"}],
        }
        for machine in (M1, M2)
    ],
    "alert_rules": [
        {"name": "hot", "kind": "high", "machine": machine, "tag": "temp", "limit": 70,
         "on_delay_s": 0.2}
        for machine in (M1, M2)
    ],
}  # fmt: skip
"""m1 takes the hostile payloads; m2 is never named in them, to see the services act."""

huge_text = st.builds(operator.mul, st.sampled_from(["x", "\U0001f525"]), st.integers(1000, 50_000))
texts = st.one_of(st.text(max_size=30), huge_text, st.sampled_from(["", M1, "*", ">", "\x00"]))
numbers = st.one_of(st.floats(), st.sampled_from([math.nan, math.inf, -math.inf, 1e308]))
int64 = st.integers(-(2**63), 2**63 - 1)


@st.composite
def tag_values(draw: st.DrawFn) -> telemetry_pb2.TagValue:
    kind = draw(
        st.sampled_from(["double"] * 3 + ["int", "uint", "bool", "string", "bytes", "none"])
    )
    value = telemetry_pb2.TagValue()
    if kind == "double":
        value.double_value = draw(numbers)
    elif kind == "int":
        value.int_value = draw(st.one_of(int64, st.sampled_from([1, 3, 102])))
    elif kind == "uint":
        value.uint_value = draw(st.integers(0, 2**64 - 1))
    elif kind == "bool":
        value.bool_value = draw(st.booleans())
    elif kind == "string":
        value.string_value = draw(texts)
    elif kind == "bytes":
        value.bytes_value = draw(st.binary(max_size=64))
    return value


@st.composite
def samples(draw: st.DrawFn) -> telemetry_pb2.TagSample:
    real = st.sampled_from([f"{M1}/{t}" for t in TAGS])
    sample = telemetry_pb2.TagSample(
        path=draw(st.one_of(real, real, real, texts)),  # mostly the tags the services map
        value=draw(tag_values()),
        quality=draw(st.sampled_from([1] * 6 + [0, 2, 3, 2**31 - 1])),  # type: ignore[arg-type]
        sequence=draw(st.integers(0, 2**64 - 1)),
        unit=draw(st.text(max_size=5)),
    )
    sample.source_time.seconds = draw(st.one_of(st.integers(0, 2**33), int64))
    sample.source_time.nanos = draw(st.integers(0, 999_999_999))
    return sample


def batches() -> st.SearchStrategy[Message]:
    return st.builds(
        lambda s, d: telemetry_pb2.TagSampleBatch(samples=s, device=d),
        st.lists(samples(), min_size=1, max_size=4),
        texts,
    )


def snapshots() -> st.SearchStrategy[Message]:
    def snapshot(scope: str, state: str, numbers: list[float], counts: list[int]) -> Message:
        snap = oee_pb2.OeeSnapshot(scope=scope, state=state, reason=state)
        snap.availability, snap.performance, snap.quality, snap.oee = numbers
        snap.total_count, snap.good_count = counts
        return snap

    return st.builds(
        snapshot,
        st.one_of(st.just(M1), texts),
        st.one_of(st.sampled_from(["running", "stopped", "planned_stop"]), texts),
        st.lists(numbers, min_size=4, max_size=4),
        st.lists(int64, min_size=2, max_size=2),
    )


def workorders() -> st.SearchStrategy[Message]:
    return st.builds(
        erp_pb2.WorkOrderEvent,
        erp_id=texts,
        machine=st.one_of(st.just(M1), texts),
        status=st.one_of(st.sampled_from(["running", "completed", "cancelled"]), texts),
        ideal_cycle_time_s=numbers,
        quantity=numbers,
    )


KINDS: dict[str, tuple[str, st.SearchStrategy[Message]]] = {
    "plantbus.v1.TagSampleBatch": ("plantbus.v1.cycle.s.a.l.m1.{tag}", batches()),
    "plantbus.v1.OeeSnapshot": ("plantbus.v1.oee.s.a.l.m1", snapshots()),
    "plantbus.v1.WorkOrderEvent": ("plantbus.v1.erp.workorder.s.l", workorders()),
}


@dataclass(frozen=True)
class Hostile:
    """One payload: its subject, the type its header names, its bytes."""

    subject: str
    type_name: str
    data: bytes


@st.composite
def hostile(draw: st.DrawFn) -> Hostile:
    """A valid message full of hostile values, the same cut short, or random bytes, with a
    type header that mostly matches the subject."""
    subject_type = draw(st.sampled_from(["plantbus.v1.TagSampleBatch"] * 2 + sorted(KINDS)))
    subject, messages = KINDS[subject_type]
    subject = subject.format(tag=draw(st.sampled_from(TAGS)))
    header = draw(
        st.one_of(st.just(subject_type), st.just(subject_type), st.sampled_from(sorted(KINDS)))
    )
    data = draw(messages).SerializeToString()
    shape = draw(st.sampled_from(["whole", "whole", "cut", "random"]))
    if shape == "cut":
        data = data[: draw(st.integers(0, max(len(data) - 1, 0)))]
    elif shape == "random":
        data = draw(st.binary(max_size=256))
    return Hostile(subject, header, data)


def seeds() -> list[Hostile]:
    """Known-hostile payloads sent on every run besides the random ones: non-finite and
    extreme values on the tags the services map, timestamps far off, NaN figures."""
    tm, oee, wo = (
        "plantbus.v1.TagSampleBatch",
        "plantbus.v1.OeeSnapshot",
        "plantbus.v1.WorkOrderEvent",
    )
    values = [
        ("parts", telemetry_pb2.TagValue(double_value=math.nan)),
        ("rejects", telemetry_pb2.TagValue(double_value=math.inf)),
        ("parts", telemetry_pb2.TagValue(uint_value=2**64 - 1)),
        ("parts", telemetry_pb2.TagValue(int_value=-(2**63))),
        ("state", telemetry_pb2.TagValue(double_value=math.nan)),
        ("state", telemetry_pb2.TagValue(string_value="x" * 100_000)),
        ("reason", telemetry_pb2.TagValue(int_value=2**63 - 1)),
        ("temp", telemetry_pb2.TagValue(double_value=-math.inf)),
    ]
    out = []
    for tag, value in values:
        sample = telemetry_pb2.TagSample(path=f"{M1}/{tag}", value=value, quality=1)
        batch = telemetry_pb2.TagSampleBatch(samples=[sample])
        out.append(Hostile("plantbus.v1.cycle.s.a.l.m1.plc", tm, batch.SerializeToString()))
    for seconds in (2**40, -(2**40)):
        sample = telemetry_pb2.TagSample(path=f"{M1}/state", quality=1)
        sample.value.int_value = 3
        sample.source_time.seconds = seconds
        batch = telemetry_pb2.TagSampleBatch(samples=[sample]).SerializeToString()
        out.append(Hostile("plantbus.v1.cycle.s.a.l.m1.plc", tm, batch))
    snap = oee_pb2.OeeSnapshot(scope=M1, state="stopped", oee=math.nan, availability=math.inf)
    out.append(Hostile("plantbus.v1.oee.s.a.l.m1", oee, snap.SerializeToString()))
    for ict in (math.nan, math.inf, -1.0):
        order = erp_pb2.WorkOrderEvent(machine=M1, status="running", ideal_cycle_time_s=ict)
        out.append(Hostile("plantbus.v1.erp.workorder.s.l", wo, order.SerializeToString()))
    return out


async def send_sample(bus: Bus, path: str, value: int | float) -> None:
    """One good sample into the telemetry stream, as the device service sends it."""
    sample = telemetry_pb2.TagSample(path=path, quality=telemetry_pb2.QUALITY_GOOD)
    if isinstance(value, int):
        sample.value.int_value = value
    else:
        sample.value.double_value = value
    sample.source_time.FromNanoseconds(time.time_ns())
    await store_samples(bus, sample)


def ended_with(snaps: list[oee_pb2.OeeSnapshot], machine: str, states: list[str]) -> bool:
    """Whether ``machine``'s published states last changed through ``states``."""
    changes: list[str] = []
    for snap in snaps:
        if snap.scope == machine and (not changes or changes[-1] != snap.state):
            changes.append(snap.state)
    return changes[-len(states) :] == states


async def test_hostile_payloads_never_stop_the_oee_and_alerting_handlers(
    bus: Bus, nats_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    payloads: list[Hostile] = []

    @settings(max_examples=200, deadline=None, database=None)
    @given(payload=hostile())
    def collect(payload: Hostile) -> None:
        payloads.append(payload)

    collect()
    await streams.ensure_stream(bus, streams.CYCLES)
    await put_config(bus, HANDLERS_CONFIG)
    async with hosted([OeeService, AlertingService], nats_url=nats_url, data_dir=tmp_path) as hub:
        oee, alerting = hub.services["oee"], hub.services["alerting"]
        assert isinstance(oee, OeeService) and isinstance(alerting, AlertingService)
        await wait_until(lambda: oee.config_version == 1 and alerting.config_version == 1)
        for p in [*seeds(), *payloads]:
            headers = {TYPE_HEADER: p.type_name}
            if ".cycle." in p.subject:  # the stream, which OEE reads, and alerting too
                await bus.js.publish(p.subject, p.data, headers=headers)
            else:
                await bus.nc.publish(p.subject, p.data, headers=headers)
        await bus.nc.flush()
        # afterwards every handler still acts, on the machine the payloads named too
        snaps = await collected(bus, "plantbus.v1.oee.s.a.l.*", oee_pb2.OeeSnapshot)
        await bus.nc.flush()
        for machine in (M1, M2):
            await send_sample(bus, f"{machine}/state", 1)
            await send_sample(bus, f"{machine}/state", 3)
            await send_sample(bus, f"{machine}/temp", 20.0)
            await send_sample(bus, f"{machine}/temp", 95.0)
        await wait_until(lambda: alerting.alarms[f"hot@{M1}"].active, message="m1's alarm")
        await wait_until(lambda: alerting.alarms[f"hot@{M2}"].active, message="m2's alarm")
        await wait_until(lambda: ended_with(snaps, M1, ["running", "stopped"]), message="m1")
        await wait_until(lambda: ended_with(snaps, M2, ["running", "stopped"]), message="m2")
        await send_sample(bus, f"{M2}/parts", 5)
        await send_sample(bus, f"{M2}/parts", 9)
        await wait_until(  # counts are published by OEE's tick loop
            lambda: any(s.scope == M2 and s.total_count == 4 for s in snaps),
            message="m2's count published",
        )
    raised = [r for r in caplog.records if r.getMessage().startswith("NATS error")]
    assert not raised, [r.getMessage()[:300] for r in raised[:5]]
