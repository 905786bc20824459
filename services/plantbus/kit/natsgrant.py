"""The building blocks of a NATS user's permissions (:mod:`plantbus.kit.natsauth` grants
them): subjects to publish and subscribe to, and the JetStream API of one stream or
bucket narrowed to reading, creating or owning it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from plantbus.kit.streams import BucketSpec, StreamSpec
from plantbus.kit.subjects import PREFIX

__all__ = [
    "API",
    "Grant",
    "bucket",
    "creates",
    "family",
    "owns",
    "publish",
    "reads",
    "subscribe",
    "trees",
    "uses",
]

API: Final = "$JS.API"


@dataclass(frozen=True)
class Grant:
    """Subjects a user may publish to and subscribe to."""

    publish: frozenset[str] = field(default_factory=frozenset)
    subscribe: frozenset[str] = field(default_factory=frozenset)

    def __or__(self, other: Grant) -> Grant:
        return Grant(self.publish | other.publish, self.subscribe | other.subscribe)

    def permissions(self) -> dict[str, Any]:
        """The nats-server ``permissions`` block (an empty allow list would allow all: a
        user that may publish nothing is denied everything instead)."""
        return {
            "publish": {"allow": sorted(self.publish)} if self.publish else {"deny": [">"]},
            "subscribe": {"allow": sorted(self.subscribe)},
        }


def publish(*subjects: str) -> Grant:
    return Grant(publish=frozenset(subjects))


def subscribe(*subjects: str) -> Grant:
    return Grant(subscribe=frozenset(subjects))


def family(*names: str) -> tuple[str, ...]:
    """Every subject below ``plantbus.<name>`` for each name."""
    return tuple(f"{PREFIX}.{name}.>" for name in names)


def trees(*subjects: str) -> Grant:
    """Subscribe to each ``<root>.>`` and to its root: what an MQTT ``<root>/#`` asks for."""
    return subscribe(*subjects, *(s.removesuffix(".>") for s in subjects))


def reads(stream: str) -> Grant:
    """Stream info, consumers (ordered, ephemeral, durable), direct and message get, acks."""
    return publish(
        f"{API}.STREAM.NAMES",
        f"{API}.STREAM.INFO.{stream}",
        f"{API}.STREAM.MSG.GET.{stream}",
        f"{API}.DIRECT.GET.{stream}",
        f"{API}.DIRECT.GET.{stream}.>",
        f"{API}.CONSUMER.CREATE.{stream}",
        f"{API}.CONSUMER.CREATE.{stream}.>",
        f"{API}.CONSUMER.DURABLE.CREATE.{stream}.>",
        f"{API}.CONSUMER.INFO.{stream}.>",
        f"{API}.CONSUMER.DELETE.{stream}.>",
        f"{API}.CONSUMER.MSG.NEXT.{stream}.>",
        f"$JS.ACK.{stream}.>",
        f"$JS.FC.{stream}.>",
    )


def creates(stream: str) -> Grant:
    """Create the stream when it is missing (an existing one is never changed by create)."""
    return publish(f"{API}.STREAM.CREATE.{stream}")


def uses(spec: StreamSpec) -> Grant:
    return reads(spec.name) | creates(spec.name)


def owns(spec: StreamSpec) -> Grant:
    """Publish into the stream and bring its definition up to date."""
    return uses(spec) | publish(*spec.subjects) | publish(f"{API}.STREAM.UPDATE.{spec.name}")


def bucket(spec: BucketSpec, writes: str = "") -> Grant:
    """Read ``spec`` (and create it when missing); ``writes``: the keys this user may put
    and delete (``>`` for all)."""
    grant = reads(spec.stream) | creates(spec.stream)
    return grant | publish(f"$KV.{spec.name}.{writes}") if writes else grant
