"""The gRPC layer's refusal of NaN and infinities: every float and double field of a
request, nested, repeated and map fields included, is checked, and the error names it."""

from __future__ import annotations

import math

import pytest
from google.protobuf.message import Message

from plantbus.kit.finite import require_finite
from plantbus.sdk.errors import ValidationFailed
from plantbus.v1 import alerting_pb2, device_pb2, oee_pb2, telemetry_pb2


def batch(*values: float) -> telemetry_pb2.TagSampleBatch:
    samples = [telemetry_pb2.TagSample(path=f"p{i}") for i in range(len(values))]
    for sample, value in zip(samples, values, strict=True):
        sample.value.double_value = value
    return telemetry_pb2.TagSampleBatch(samples=samples)


@pytest.mark.parametrize(
    ("msg", "named"),
    [
        (
            alerting_pb2.ShelveRequest(id="a", duration_seconds=math.nan),
            "ShelveRequest.duration_seconds is nan",
        ),
        (
            device_pb2.WriteTagRequest(
                device="d", tag="t", value=telemetry_pb2.TagValue(double_value=-math.inf)
            ),
            "WriteTagRequest.value.double_value is -inf",
        ),
        (batch(1.0, 2.0, math.inf), "TagSampleBatch.samples[2].value.double_value is inf"),
        (
            oee_pb2.GetLossesResponse(six_big_losses_s={"ok": 1.0, "bad": math.nan}),
            "GetLossesResponse.six_big_losses_s['bad'] is nan",
        ),
    ],
)
def test_a_non_finite_number_anywhere_is_refused_by_name(msg: Message, named: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        require_finite(msg)
    assert str(info.value) == f"{named}: only finite numbers are accepted"


def test_finite_numbers_and_other_fields_pass() -> None:
    require_finite(batch(0.0, -1e308, 1e-320))
    require_finite(device_pb2.WriteTagRequest(device="x" * 100_000, reason="nan"))
    require_finite(oee_pb2.GetLossesResponse(six_big_losses_s={"inf": 0.0}))
