"""One durable pull consumer per stream, positioned by the store, not by the server.

The store's committed stream sequence is the truth: on open the durable consumer is
made anew to deliver from the sequence after it (everything the stream still holds for a
new store), so acknowledgements only save redeliveries and a lost ack costs nothing.

Fetching is done here rather than by nats-py's ``PullSubscription.fetch``, which costs a
task, a timer and a uuid per message (about half the historian's CPU at thousands of
samples a second): one pull request, its messages gathered by the inbox's callback into
a list; a request stays open across fetches until its batch is delivered or the
server's status message says it expired.

What is fetched and not yet released (written and acknowledged) is bounded in payload
bytes (``max_bytes``): a pull request asks for no more than the room left (JetStream's
own ``max_bytes``, so the server holds the rest), and no request is made while less than
half of it is free. That bounds the historian's memory when its store falls behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field

import nats.errors
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.kit.streams import StreamSpec

__all__ = ["StreamReader", "position"]

log = logging.getLogger(__name__)

_ACK_WAIT_S = 600.0
"""Long: a write may wait for a full disk; the position makes redeliveries harmless."""
_IDLE_S = 5.0
"""How long one pull request lasts: an idle stream costs one request this often."""
_MARGIN_S = 1.0
"""How long past its expiry a pull request is waited for (NATS away: none will come)."""
MAX_BYTES = 2 << 20
"""Payload bytes fetched and not yet released, per stream (about 25,000 samples of
device cycles): what bounds the memory of a historian that has fallen behind."""
_OVERHEAD = 1024
"""Room for a message's subject, reply and headers beyond NATS's max payload: a pull
request always has room for the largest message, so one never blocks the stream."""


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
    max_bytes: int = MAX_BYTES
    held: int = 0
    """Payload bytes fetched and not yet released."""
    _sub: Subscription | None = field(default=None, repr=False)
    _inbox: str = field(default="", repr=False)
    _msgs: list[Msg] = field(default_factory=list, repr=False)
    _first_at: float = field(default=0.0, repr=False)
    """When the oldest message in ``_msgs`` came (event loop time)."""
    _left: int = field(default=0, repr=False)
    """Messages the open pull request may still deliver (0: none is open)."""
    _open_until: float = field(default=0.0, repr=False)
    _ended: str = field(default="", repr=False)
    """The status that ended the last pull request (408: expired)."""
    _want: int = field(default=0, repr=False)
    _wake: asyncio.Future[None] | None = field(default=None, repr=False)
    _freed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

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
        409 ...: a message without a reply subject)."""
        if msg.reply:
            if not self._msgs:
                self._first_at = asyncio.get_running_loop().time()
            self._msgs.append(msg)
            self._left -= 1
            if len(self._msgs) < self._want and self._left > 0:
                return
        elif msg.headers and msg.headers.get("Status") == "100":  # a heartbeat
            return
        else:
            self._left, self._ended = 0, (msg.headers or {}).get("Status", "")
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def fetch(self, batch: int, wait_s: float) -> list[Msg]:
        """Up to ``batch`` messages: as soon as the stream has ``batch`` for this consumer,
        else those that came within ``wait_s`` of the first; [] when none came within a
        pull request's life (or NATS is away: the caller simply asks again). Waiting for a
        fuller batch while the feed is live keeps the per-request and per-write cost off
        each sample; one pull request stays open across fetches while it lasts. While
        more than half of ``max_bytes`` is held, waits for :meth:`release` first."""
        while self.held > self.max_bytes // 2:
            self._freed.clear()
            await self._freed.wait()
        loop = asyncio.get_running_loop()
        while len(self._msgs) < batch and self.bus.nc.is_connected:
            now = loop.time()
            if self._left <= 0 or now > self._open_until:
                room = self.max_bytes - self.held - sum(len(m.data) for m in self._msgs)
                floor = self.bus.nc.max_payload + _OVERHEAD
                if room < floor and self._msgs:
                    break  # a request's worth of bytes is here: no more before release
                await self._request(batch - len(self._msgs), max(room, floor), now)
            limit = (self._first_at + wait_s if self._msgs else self._open_until) - now
            if limit <= 0 or not await self._woken(batch if self._msgs else 1, limit):
                if not self._msgs:
                    self._left = 0  # expired without a word: lost with the connection
                break
            if not self._msgs:
                if self._ended != "408":  # refused, not expired: not again at once
                    log.debug("pull request on %s ended: %s", self.stream, self._ended)
                    await asyncio.sleep(_MARGIN_S)
                break  # the caller asks again
            # else the first came (or the request was used up): on for a fuller batch
        if not self._msgs and not self.bus.nc.is_connected:
            await asyncio.sleep(wait_s)  # requests sent meanwhile would all run at once
        msgs, self._msgs = self._msgs[:batch], self._msgs[batch:]
        self._first_at = loop.time()
        self.held += sum(len(m.data) for m in msgs)
        return msgs

    def release(self, msgs: list[Msg]) -> None:
        """``msgs`` (fetched) are written: room for as many bytes more."""
        self.held -= sum(len(m.data) for m in msgs)
        self._freed.set()

    async def _request(self, count: int, max_bytes: int, now: float) -> None:
        """A pull request for ``count`` messages of ``max_bytes`` in all (the server counts
        subjects and headers too), open for ``_IDLE_S``."""
        self._left, self._open_until = count, now + _IDLE_S + _MARGIN_S
        request = {"batch": count, "max_bytes": max_bytes, "expires": int(_IDLE_S * 1e9)}
        try:
            await self.bus.nc.publish(
                f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{self.durable}",
                json.dumps(request).encode(),
                reply=self._inbox,
            )
        except nats.errors.Error:
            self._left = 0

    async def _woken(self, want: int, limit: float) -> bool:
        """True when ``want`` messages are here or the request ended within ``limit``."""
        self._want = want
        self._wake = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(self._wake, limit)
        except TimeoutError:
            return False
        finally:
            self._wake = None
        return True

    async def close(self) -> None:
        """Stop fetching; the durable consumer stays for the next open to replace."""
        if self._sub is not None:
            with contextlib.suppress(nats.errors.Error, ConnectionError):  # gone anyway
                await self._sub.unsubscribe()
            self._sub = None
