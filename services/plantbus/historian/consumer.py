"""One durable pull consumer per stream, positioned by the store, not by the server.

The store's committed stream sequence is the truth: on open the durable consumer is
made anew to deliver from the sequence after it (everything the stream still holds for a
new store), so acknowledgements only save redeliveries and a lost ack costs nothing.

Fetching is done here rather than by nats-py's ``PullSubscription.fetch``, which costs a
task, a timer and a uuid per message (about half the historian's CPU at thousands of
samples a second): one pull request, its messages gathered by the inbox's callback into
a list, the request ended by its batch filling or by the server's status message when
it expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field

import nats.errors
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.kit.streams import StreamSpec

__all__ = ["StreamReader", "position"]

log = logging.getLogger(__name__)

_ACK_WAIT_S = 600.0
"""Long: a write may wait for a full disk; the position makes redeliveries harmless."""
_MARGIN_S = 1.0
"""How long past its expiry a pull request is waited for (NATS away: none will come)."""


def position(reply: str) -> tuple[int, int]:
    """The stream sequence of a JetStream message and how many follow it in the stream,
    from its reply subject (``$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.
    <consumer seq>.<time>.<pending>``, with a domain and an account hash after ``ACK``
    and a random token at the end from servers that add them), without building
    nats-py's ``Msg.metadata`` per message."""
    tokens = reply.split(".")
    at = 5 if len(tokens) == 9 else 7
    return int(tokens[at]), int(tokens[at + 3])


@dataclass
class StreamReader:
    """The historian's reader of one stream."""

    bus: Bus
    spec: StreamSpec
    durable: str
    committed: int = 0
    """The last sequence the store holds."""
    lost: int = 0
    """Messages that left the stream (retention) before the store held them."""
    lag: int = 0
    """Messages still in the stream after the last batch written."""
    _sub: object = field(default=None, repr=False)
    _inbox: str = field(default="", repr=False)
    _msgs: list[Msg] = field(default_factory=list, repr=False)
    _want: int = field(default=0, repr=False)
    _done: asyncio.Future[None] | None = field(default=None, repr=False)

    @property
    def stream(self) -> str:
        """The stream's name."""
        return self.spec.name

    async def open(self, committed: int) -> None:
        """Create the stream when missing and the consumer from ``committed + 1``."""
        await streams.ensure_stream(self.bus, self.spec)
        state = (await self.bus.js.stream_info(self.stream)).state
        if committed > state.last_seq:
            log.warning(
                "stream %s ends at %d but the store holds up to %d: the stream was recreated; "
                "reading it from its start",
                self.stream,
                state.last_seq,
                committed,
            )
            committed = 0
        self.committed = committed
        if committed and state.first_seq > committed + 1:
            self.lost = state.first_seq - committed - 1
            log.error(
                "%d messages of %s expired from the stream before the historian stored them "
                "(sequences %d to %d): raise the stream's max_age or max_bytes",
                self.lost,
                self.stream,
                committed + 1,
                state.first_seq - 1,
            )
        with contextlib.suppress(NotFoundError):
            await self.bus.js.delete_consumer(self.stream, self.durable)
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.ALL,
            ack_wait=_ACK_WAIT_S,
            max_ack_pending=-1,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE if committed else DeliverPolicy.ALL,
            opt_start_seq=committed + 1 if committed else None,
        )
        await self.bus.js.add_consumer(self.stream, config)
        self._inbox = self.bus.nc.new_inbox()
        self._sub = await self.bus.nc.subscribe(self._inbox, cb=self._got)

    async def _got(self, msg: Msg) -> None:
        """A message of a pull request, or the server's status that ends one (408 expired,
        404 none left, 409 ...: a message without a reply subject)."""
        if msg.reply:
            self._msgs.append(msg)
            if len(self._msgs) < self._want:
                return
        elif msg.headers and msg.headers.get("Status") == "100":  # a heartbeat
            return
        if self._done is not None and not self._done.done():
            self._done.set_result(None)

    async def fetch(self, batch: int, wait_s: float) -> list[Msg]:
        """Up to ``batch`` messages: as soon as the stream has ``batch`` for this consumer,
        else what came within ``wait_s`` ([] when none did, or NATS is away: the caller
        simply asks again). Waiting for a fuller batch while the feed is live keeps the
        per-request and per-write cost off each sample. Messages of an earlier request
        that came late are returned with the next."""
        if len(self._msgs) < batch:
            if not self.bus.nc.is_connected:  # requests queued meanwhile would all run at once
                await asyncio.sleep(wait_s)
                return []
            self._want = batch
            self._done = asyncio.get_running_loop().create_future()
            request = {"batch": batch - len(self._msgs), "expires": int(wait_s * 1e9)}
            try:
                await self.bus.nc.publish(
                    f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{self.durable}",
                    json.dumps(request).encode(),
                    reply=self._inbox,
                )
                await asyncio.wait_for(self._done, wait_s + _MARGIN_S)
            except (TimeoutError, nats.errors.Error):
                pass
            finally:
                self._done = None
        msgs, self._msgs = self._msgs[:batch], self._msgs[batch:]
        return msgs

    async def close(self) -> None:
        """Stop fetching; the durable consumer stays for the next open to replace."""
        if self._sub is not None:
            with contextlib.suppress(nats.errors.Error, ConnectionError):  # gone anyway
                await self._sub.unsubscribe()  # type: ignore[attr-defined]
            self._sub = None
