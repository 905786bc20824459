"""Telemetry in wire form: the publish path builds its messages as bytes, not objects.

The telemetry stream stores one message per device cycle: a ``TagSampleBatch`` of the
cycle's samples on the device's cycle subject (:func:`plantbus.kit.subjects.cycle`), with
the ``Plantbus-Type`` and ``Nats-Msg-Id`` headers (:func:`batches`). Every sample also goes
out live on its tag's subject, on core NATS: a ``TagSampleBatch`` holding one
``TagSample``. At tens of thousands of samples a second, building a protobuf
``TagSample``, then a batch around it, and letting nats-py encode the headers of each
message cost more than the rest of the pipeline together (the profile is in
docs/benchmarks.md). So the parts that do not change are encoded once, per tag (path,
unit, subject, message id prefix) and per cycle (the timestamps), and per sample only
value, quality, reason and sequence are. The bytes are the ones ``SerializeToString``
gives (tests compare them for every kind of value); a batch's samples are the per-tag
messages' without their device field, which the batch carries once.

:func:`frames` turns records, of either kind, into NATS ``HPUB`` commands, headers
included, and :func:`write` hands them to the connection in one piece.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence

from nats.aio.client import Client
from nats.errors import MaxPayloadError

from plantbus.kit import subjects
from plantbus.kit.bus import TYPE_HEADER
from plantbus.kit.protowire import varint_at
from plantbus.sdk.driver import Quality, Scalar
from plantbus.v1 import telemetry_pb2

__all__ = [
    "Record",
    "TagCodec",
    "batches",
    "frames",
    "headers",
    "sample_of",
    "samples_in",
    "timestamps",
    "write",
]

Record = tuple[str, bytes]
"""A message as the spool keeps it: ``"<subject> <msg id>"`` and the payload."""

_INT64_MAX = 2**63 - 1
_UINT64_MAX = 2**64 - 1
_BYTES = [bytes((i,)) for i in range(128)]
_NO_VALUE = b"\x12\x00"
_BOOLS = {True: b"\x12\x02\x08\x01", False: b"\x12\x02\x08\x00"}
_DOUBLE = struct.Struct("<d").pack
_QUALITY = {q: b"\x30" + _BYTES[int(q)] for q in Quality}
_TYPE = telemetry_pb2.TagSampleBatch.DESCRIPTOR.full_name
_HEAD = f"NATS/1.0\r\n{TYPE_HEADER}: {_TYPE}\r\n".encode()
_TRACE_ROOM = len(f"traceparent: 00-{0:032x}-{0:016x}-01\r\n")


def _varint(value: int) -> bytes:
    """Protobuf base-128 varint of a non-negative int below 2**64; the two- and
    three-byte ones (sequences, counters, sample lengths: three calls a sample) without
    the loop, which cost more than the rest of a sample's encoding."""
    if value < 0x80:
        return _BYTES[value]
    if value < 0x4000:
        return bytes((value & 0x7F | 0x80, value >> 7))
    if value < 0x200000:
        return bytes((value & 0x7F | 0x80, value >> 7 & 0x7F | 0x80, value >> 14))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: bytes, data: bytes) -> bytes:
    """A length-delimited field: its tag byte, the length, the data."""
    return tag + _varint(len(data)) + data


def _value(value: Scalar | None) -> bytes:
    """Field 2 of TagSample: the TagValue of ``value`` (empty for None)."""
    if type(value) is float:  # the usual exact types first, without the isinstance chain
        return _double(value)
    if type(value) is int:
        return _integer(value)
    if value is None:
        return _NO_VALUE
    if isinstance(value, bool):
        return _BOOLS[value]
    if isinstance(value, int):
        return _integer(value)
    if isinstance(value, float):
        return _double(value)
    if isinstance(value, str):
        return _field(b"\x12", _field(b"\x2a", value.encode()))
    return _field(b"\x12", _field(b"\x32", bytes(value)))


def _double(value: float) -> bytes:
    return b"\x12\x09\x21" + _DOUBLE(value)


def _integer(value: int) -> bytes:
    """sint64, or uint64 above its range; ValueError beyond 64 bits."""
    if value > _INT64_MAX:
        if value > _UINT64_MAX:
            raise ValueError(f"value {value} does not fit 64 bits")
        body = b"\x18" + _varint(value)
    elif value < -_INT64_MAX - 1:
        raise ValueError(f"value {value} does not fit 64 bits")
    else:
        body = b"\x10" + _varint((value << 1) ^ (value >> 63))  # sint64: zigzag
    return b"\x12" + _BYTES[len(body)] + body


def timestamps(source: bytes, received: bytes) -> bytes:
    """Fields 4 and 5 of TagSample from two serialized Timestamps."""
    return _field(b"\x22", source) + _field(b"\x2a", received)


@functools.lru_cache(maxsize=1024)
def _device_field(device: str) -> bytes:
    """Field 2 of TagSampleBatch, one object shared by every tag of ``device``."""
    return _field(b"\x12", device.encode()) if device else b""


class TagCodec:
    """The messages of one tag of one device, from parts encoded once."""

    __slots__ = ("_device", "_head", "_key", "_unit")

    def __init__(self, path: str, unit: str, device: str, epoch: str) -> None:
        self._head = _field(b"\x0a", path.encode())
        self._unit = _field(b"\x1a", unit.encode()) if unit else b""
        self._device = _device_field(device)
        self._key = f"{subjects.telemetry_of(path)} {epoch}:{path}:"

    def record(
        self, value: Scalar | None, quality: Quality, reason: str, sequence: int, times: bytes
    ) -> Record:
        """The message of one sample; ``times`` from :func:`timestamps`."""
        body = b"".join(
            (
                self._head,
                _value(value),
                self._unit,
                times,
                _QUALITY[quality],
                _field(b"\x3a", reason.encode()) if reason else b"",
                b"\x40",
                _varint(sequence),
            )
        )
        return self._key + str(sequence), b"\x0a" + _varint(len(body)) + body + self._device


def _cycle_subject(device_field: bytes, sample: bytes) -> str:
    """The cycle subject of the device whose batch field is ``device_field``, from one of
    its samples' messages (the path it starts with names the machine)."""
    _, at = varint_at(sample, 1)  # the sample's length; its path comes first
    size, at = varint_at(sample, at + 1)
    return _subject_of(device_field, sample[at : at + size].rpartition(b"/")[0])


@functools.lru_cache(maxsize=1024)
def _subject_of(device_field: bytes, machine: bytes) -> str:
    _, at = varint_at(device_field, 1)
    return subjects.cycle(machine.decode(), device_field[at:].decode())


def sample_of(payload: bytes) -> telemetry_pb2.TagSample:
    """The sample a one-sample message carries."""
    return telemetry_pb2.TagSampleBatch.FromString(payload).samples[0]


def headers(msg_id: str, trace: str = "") -> dict[str, str]:
    """The headers of one message, for ``publish`` calls (:func:`frames` writes the same);
    ``trace`` is the ``traceparent`` of the cycle that read it."""
    out = {TYPE_HEADER: _TYPE, "Nats-Msg-Id": msg_id}
    if trace:
        out["traceparent"] = trace
    return out


def _head(trace: str) -> bytes:
    """The headers every message of a cycle shares, unterminated: its type and ``trace``."""
    return _HEAD + (b"traceparent: %s\r\n" % trace.encode() if trace else b"")


def frames(records: Sequence[Record], max_payload: int, trace: str = "") -> bytes:
    """NATS ``HPUB`` commands publishing ``records`` with the headers of :func:`headers`,
    what ``Client.publish`` would send one by one."""
    head = _head(trace) + b"Nats-Msg-Id: "
    out: list[bytes] = []
    for key, payload in records:
        if len(payload) > max_payload:
            raise MaxPayloadError
        subject, _, msg_id = key.encode().partition(b" ")
        size = len(head) + len(msg_id) + 4
        out.append(
            b"HPUB %s %d %d\r\n%s%s\r\n\r\n%s\r\n"
            % (subject, size, size + len(payload), head, msg_id, payload)
        )
    return b"".join(out)


def batches(records: Sequence[Record], max_payload: int) -> list[Record]:
    """The samples of ``records`` as the telemetry stream stores them: per device one
    ``TagSampleBatch`` of its samples in their order (split in order over several messages
    when they would not fit ``max_payload``), keyed by its device's cycle subject and the
    message id of its first sample, which no other batch can start with; records without
    a device are left out."""
    by_device: dict[bytes, list[tuple[bytes, str]]] = {}
    # a cycle is one device's: its list is looked up once, not per sample; the samples
    # of records without a device go to a list that is never sent
    last, into = b"", list[tuple[bytes, str]]()
    for key, payload in records:
        if payload[:1] != b"\x0a":  # not a sample's message (a test's stand-in)
            continue
        size = payload[1]
        if size < 0x80:  # the usual one-byte length, read without a call
            end = 2 + size
        else:
            size, end = varint_at(payload, 1)
            end += size
        device = payload[end:]
        if device != last:
            last, into = device, by_device.setdefault(device, []) if device else []
        into.append((payload[:end], key))
    out: list[Record] = []
    for device, samples in by_device.items():
        subject = _cycle_subject(device, samples[0][0])
        start, fits = 0, _room(max_payload, samples[0][1], device)
        for i, (sample, key) in enumerate(samples):
            if len(sample) > fits:
                if i == start:
                    raise MaxPayloadError
                out.append(_batch(subject, samples[start:i], device))
                start, fits = i, _room(max_payload, key, device)
                if len(sample) > fits:
                    raise MaxPayloadError
            fits -= len(sample)
        out.append(_batch(subject, samples[start:], device))
    return out


def _room(max_payload: int, key: str, device: bytes) -> int:
    """What is left for samples in a batch that starts with the record of ``key``: the
    server's limit counts the headers (with a ``traceparent``) and the device field too."""
    return max_payload - len(_HEAD) - _TRACE_ROOM - len(key) - len(device) - 20


def _batch(subject: str, samples: list[tuple[bytes, str]], device: bytes) -> Record:
    first = samples[0][1].partition(" ")[2]
    return f"{subject} {first}", b"".join((*(sample for sample, _ in samples), device))


def samples_in(payload: bytes) -> int:
    """How many samples the batch ``payload`` (from :func:`batches`) holds."""
    count = at = 0
    while at < len(payload) and payload[at] == 0x0A:
        size, at = varint_at(payload, at + 1)
        at += size
        count += 1
    return count


async def write(nc: Client, data: bytes) -> None:
    """Queue protocol bytes on the connection, behind whatever it has queued.

    nats-py has no public call for this; its own ``publish`` ends in the same
    ``_send_command`` (buffer, flush when the buffer is over its limit), and the next
    ``publish`` wakes its flusher. tests/integration/device/test_wire_nats.py breaks
    if a nats-py release changes that.
    """
    await nc._send_command(data)
