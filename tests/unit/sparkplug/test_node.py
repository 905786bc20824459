"""The edge node's messages, decoded by pysparkplug (a Sparkplug implementation the
project did not write): births with every metric, data by exception, seq wrapping at
255, death of a bad device and its rebirth, and the commands a host sends."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from plantbus.config.devices import Device, Tag
from plantbus.config.sparkplug import SparkplugConfig
from plantbus.kit.codec import timestamp
from plantbus.sdk.driver import DataType
from plantbus.sparkplug import sparkplug_b_pb2 as ours
from plantbus.sparkplug.node import EdgeNode, Refused, Write
from plantbus.v1 import telemetry_pb2

spb = pytest.importorskip("pysparkplug", reason="pysparkplug (the host's decoder) is missing")
from pysparkplug._protobuf import sparkplug_b_pb2 as theirs  # noqa: E402 - after the skip

ROOT = Path(__file__).resolve().parents[3]
GOOD, BAD = telemetry_pb2.QUALITY_GOOD, telemetry_pb2.QUALITY_BAD
M1 = "demo/machining/line1/m1"


def _section(**extra: object) -> SparkplugConfig:
    return SparkplugConfig.model_validate(
        {
            "broker": {"url": "mqtt://127.0.0.1:1883"},
            "group_id": "plant",
            "edge_node_id": "hub",
            "user": "scada",
            **extra,
        }
    )


def _devices() -> list[Device]:
    tags = [
        Tag(name="state", address="holding:0", data_type=DataType.UINT16),
        Tag(name="temp", address="holding:4", data_type=DataType.FLOAT32, unit="degC"),
        Tag(name="offset", address="holding:8", data_type=DataType.INT16),
        Tag(name="scaled", address="holding:9", data_type=DataType.INT16, scale=0.1),
        Tag(name="run", address="coil:0", data_type=DataType.BOOL, access="read_write"),
    ]
    other = [Tag(name="count", address="holding:100", data_type=DataType.INT64)]
    return [
        Device(name="m1-plc", driver="modbus", endpoint="modbus://x:502", machine=M1, tags=tags),
        Device(
            name="m2-plc",
            driver="modbus",
            endpoint="modbus://x:502",
            machine="demo/machining/line1/m2",
            tags=other,
        ),
    ]


def _sample(path: str, quality: int = GOOD, **value: object) -> telemetry_pb2.TagSample:
    return telemetry_pb2.TagSample(
        path=path,
        value=telemetry_pb2.TagValue(**value),  # type: ignore[arg-type]
        quality=quality,  # type: ignore[arg-type]
        source_time=timestamp(1_700_000_000.5),
    )


def test_the_compiled_schema_is_tahus_own() -> None:
    """Our sparkplug_b.proto, written from the specification, compiles to exactly the
    descriptor pysparkplug ships (Eclipse Tahu's)."""
    mine = descriptor_pb2.FileDescriptorProto()
    ours.DESCRIPTOR.CopyToProto(mine)
    other = descriptor_pb2.FileDescriptorProto()
    theirs.DESCRIPTOR.CopyToProto(other)
    assert mine == other


def test_births_carry_every_metric_with_name_alias_datatype_and_value() -> None:
    node = EdgeNode(_section(), _devices())
    node.samples(
        [
            _sample(f"{M1}/state", uint_value=3),
            _sample(f"{M1}/temp", double_value=21.5),
            _sample(f"{M1}/offset", int_value=-7),
            _sample(f"{M1}/scaled", double_value=1.5),
            _sample(f"{M1}/run", quality=BAD),
        ],
        1000,
    )
    will = node.will(7, 900)
    assert will.topic == "spBv1.0/plant/NDEATH/hub"
    death = spb.NDeath.decode(will.payload)
    assert death.bd_seq_metric.value == 7
    nbirth, m1, m2 = node.births(2000)
    assert spb.Topic.from_str(nbirth.topic).message_type == spb.MessageType.NBIRTH
    node_birth = spb.NBirth.decode(nbirth.payload)
    assert node_birth.seq == 0
    assert {m.name: (m.datatype, m.value) for m in node_birth.metrics} == {
        "bdSeq": (spb.DataType.UINT64, 7),
        "Node Control/Rebirth": (spb.DataType.BOOLEAN, False),
    }
    assert m1.topic == "spBv1.0/plant/DBIRTH/hub/m1-plc"
    birth = spb.DBirth.decode(m1.payload)
    assert birth.seq == 1
    metrics = {m.name: m for m in birth.metrics}
    assert {n: (m.alias, m.datatype) for n, m in metrics.items()} == {
        "state": (2, spb.DataType.UINT16),
        "temp": (3, spb.DataType.FLOAT),
        "offset": (4, spb.DataType.INT16),
        "scaled": (5, spb.DataType.DOUBLE),
        "run": (6, spb.DataType.BOOLEAN),
    }
    assert metrics["state"].value == 3
    assert metrics["temp"].value == 21.5
    assert metrics["offset"].value == -7
    assert metrics["scaled"].value == 1.5
    assert metrics["run"].is_null  # bad quality: no value
    assert metrics["state"].timestamp == 1_700_000_000_500
    (count,) = spb.DBirth.decode(m2.payload).metrics
    assert (count.name, count.alias, count.is_null) == ("count", 7, True)  # nothing seen yet


def test_data_by_exception_by_alias_and_seq_wraps_at_255() -> None:
    node = EdgeNode(_section(), _devices())
    node.samples([_sample(f"{M1}/state", uint_value=1)], 0)
    node.will(0, 0)
    births = node.births(0)
    dbirth = spb.DBirth.decode(births[1].payload)
    assert node.samples([_sample(f"{M1}/state", uint_value=1)], 1) == []  # unchanged
    seqs = []
    for i in range(300):
        (ddata,) = node.samples([_sample(f"{M1}/state", uint_value=i + 2)], 10 + i)
        assert ddata.topic == "spBv1.0/plant/DDATA/hub/m1-plc"
        decoded = spb.DData.decode(ddata.payload, birth=dbirth)
        seqs.append(decoded.seq)
        (metric,) = decoded.metrics
        assert (metric.name, metric.alias, metric.value) == ("state", 2, i + 2)
    assert seqs[:3] == [3, 4, 5]  # after NBIRTH 0 and two DBIRTHs
    assert seqs[252:255] == [255, 0, 1]
    assert all(b == (a + 1) % 256 for a, b in itertools.pairwise(seqs))


def test_a_device_whose_tags_all_go_bad_dies_and_is_born_again() -> None:
    node = EdgeNode(_section(devices=["m2-plc"]), _devices())
    path = "demo/machining/line1/m2/count"
    node.will(3, 0)
    node.births(0)
    (death,) = node.samples([_sample(path, quality=BAD)], 5)
    assert death.topic == "spBv1.0/plant/DDEATH/hub/m2-plc"
    assert spb.DDeath.decode(death.payload).seq == 2
    assert node.samples([_sample(path, quality=BAD)], 6) == []  # dead stays quiet
    (reborn,) = node.samples([_sample(path, int_value=-5)], 7)
    assert reborn.topic == "spBv1.0/plant/DBIRTH/hub/m2-plc"
    (metric,) = spb.DBirth.decode(reborn.payload).metrics
    assert (metric.name, metric.value, metric.datatype) == ("count", -5, spb.DataType.INT64)


def test_nothing_is_published_offline_but_values_are_kept_for_the_next_birth() -> None:
    node = EdgeNode(_section(devices=["m2-plc"]), _devices())
    assert node.samples([_sample("demo/machining/line1/m2/count", int_value=9)], 1) == []
    node.will(0, 0)
    _, dbirth = node.births(2)
    assert spb.DBirth.decode(dbirth.payload).metrics[0].value == 9


def test_rebirth_command_by_name_or_alias() -> None:
    node = EdgeNode(_section(), _devices())
    by_name = spb.NCmd(
        timestamp=1,
        metrics=(
            spb.Metric(
                timestamp=1, datatype=spb.DataType.BOOLEAN, name="Node Control/Rebirth", value=True
            ),
        ),
    )
    by_alias = spb.NCmd(
        timestamp=1,
        metrics=(
            spb.Metric(timestamp=1, name=None, datatype=spb.DataType.BOOLEAN, alias=1, value=True),
        ),
    )
    off = spb.NCmd(
        timestamp=1,
        metrics=(
            spb.Metric(
                timestamp=1, datatype=spb.DataType.BOOLEAN, name="Node Control/Rebirth", value=False
            ),
        ),
    )
    assert node.rebirth_requested(by_name.encode())
    assert node.rebirth_requested(by_alias.encode())
    assert not node.rebirth_requested(off.encode())


def test_device_commands_become_writes_of_the_tags_they_name() -> None:
    node = EdgeNode(_section(), _devices())
    dcmd = spb.DCmd(
        timestamp=1,
        metrics=(
            spb.Metric(timestamp=1, datatype=spb.DataType.BOOLEAN, name="run", value=True),
            spb.Metric(timestamp=1, name=None, datatype=spb.DataType.INT16, alias=4, value=-3),
            spb.Metric(timestamp=1, datatype=spb.DataType.INT16, name="nope", value=1),
        ),
    )
    out = node.writes("m1-plc", dcmd.encode(include_dtypes=True))
    assert out == [
        Write("m1-plc", "run", f"{M1}/run", True),
        Write("m1-plc", "offset", f"{M1}/offset", -3),
        Refused("m1-plc", "nope", "device 'm1-plc' has no metric 'nope'"),
    ]
    (unknown,) = node.writes("m9", dcmd.encode())[:1]
    assert isinstance(unknown, Refused)


def test_the_generated_code_is_fresh(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate", ROOT / "proto" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for fresh in module.generate_sparkplug(tmp_path):
        committed = ROOT / "services" / "plantbus" / "sparkplug" / fresh.name
        assert re.sub(rb"\s", b"", fresh.read_bytes()) == re.sub(
            rb"\s", b"", committed.read_bytes()
        ), f"{committed.name} is stale: run python proto/generate.py"
