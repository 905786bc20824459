"""The Sparkplug B edge node against a real broker (Debian's mosquitto, TLS and passwords)
inside a real `plantbus up`, seen by a Sparkplug host built on paho-mqtt and pysparkplug,
an implementation the project did not write: births with every metric after an NCMD
rebirth, data by exception, seq in order, DDEATH of a device whose PLC goes away, the Will
NDEATH of a SIGKILLed bridge and its next bdSeq, and DCMD writes that reach the simulated
Modbus PLC or are refused by the write policies, audited either way."""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import paho.mqtt.client as paho
import pytest
import yaml
from grpc_reflection.v1alpha import reflection_pb2_grpc
from paho.mqtt.enums import CallbackAPIVersion

from plantbus.kit import pki
from plantbus.kit.discovery import find
from plantbus.kit.grpc_client import ClientTls, channel
from plantbus.kit.identity import USER_HEADER
from plantbus.kit.natsconnect import connect
from plantbus.testing.ports import free_port
from plantbus.testing.waiting import wait_until
from plantbus.v1 import device_pb2, device_pb2_grpc, telemetry_pb2
from tests.certs import make_pki
from tests.hub import child, demo_plant, nats_settings, plantbus, running_hub
from tests.mosquitto import MISSING, running_mosquitto

spb = pytest.importorskip("pysparkplug", reason="pysparkplug (the host's decoder) is missing")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("mosquitto") is None, reason=MISSING),
]

GROUP, EDGE = "plantbus-e2e", "hub1"
M1_TAGS = {
    "state",
    "reason",
    "parts",
    "rejects",
    "spindle_temp",
    "power",
    "speed_setpoint",
    "vibration",
}
DEVICES = ("m1-plc", "m2-plc", "probe-plc")
T = spb.MessageType
_PLANTBUS = (sys.executable, "-m", "plantbus.cli")


class Host:
    """A Sparkplug host application: every message of the group, in arrival order."""

    def __init__(self, port: int, ca: Path, password: str) -> None:
        self.messages: list[tuple[Any, bytes]] = []
        self._ready = threading.Event()
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"host-{uuid.uuid4().hex}")
        client.username_pw_set("host", password)
        client.tls_set(ca_certs=str(ca))
        client.on_message = lambda _c, _u, m: self.messages.append(
            (spb.Topic.from_str(m.topic), bytes(m.payload))
        )
        client.on_subscribe = lambda *_: self._ready.set()
        client.connect("localhost", port)
        client.loop_start()
        client.subscribe(f"spBv1.0/{GROUP}/#", qos=1)
        assert self._ready.wait(10), "the host could not subscribe"
        self.client = client

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def mark(self) -> int:
        return len(self.messages)

    def find(self, kind: Any, device: str | None = None, after: int = 0) -> list[tuple[int, bytes]]:
        return [
            (i, payload)
            for i, (topic, payload) in enumerate(self.messages[after:], start=after)
            if topic.message_type == kind and (device is None or topic.device_id == device)
        ]

    async def first(
        self, kind: Any, device: str | None = None, after: int = 0, timeout: float = 30
    ) -> tuple[int, bytes]:
        found = await wait_until(
            lambda: self.find(kind, device, after), timeout, message=f"{kind} {device or ''}"
        )
        return found[0]

    def send(self, kind: Any, payload: Any, device: str = "") -> None:
        topic = f"spBv1.0/{GROUP}/{kind}/{EDGE}" + (f"/{device}" if device else "")
        self.client.publish(topic, payload.encode(include_dtypes=True), qos=1).wait_for_publish(5)

    def rebirth(self) -> None:
        metric = spb.Metric(
            timestamp=spb.get_current_timestamp(),
            name="Node Control/Rebirth",
            datatype=spb.DataType.BOOLEAN,
            value=True,
        )
        self.send("NCMD", spb.NCmd(timestamp=spb.get_current_timestamp(), metrics=(metric,)))

    async def births(self) -> tuple[int, Any, dict[str, Any]]:
        """Ask for a rebirth, again every few seconds until one comes, as a host does
        while the edge node may not be on the broker yet (a restarted bridge, a hub that
        serves before its bridge connects); (index of the NBIRTH, NBIRTH, device -> DBIRTH)."""
        mark = self.mark()

        async def asked() -> list[tuple[int, bytes]]:
            self.rebirth()
            with contextlib.suppress(TimeoutError):
                return [await self.first(T.NBIRTH, after=mark, timeout=5)]
            return []

        ((at, raw),) = await wait_until(asked, 90, message="an NBIRTH after NCMD rebirth")
        dbirths = {}
        for device in DEVICES:
            _, payload = await self.first(T.DBIRTH, device, after=at)
            dbirths[device] = spb.DBirth.decode(payload)
        return at, spb.NBirth.decode(raw), dbirths


def _sim(port: int) -> subprocess.Popen[bytes]:
    """`plantbus sim` serving the probe PLC's registers on ``port``."""
    return subprocess.Popen(
        [*_PLANTBUS, "sim", "--modbus-port", str(port), "--opcua-port", str(free_port())],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _plant(tmp: Path, broker: int, pki: Path, secret: Path, probe: int) -> Path:
    plant = demo_plant(tmp)
    main = yaml.safe_load((plant / "plant.yaml").read_text())
    main["users"].append({"name": "scada", "roles": ["engineer"]})
    (plant / "plant.yaml").write_text(yaml.safe_dump(main, sort_keys=False))
    devices = yaml.safe_load((plant / "devices.yaml").read_text())
    devices["devices"].append(
        {
            "name": "probe-plc",
            "driver": "modbus",
            "endpoint": f"modbus://127.0.0.1:{probe}",
            "machine": "demo/machining/line1/m3",
            "poll_interval_s": 0.5,
            "settings": {"unit": 1},
            "tags": [{"name": "probe_state", "address": "holding:0", "data_type": "uint16"}],
        }
    )
    (plant / "devices.yaml").write_text(yaml.safe_dump(devices, sort_keys=False))
    section = {
        "sparkplug": {
            "broker": {
                "url": f"mqtts://localhost:{broker}",
                "username": "hub",
                "password": f"file:{secret}",
                "ca_file": str(pki / "ca.crt"),
                "keepalive_s": 10,
            },
            "group_id": GROUP,
            "edge_node_id": EDGE,
            "user": "scada",
            "devices": list(DEVICES),
        }
    }
    (plant / "sparkplug.yaml").write_text(yaml.safe_dump(section, sort_keys=False))
    return plant


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """mosquitto, the probe PLC and `plantbus up` with a sparkplug section."""
    tmp = tmp_path_factory.mktemp("sparkplug")
    (tmp / "pki").mkdir()
    pki = make_pki(tmp / "pki")
    secret = tmp / "hub.password"
    secret.write_text("hub-secret\n")
    users = {"hub": "hub-secret", "host": "host-secret"}
    probe_port = free_port()
    state: dict[str, Any] = {"probe": _sim(probe_port), "probe_port": probe_port}
    try:
        with running_mosquitto(tmp / "mqtt", pki, users) as port:
            data = tmp / "hub"
            plant = _plant(tmp, port, pki, secret, probe_port)
            with running_hub(data, "--config", str(plant)) as proc:
                state.update(port=port, ca=pki / "ca.crt", data=data, proc=proc)
                yield state
    finally:
        # the probe a test started again in place of the one it killed, if it did
        state["probe"].terminate()
        state["probe"].wait(10)


@pytest.fixture
def host(site: dict[str, Any]) -> Iterator[Host]:
    h = Host(site["port"], site["ca"], "host-secret")
    yield h
    h.close()


def _seqs_follow(host: Host, start: int) -> list[int]:
    """The seq of every node message from the NBIRTH at ``start`` on (up to the next one)."""
    seqs = []
    for topic, payload in host.messages[start:]:
        if topic.message_type == T.NBIRTH and seqs:
            break
        if topic.message_type in (T.NBIRTH, T.DBIRTH, T.DDATA, T.DDEATH):
            seqs.append(_seq(payload))
    return seqs


def _seq(payload: bytes) -> int:
    from pysparkplug._protobuf import Payload

    return int(Payload.FromString(payload).seq)


async def test_rebirth_gives_every_metric_then_data_by_exception_in_seq_order(
    host: Host,
) -> None:
    # a hub that has just started may birth before its PLCs were read: wait for data, so
    # the rebirth asked for here must carry a value for every metric
    await host.first(T.DDATA, "m1-plc", timeout=60)
    at, nbirth, dbirths = await host.births()
    assert nbirth.seq == 0
    names = {m.name: m for m in nbirth.metrics}
    assert set(names) == {"bdSeq", "Node Control/Rebirth"}
    assert names["bdSeq"].datatype == spb.DataType.UINT64
    m1 = {m.name: m for m in dbirths["m1-plc"].metrics}
    assert set(m1) == M1_TAGS
    assert m1["spindle_temp"].datatype == spb.DataType.FLOAT
    assert m1["parts"].datatype == spb.DataType.UINT16
    assert all(m.alias is not None for m in m1.values()), m1
    assert not [n for n, m in m1.items() if m.is_null], dbirths["m1-plc"]
    aliases = [m.alias for b in dbirths.values() for m in b.metrics]
    assert len(aliases) == len(set(aliases)), "aliases must be unique in the edge node"
    # data by exception, by alias, decoded against the birth
    last = {m.name: m.value for m in dbirths["m1-plc"].metrics}
    mark = host.mark()
    await wait_until(lambda: len(host.find(T.DDATA, "m1-plc", mark)) >= 3, 30)
    for _, payload in host.find(T.DDATA, "m1-plc", mark):
        data = spb.DData.decode(payload, birth=dbirths["m1-plc"])
        assert data.metrics
        for metric in data.metrics:
            assert metric.value != last[metric.name], f"{metric.name} sent unchanged"
            last[metric.name] = metric.value
    seqs = _seqs_follow(host, at)
    assert seqs[0] == 0
    assert all(b == (a + 1) % 256 for a, b in itertools.pairwise(seqs)), seqs


async def test_dcmd_writes_through_the_policies_and_every_outcome_is_audited(
    site: dict[str, Any], host: Host
) -> None:
    _, _, dbirths = await host.births()
    mark = host.mark()
    metric = spb.Metric(
        timestamp=spb.get_current_timestamp(),
        name="speed_setpoint",
        datatype=spb.DataType.UINT16,
        value=1234,
    )
    now = spb.get_current_timestamp()
    host.send("DCMD", spb.DCmd(timestamp=now, metrics=(metric,)), "m1-plc")
    refused = spb.Metric(
        timestamp=now, name="speed_setpoint", datatype=spb.DataType.UINT16, value=999
    )
    host.send("DCMD", spb.DCmd(timestamp=now, metrics=(refused,)), "m2-plc")

    def written() -> bool:
        return any(
            (m.name, m.value) == ("speed_setpoint", 1234)
            for _, p in host.find(T.DDATA, "m1-plc", mark)
            for m in spb.DData.decode(p, birth=dbirths["m1-plc"]).metrics
        )

    await wait_until(written, 30, message="the written setpoint read back from the PLC")

    def audit() -> list[dict[str, Any]]:
        out = plantbus("audit", "--who", "scada", "--json", data_dir=site["data"])
        assert out.returncode == 0, out.stderr
        return [json.loads(line) for line in out.stdout.splitlines()]

    def outcomes() -> dict[tuple[str, str, str], dict[str, Any]]:
        return {(r["action"], r["target"], r["outcome"]): r for r in audit()}

    m1 = "demo/machining/line1/m1/speed_setpoint"
    m2 = "demo/machining/line1/m2/speed_setpoint"
    wanted = {
        ("tag.write", m1, "AUDIT_OUTCOME_SUCCESS"),
        ("sparkplug.dcmd", m1, "AUDIT_OUTCOME_SUCCESS"),
        ("tag.write", m2, "AUDIT_OUTCOME_DENIED"),
        ("sparkplug.dcmd", m2, "AUDIT_OUTCOME_DENIED"),
    }
    found = await wait_until(lambda: wanted <= set(r := outcomes()) and r, 30)
    write = found[("tag.write", m1, "AUDIT_OUTCOME_SUCCESS")]
    assert write["service"] == "device"
    assert write["attributes"]["via"] == "sparkplug"  # the bridge acted for scada
    assert "no write policy" in found[("tag.write", m2, "AUDIT_OUTCOME_DENIED")]["detail"]
    never = [
        m.value
        for _, p in host.find(T.DDATA, "m2-plc", mark)
        for m in spb.DData.decode(p, birth=dbirths["m2-plc"]).metrics
        if m.name == "speed_setpoint"
    ]
    assert 999 not in never


async def test_a_plc_that_goes_away_dies_and_is_born_again(
    site: dict[str, Any], host: Host
) -> None:
    await host.births()
    mark = host.mark()
    site["probe"].send_signal(signal.SIGKILL)
    site["probe"].wait(10)
    at, payload = await host.first(T.DDEATH, "probe-plc", after=mark, timeout=60)
    spb.DDeath.decode(payload)
    assert not host.find(T.DDEATH, "m1-plc", mark), "only the probe PLC went away"
    site["probe"] = _sim(site["probe_port"])
    _, reborn = await host.first(T.DBIRTH, "probe-plc", after=at, timeout=90)
    (metric,) = spb.DBirth.decode(reborn).metrics
    assert metric.name == "probe_state"
    assert not metric.is_null


async def test_a_killed_bridge_leaves_its_will_and_comes_back_with_the_next_bdseq(
    site: dict[str, Any], host: Host
) -> None:
    _, nbirth, _ = await host.births()
    bdseq = next(m.value for m in nbirth.metrics if m.name == "bdSeq")
    mark = host.mark()
    victim = child(site["proc"], "sparkplug")
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    at, raw = await host.first(T.NDEATH, after=mark, timeout=30)
    assert spb.NDeath.decode(raw).bd_seq_metric.value == bdseq  # the broker's Will
    _, raw = await host.first(T.NBIRTH, after=at, timeout=90)  # restarted by plantbus up
    again = spb.NBirth.decode(raw)
    assert again.seq == 0
    assert next(m.value for m in again.metrics if m.name == "bdSeq") == (bdseq + 1) % 256
    for device in DEVICES:
        await host.first(T.DBIRTH, device, after=at, timeout=30)
    # its first births carry the last value of every tag from the stream, which arrive
    # before its first config version does
    _, raw = await host.first(T.DBIRTH, "m1-plc", after=at)
    born = spb.DBirth.decode(raw)
    assert not [m.name for m in born.metrics if m.is_null], born


async def test_an_anonymous_caller_gets_nothing_from_the_bridge(site: dict[str, Any]) -> None:
    bus = await connect(nats_settings(site["data"]))
    try:  # from the heartbeats: the bridge may have been restarted on another port
        beat = await find(bus, "sparkplug", wait_s=60)
    finally:
        await bus.close()
    address = beat.grpc_token_address  # TLS, the credentials are checked per call
    ca = pki.Pki(site["data"] / "pki").ca_cert
    async with channel(address, ClientTls(ca)) as chan:  # no certificate, no token
        stub = reflection_pb2_grpc.ServerReflectionStub(chan)
        # no request message: the call is refused before any is read, and a message still
        # being sent when the refusal lands makes the client report INTERNAL instead
        with pytest.raises(grpc.aio.AioRpcError) as err:
            async for _ in stub.ServerReflectionInfo(iter(())):
                pass
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_the_bridge_certificate_acts_for_the_sparkplug_user_only(
    site: dict[str, Any],
) -> None:
    runtime = json.loads((site["data"] / "runtime.json").read_text())
    hub_pki = pki.Pki(site["data"] / "pki")
    bridge = hub_pki.service("sparkplug")
    tls = ClientTls(hub_pki.ca_cert, bridge.cert, bridge.key)
    request = device_pb2.WriteTagRequest(
        device="m1-plc",
        tag="speed_setpoint",
        value=telemetry_pb2.TagValue(int_value=1500),
        reason="test",
    )
    async with channel(runtime["services"]["device"]["grpc"], tls) as chan:
        stub = device_pb2_grpc.DeviceServiceStub(chan)
        with pytest.raises(grpc.aio.AioRpcError) as err:  # engineer may write m1, but not via it
            await stub.WriteTag(request, metadata=((USER_HEADER, "engineer"),), timeout=15)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "service 'sparkplug'" in str(err.value.details())
        reply = await stub.WriteTag(request, metadata=((USER_HEADER, "scada"),), timeout=15)
    assert reply.policy == "m1-speed"
