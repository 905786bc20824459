"""Does JetStream batch publishing lower the servers' CPU per message at R3 (issue #17)?

The same telemetry, 10 devices of 1,000 tags (one ~100-byte message per tag on its
tag subject under ``plantbus.v1.telemetry.``, ``Nats-Msg-Id`` on each, as the device
publisher frames them), goes into a fresh PLANTBUS_TELEMETRY on a real 3-node cluster on
loopback (:class:`plantbus.testing.cluster.NatsCluster`) in three ways:

- ``plain``: as the device publisher does today: a device's cycle as plain HPUBs, the
  last one with a reply subject awaiting the JetStream ack;
- ``atomic``: each cycle one atomic batch (ADR-50, stream ``allow_atomic``): headers
  ``Nats-Batch-Id``, ``Nats-Batch-Sequence``, ``Nats-Batch-Commit: 1`` on the last; the
  first and the last with a reply (an empty ack, then the pub ack);
- ``fast``: each cycle one fast-ingest batch (nats-server 2.14+, stream ``allow_batched``):
  no headers of its own, every message's reply subject
  ``<inbox>.<flow>.fail.<batch seq>.<op>.$FI`` (op 0 start, 1 add, 2 commit), ``flow``
  the cycle's size so the server acks the first message and the commit only.

Each device sends its next cycle once the previous is acknowledged, as the publisher's
per-device ack gate does. Modes and replicas (R1, R3) alternate within each round on the
same servers; reported per mode and replicas (``batch_<mode>_r<n>_*``, medians):
messages/s, the three servers' CPU-ms per 1,000 messages stored (counted until the
followers are current), the stream leader's share of it, and this process's CPU-ms per
1,000 sent; per mode the R3 over R1 rate ratio (median of the rounds'). ``batch_lost``
counts messages sent that the stream does not hold (must be 0). The findings are in
docs/benchmarks.md (issue #17).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _hub import cpu_seconds, median
from nats.aio.msg import Msg
from nats.js.errors import NotFoundError

from plantbus.device.wire import Record, TagCodec, timestamps, write
from plantbus.kit import streams
from plantbus.kit.bus import TYPE_HEADER, Bus
from plantbus.kit.natsconnect import connect
from plantbus.sdk.driver import Quality
from plantbus.testing.cluster import NatsCluster
from plantbus.v1 import telemetry_pb2

DEVICES = 10
TAGS = 1_000
CYCLES = 20
STREAM = replace(
    streams.CYCLES, name=streams.LEGACY_TELEMETRY, subjects=("plantbus.v1.telemetry.>",)
)
"""The one-message-per-sample stream of before PLANTBUS_CYCLES: the layout measured here."""
"""Cycles per device and round: 200,000 messages."""
ROUNDS = 3
MODES = ("plain", "atomic", "fast")
_TYPE = telemetry_pb2.TagSampleBatch.DESCRIPTOR.full_name.encode()

Framer = Callable[[list[Record], str, str], bytes]
"""A cycle's records, a unique batch id and the reply prefix -> the protocol bytes."""


def cycle_records(device: int, cycle: int) -> list[Record]:
    """One cycle of a device, as the device service encodes it."""
    times = timestamps(b"\x08\x01", b"\x08\x01")
    return [
        TagCodec(f"s/a/l/m{device}/t{i}", "", f"bench{device}", "bench").record(
            123456 + cycle, Quality.GOOD, "", cycle * TAGS + i + 1, times
        )
        for i in range(TAGS)
    ]


def _hpub(key: str, payload: bytes, reply: str, extra: bytes = b"") -> bytes:
    subject, _, msg_id = key.partition(" ")
    head = b"NATS/1.0\r\n%s: %s\r\nNats-Msg-Id: %s\r\n%s\r\n" % (
        TYPE_HEADER.encode(),
        _TYPE,
        msg_id.encode(),
        extra,
    )
    return b"HPUB %s %s%d %d\r\n%s%s\r\n" % (
        subject.encode(),
        (reply + " ").encode() if reply else b"",
        len(head),
        len(head) + len(payload),
        head,
        payload,
    )


def plain(records: list[Record], _batch: str, reply: str) -> bytes:
    last = len(records) - 1
    return b"".join(
        _hpub(key, payload, reply if i == last else "") for i, (key, payload) in enumerate(records)
    )


def atomic(records: list[Record], batch: str, reply: str) -> bytes:
    last = len(records) - 1
    out = []
    for i, (key, payload) in enumerate(records):
        extra = b"Nats-Batch-Id: %s\r\nNats-Batch-Sequence: %d\r\n" % (batch.encode(), i + 1)
        if i == last:
            extra += b"Nats-Batch-Commit: 1\r\n"
        out.append(_hpub(key, payload, reply if i in (0, last) else "", extra))
    return b"".join(out)


def fast(records: list[Record], batch: str, reply: str) -> bytes:
    last, flow = len(records) - 1, len(records)
    return b"".join(
        _hpub(
            key,
            payload,
            f"{reply}.{batch}.{flow}.fail.{i + 1}.{0 if i == 0 else 2 if i == last else 1}.$FI",
        )
        for i, (key, payload) in enumerate(records)
    )


FRAMERS: dict[str, Framer] = {"plain": plain, "atomic": atomic, "fast": fast}


async def _publish(bus: Bus, frame: Framer, data: list[list[list[Record]]]) -> None:
    """Every device's cycles, each device one cycle at a time; raise on an error ack."""
    nc = bus.nc
    prefix = nc.new_inbox()
    waiting: dict[str, asyncio.Future[bytes]] = {}
    ids = itertools.count()
    failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def on_reply(msg: Msg) -> None:
        if b'"error"' in msg.data:
            failed.set_exception(RuntimeError(f"{msg.subject}: {msg.data!r}"))
        if msg.data.startswith(b'{"stream"'):  # not an empty or flow ack ("started")
            waiting.pop(msg.subject).set_result(msg.data)

    sub = await nc.subscribe(f"{prefix}.>", cb=on_reply)

    async def device(cycles: list[list[Record]]) -> None:
        for records in cycles:
            batch = f"b{next(ids)}"
            reply = f"{prefix}.{batch}"
            last = (
                f"{prefix}.{batch}.{len(records)}.fail.{len(records)}.2.$FI"
                if frame is fast
                else reply
            )
            future = waiting[last] = asyncio.get_running_loop().create_future()
            await write(nc, frame(records, batch, prefix if frame is fast else reply))
            await nc._flush_pending()  # what the publisher's last publish does
            await asyncio.wait([future, failed], timeout=30, return_when="FIRST_COMPLETED")
            if failed.done():
                failed.result()
            if not future.done():
                raise TimeoutError(f"no ack for {last}")

    try:
        await asyncio.gather(*(device(cycles) for cycles in data))
    finally:
        await sub.unsubscribe()


@dataclass
class Round:
    """One round's figures."""

    rate: float
    """Messages per second."""
    nats_ms_per_1k: float
    """CPU milliseconds of the three nats-servers per 1,000 messages stored."""
    leader_ms_per_1k: float
    """Of those, the stream leader's."""
    client_ms_per_1k: float
    """CPU milliseconds of this process (framing, writing, acks) per 1,000 messages sent."""
    lost: int


async def one_round(
    bus: Bus, cluster: NatsCluster, mode: str, data: list[list[list[Record]]]
) -> Round:
    """A round into a fresh telemetry stream with the bus's replicas, allowing ``mode``."""
    js = bus.nc.jetstream(timeout=30)
    with contextlib.suppress(NotFoundError):
        await js.delete_stream(STREAM.name)
    config = replace(
        STREAM.config(),
        num_replicas=bus.settings.js_replicas,
        allow_atomic=mode == "atomic" or None,
        allow_batched=mode == "fast" or None,
    )
    await js.add_stream(config)
    leader = await cluster.leader(bus, STREAM.name, timeout=30)
    pids = {node.name: node.server.process.pid for node in cluster.nodes if node.server.process}
    sent = sum(len(records) for cycles in data for records in cycles)
    before = {name: cpu_seconds([pid]) for name, pid in pids.items()}
    started, client = time.perf_counter(), time.process_time()
    await _publish(bus, FRAMERS[mode], data)
    elapsed, client = time.perf_counter() - started, time.process_time() - client
    deadline = time.monotonic() + 30  # the followers' apply counts too
    while bus.settings.js_replicas > 1 and time.monotonic() < deadline:
        if await cluster.caught_up(bus, [STREAM.name]):
            break
        await asyncio.sleep(0.05)
    stored = max(int((await js.stream_info(STREAM.name)).state.messages), 1)
    cpu = {name: cpu_seconds([pid]) - before[name] for name, pid in pids.items()}
    print(
        f"{mode} R{bus.settings.js_replicas}: {sent / elapsed:,.0f} msgs/s, leader {leader.name}",
        file=sys.stderr,
    )
    return Round(
        sent / elapsed,
        sum(cpu.values()) / stored * 1e6,
        cpu[leader.name] / stored * 1e6,
        client / sent * 1e6,
        sent - stored,
    )


async def main() -> dict[str, float]:
    logging.basicConfig(level=logging.WARNING)
    data = [[cycle_records(d, c) for c in range(CYCLES)] for d in range(DEVICES)]
    figures: dict[tuple[str, int], list[Round]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cluster = NatsCluster.in_dir(Path(tmp) / "cluster").start()
        try:
            settings = cluster.settings("bench")
            buses = {
                n: await connect(settings.model_copy(update={"js_replicas": n})) for n in (1, 3)
            }
            for _ in range(ROUNDS):
                for mode in MODES:
                    for n, bus in buses.items():
                        figures.setdefault((mode, n), []).append(
                            await one_round(bus, cluster, mode, data)
                        )
            for bus in buses.values():
                await bus.close()
        finally:
            cluster.stop()
    out: dict[str, float] = {}
    for (mode, n), rounds in figures.items():
        out[f"batch_{mode}_r{n}_msgs_per_s"] = round(median(r.rate for r in rounds))
        out[f"batch_{mode}_r{n}_nats_cpu_ms_per_1k"] = round(
            median(r.nats_ms_per_1k for r in rounds), 2
        )
        out[f"batch_{mode}_r{n}_leader_cpu_ms_per_1k"] = round(
            median(r.leader_ms_per_1k for r in rounds), 2
        )
        out[f"batch_{mode}_r{n}_client_cpu_ms_per_1k"] = round(
            median(r.client_ms_per_1k for r in rounds), 2
        )
    for mode in MODES:
        pairs = zip(figures[(mode, 1)], figures[(mode, 3)], strict=True)
        out[f"batch_{mode}_r3_ratio"] = round(median(b.rate / a.rate for a, b in pairs), 3)
    out["batch_lost"] = sum(r.lost for rounds in figures.values() for r in rounds)
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
