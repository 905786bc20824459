"""The keys of a KV bucket from one stream-info request.

nats-py's ``KeyValue.keys()`` reads the bucket through a consumer and ends when that
consumer reports nothing pending; while other instances keep writing the bucket (every
service's heartbeat), that moment may never come and the listing waits forever. The
stream's own per-subject state answers the same question at once.
"""

from __future__ import annotations

from nats.js.kv import KeyValue

__all__ = ["keys"]


async def keys(kv: KeyValue) -> list[str]:
    """Every key of ``kv`` that has a message (the server lists up to 100,000); it may
    include keys whose last message is a delete: their ``get`` raises
    ``KeyNotFoundError``. ``[]`` for an empty bucket."""
    prefix = kv._pre  # nats-py keeps the bucket's stream, prefix and context private
    info = await kv._js.stream_info(kv._stream, subjects_filter=prefix + ">")
    return [subject[len(prefix) :] for subject in info.state.subjects or {}]
