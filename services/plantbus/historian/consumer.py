"""One durable pull consumer per stream, positioned by the store, not by the server.

The store's committed stream sequence is the truth: on open the durable consumer is
made anew to deliver from the sequence after it (everything the stream still holds for a
new store), so acknowledgements only save redeliveries and a lost ack costs nothing.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

import nats.errors
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.kit.streams import StreamSpec

__all__ = ["StreamReader"]

log = logging.getLogger(__name__)

_ACK_WAIT_S = 600.0
"""Long: a write may wait for a full disk; the position makes redeliveries harmless."""


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
        self._sub = await self.bus.js.pull_subscribe_bind(self.durable, self.stream)

    async def fetch(self, batch: int, timeout: float) -> list[Msg]:
        """Up to ``batch`` messages, waiting at most ``timeout`` for the first; [] when
        none came (or NATS is away: the caller simply asks again)."""
        try:
            msgs: list[Msg] = await self._sub.fetch(batch, timeout=timeout)  # type: ignore[attr-defined]
        except (TimeoutError, nats.errors.TimeoutError):
            return []
        return msgs

    async def close(self) -> None:
        """Stop fetching; the durable consumer stays for the next open to replace."""
        if self._sub is not None:
            with contextlib.suppress(nats.errors.Error):  # closed or draining: gone anyway
                await self._sub.unsubscribe()  # type: ignore[attr-defined]
            self._sub = None
