"""Whatever a stranger publishes on a Plantbus subject, decoding answers with a
ValidationFailed naming the problem, or a message: never another exception."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from plantbus.kit.bus import TYPE_HEADER, decode
from plantbus.sdk.errors import ValidationFailed
from plantbus.v1 import telemetry_pb2

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
