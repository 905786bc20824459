"""The hand-built telemetry messages are the protobuf library's bytes, for every kind of
value, and their frames are what nats-py would send."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nats.errors import MaxPayloadError

from plantbus.device.wire import (
    Record,
    TagCodec,
    batches,
    frames,
    sample_of,
    samples_in,
    timestamps,
)
from plantbus.kit.codec import timestamp
from plantbus.sdk.driver import Quality, Scalar
from plantbus.v1 import telemetry_pb2

PATH = "site/area/line/m1/temp"
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
)


def reference(
    value: Scalar | None, quality: Quality, reason: str, sequence: int, unit: str, device: str
) -> telemetry_pb2.TagSampleBatch:
    """The message as the protobuf library builds it."""
    received = timestamp(1_700_000_000.25)
    sample = telemetry_pb2.TagSample(
        path=PATH,
        unit=unit,
        source_time=received,
        receive_time=received,
        quality=int(quality),  # type: ignore[arg-type]
        quality_reason=reason,
        sequence=sequence,
    )
    sample.value.SetInParent()  # "no value" is an empty TagValue, as before
    if isinstance(value, bool):
        sample.value.bool_value = value
    elif isinstance(value, int):
        if value > 2**63 - 1:
            sample.value.uint_value = value
        else:
            sample.value.int_value = value
    elif isinstance(value, float):
        sample.value.double_value = value
    elif isinstance(value, str):
        sample.value.string_value = value
    elif isinstance(value, bytes):
        sample.value.bytes_value = value
    return telemetry_pb2.TagSampleBatch(samples=[sample], device=device)


@given(
    value=SCALARS,
    quality=st.sampled_from(Quality),
    reason=st.text(max_size=300),
    sequence=st.integers(min_value=1, max_value=2**64 - 1),
    unit=st.sampled_from(["", "degC", "µm"]),
    device=st.sampled_from(["", "plc-1"]),
)
def test_record_is_the_protobuf_librarys_serialization(
    value: Scalar | None, quality: Quality, reason: str, sequence: int, unit: str, device: str
) -> None:
    received = timestamp(1_700_000_000.25).SerializeToString()
    key, payload = TagCodec(PATH, unit, device, "e1").record(
        value, quality, reason, sequence, timestamps(received, received)
    )
    expected = reference(value, quality, reason, sequence, unit, device)
    assert payload == expected.SerializeToString()
    assert key == f"plantbus.v1.telemetry.site.area.line.m1.temp e1:{PATH}:{sequence}"


@pytest.mark.parametrize("n", [127, 128, 300, 2**14 - 1, 2**14, 2**21 - 1, 2**21, 2**28])
def test_varints_at_their_length_boundaries_are_the_protobuf_librarys(n: int) -> None:
    """Sequences and values of one to five varint bytes, the short ones unrolled."""
    received = timestamp(1_700_000_000.25).SerializeToString()
    for value in (n, -n, float(n)):
        _, payload = TagCodec(PATH, "", "plc-1", "e1").record(
            value, Quality.GOOD, "", n, timestamps(received, received)
        )
        expected = reference(value, Quality.GOOD, "", n, "", "plc-1")
        assert payload == expected.SerializeToString()


def test_source_time_and_receive_time_are_kept_apart() -> None:
    source = datetime(2026, 1, 2, 3, 4, 5, 600_000, tzinfo=UTC)
    received = time.time()
    times = timestamps(
        timestamp(source.timestamp()).SerializeToString(),
        timestamp(received).SerializeToString(),
    )
    _, payload = TagCodec(PATH, "", "", "e").record(1.5, Quality.GOOD, "", 1, times)
    sample = sample_of(payload)
    assert sample.source_time.ToDatetime(tzinfo=UTC) == source
    assert abs(sample.receive_time.ToNanoseconds() / 1e9 - received) < 1e-6


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1])
def test_integers_beyond_64_bits_are_refused_like_protobuf_does(value: int) -> None:
    with pytest.raises(ValueError, match="64 bits"):
        TagCodec(PATH, "", "", "e").record(value, Quality.GOOD, "", 1, b"")


def test_frames_are_hpub_commands_with_both_headers() -> None:
    data = frames([("plantbus.v1.telemetry.a.b e:a/b:7", b"\x01\x02")], max_payload=100)
    header = (
        b"NATS/1.0\r\nPlantbus-Type: plantbus.v1.TagSampleBatch\r\nNats-Msg-Id: e:a/b:7\r\n\r\n"
    )
    assert data == (
        b"HPUB plantbus.v1.telemetry.a.b %d %d\r\n" % (len(header), len(header) + 2)
        + header
        + b"\x01\x02\r\n"
    )


def test_a_payload_over_the_servers_limit_is_refused_before_anything_is_framed() -> None:
    with pytest.raises(MaxPayloadError):
        frames([("s.a e:a:1", b"x"), ("s.b e:b:1", b"x" * 11)], max_payload=10)


def _records(device: str, tags: int, cycle: int) -> list[Record]:
    received = timestamp(1_700_000_000.25 + cycle).SerializeToString()
    times = timestamps(received, received)
    return [
        TagCodec(f"s/a/l/m/t{i}", "degC", device, "e").record(
            cycle * 1000 + i, Quality.GOOD, "", cycle, times
        )
        for i in range(tags)
    ]


def _messages(data: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """(subject, headers, payload) of each HPUB command in ``data``."""
    out = []
    while data:
        line, _, data = data.partition(b"\r\n")
        _, subject, head, total = line.split(b" ")
        body, data = data[: int(total)], data[int(total) + 2 :]
        out.append((subject, body[: int(head)], body[int(head) :]))
    return out


def test_batches_carry_each_devices_samples_in_order_as_protobuf_builds_the_batch() -> None:
    one, two = _records("plc-1", 3, 1) + _records("plc-1", 3, 2), _records("plc-2", 2, 1)
    records = one[:3] + two + one[3:]
    stored = batches(records, max_payload=1_000_000)
    assert [key for key, _ in stored] == [
        "plantbus.v1.cycle.s.a.l.m.plc-1 e:s/a/l/m/t0:1",  # the first sample's message id
        "plantbus.v1.cycle.s.a.l.m.plc-2 e:s/a/l/m/t0:1",
    ]
    for (_, payload), (device, mine) in zip(stored, (("plc-1", one), ("plc-2", two)), strict=True):
        expected = telemetry_pb2.TagSampleBatch(
            samples=[sample_of(p) for _, p in mine], device=device
        )
        assert payload == expected.SerializeToString()
        assert samples_in(payload) == len(mine)


def test_a_batch_over_the_servers_limit_is_split_in_order_and_a_huge_sample_refused() -> None:
    records = _records("plc", 100, 1)
    limit = 2_000  # about 20 samples a message
    messages = _messages(frames(batches(records, max_payload=limit), limit, trace="00-" + "a" * 51))
    assert len(messages) > 2 and all(len(h) + len(p) <= limit for _, h, p in messages)
    stored = [telemetry_pb2.TagSampleBatch.FromString(p) for _, _, p in messages]
    assert {b.device for b in stored} == {"plc"}
    assert [s.path for b in stored for s in b.samples] == [f"s/a/l/m/t{i}" for i in range(100)]
    ids = [h.split(b"Nats-Msg-Id: ")[1].split(b"\r\n")[0] for _, h, _ in messages]
    assert len(set(ids)) == len(ids), "each part has a message id of its own"
    with pytest.raises(MaxPayloadError):
        batches(records, max_payload=200)


def test_records_without_a_device_are_not_stored() -> None:
    assert batches(_records("", 3, 1), max_payload=1_000) == []


def test_a_sample_of_more_than_127_bytes_is_carried_whole() -> None:
    received = timestamp(1_700_000_000.25).SerializeToString()
    long = TagCodec(PATH, "", "plc", "e").record(
        None, Quality.BAD, "x" * 300, 1, timestamps(received, received)
    )
    ((_, payload),) = batches([*_records("plc", 2, 1), long], max_payload=10_000)
    samples = telemetry_pb2.TagSampleBatch.FromString(payload).samples
    assert [s.quality_reason for s in samples] == ["", "", "x" * 300]
