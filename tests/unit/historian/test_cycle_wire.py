"""Samples read straight from a cycle's bytes are the rows protobuf decoding gives, and
every payload not in the device service's form is left to protobuf."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from plantbus.device.wire import TagCodec, batches, timestamps
from plantbus.historian.batch import Pending
from plantbus.historian.cycle_wire import samples_in_cycle
from plantbus.historian.rows import TagFilter, samples_of
from plantbus.sdk.driver import Quality
from plantbus.sdk.historian import Sample
from plantbus.testing.historian_kit import T0
from plantbus.v1 import telemetry_pb2

KEEP_ALL = TagFilter(["*"])


def _stamp(us: int) -> bytes:
    sample = telemetry_pb2.TagSample()
    sample.source_time.FromMicroseconds(us)
    return sample.source_time.SerializeToString()


def _cycle(values: list[object], quality: Quality = Quality.GOOD, reason: str = "") -> bytes:
    """One device cycle as the device service writes it, a tag per value."""
    times = timestamps(_stamp(T0 + 7), _stamp(T0 + 1007))
    records = [
        TagCodec(f"s/a/l/m/t{i}", "degC" if i % 2 else "", "plc", "e").record(
            value,  # type: ignore[arg-type]
            quality,
            reason,
            i,
            times,
        )
        for i, value in enumerate(values)
    ]
    ((_, payload),) = batches(records, 1 << 20)
    return payload


def _by_protobuf(data: bytes, keep: TagFilter, not_before: int) -> tuple[list[Sample], int]:
    return samples_of(telemetry_pb2.TagSampleBatch.FromString(data), keep, not_before)


def _fast(data: bytes, keep: TagFilter, not_before: int) -> tuple[list[Sample], int] | None:
    return samples_in_cycle(data, None if keep.all else keep, not_before, {})


def test_a_device_cycle_is_read_from_its_bytes_as_protobuf_reads_it() -> None:
    data = _cycle([1.5, -2.25, 7, -(2**63), 2**64 - 1, True, False, None, 0.0, 1e300])
    fast = _fast(data, KEEP_ALL, 0)
    assert fast is not None, "the device service's form is read from its bytes"
    assert fast == _by_protobuf(data, KEEP_ALL, 0)
    assert all(type(s) is Sample for s in fast[0])
    assert fast[0][0] == Sample("s/a/l/m/t0", T0 + 7, 1.5, None, 1, T0 + 1007)
    bad = _cycle([None, 3.0], Quality.BAD, "connection refused")
    assert _fast(bad, KEEP_ALL, 0) == _by_protobuf(bad, KEEP_ALL, 0)


def test_the_filter_and_the_retention_apply_as_with_protobuf() -> None:
    data = _cycle([1.0, 2.0, 3.0])
    keep = TagFilter(["s/a/l/m/t1"])
    assert _fast(data, keep, 0) == _by_protobuf(data, keep, 0)
    assert _fast(data, KEEP_ALL, T0 + 8) == ([], 3)


def test_other_forms_are_left_to_protobuf() -> None:
    text = _cycle(["auto"])  # text values keep their text: protobuf's rows
    assert _fast(text, KEEP_ALL, 0) is None
    assert _fast(b"\xff\xff", KEEP_ALL, 0) is None
    pending = Pending({})
    pending.add_telemetry("S", 1, text, KEEP_ALL, 0)
    pending.add_telemetry("S", 2, b"\xff\xff", KEEP_ALL, 0)
    assert [s.text for s in pending.samples] == ["auto"]
    assert pending.undecodable == 1


kinds = st.one_of(
    st.none(),
    st.tuples(st.just("double_value"), st.floats(allow_nan=False)),
    st.tuples(st.just("int_value"), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.just("uint_value"), st.integers(0, 2**64 - 1)),
    st.tuples(st.just("bool_value"), st.booleans()),
    st.tuples(st.just("string_value"), st.text(max_size=5)),
)
micros = st.integers(-(2**40), 2**52)
samples = st.lists(
    st.tuples(
        st.text(max_size=140),
        kinds,
        st.text(max_size=3),
        st.one_of(st.none(), micros),
        st.one_of(st.none(), micros),
        st.integers(0, 200),
        st.text(max_size=3),
        st.integers(0, 2**64 - 1),
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(samples, st.text(max_size=140), st.integers(-(2**40), 2**52))
def test_any_batch_is_read_as_protobuf_reads_it_or_left_to_it(
    rows: list[tuple[object, ...]], device: str, not_before: int
) -> None:
    batch = telemetry_pb2.TagSampleBatch(device=device)
    for path, kind, unit, source, received, quality, reason, seq in rows:
        sample = batch.samples.add(path=path, unit=unit, quality=quality, quality_reason=reason)
        sample.sequence = seq  # type: ignore[assignment]
        if kind is not None:
            setattr(sample.value, *kind)  # type: ignore[misc]
        if source is not None:
            sample.source_time.FromMicroseconds(source)  # type: ignore[arg-type]
        if received is not None:
            sample.receive_time.FromMicroseconds(received)  # type: ignore[arg-type]
    data = batch.SerializeToString()
    fast = _fast(data, KEEP_ALL, not_before)
    assert fast is None or fast == _by_protobuf(data, KEEP_ALL, not_before)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_read_as_protobuf_reads_them_or_left_to_it(data: bytes) -> None:
    fast = _fast(data, KEEP_ALL, 0)
    if fast is None:
        return
    # repr: a NaN's bytes make a value unequal to itself
    assert repr(fast) == repr(_by_protobuf(data, KEEP_ALL, 0)), "what protobuf reads the same"
