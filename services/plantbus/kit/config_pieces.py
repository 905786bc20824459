"""A config version in pieces: how a plant of 100,000 tags fits NATS messages of 1 MiB.

A stored version (format 2) is a small signed *manifest* in ``current`` and
``history.<N>`` that names, per top-level section, the pieces holding it; each piece is
one KV value ``piece.<sha256>`` of zlib-compressed JSON. A list section is cut into
pieces of about :data:`PIECE_WEIGHT` items (a device weighs one plus its tags, and a
device with more tags than that continues in ``{"part_of": name, "tags": [...]}``
items); any other section is one piece. Pieces are named by the hash of their bytes:

- the signature over the manifest covers every piece (a reader checks each hash);
- a piece is written once and shared by every version that holds it, so changing one
  tag writes one piece and a manifest;
- governance writes the pieces first and then switches ``current`` with one
  compare-and-set, so a reader never sees half a version.

Format 1 (the whole config as JSON under ``config``) is still read.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator
from typing import Any, Final

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from plantbus.sdk.errors import ConfigError

__all__ = [
    "FORMAT",
    "PIECE_PREFIX",
    "PIECE_WEIGHT",
    "counts",
    "decode",
    "encode",
    "fetch",
    "fetch_raw",
    "has_parts",
    "is_manifest",
    "join",
    "split",
]

FORMAT: Final = 2
PIECE_PREFIX: Final = "piece."
PIECE_WEIGHT: Final = 2000
"""Items (tags, for devices) per piece: about 50 KiB compressed, 450 KiB as JSON."""
MAX_PIECE_BYTES: Final = 64 * 2**20
"""A piece never inflates beyond this (a compression bomb in the bucket is refused)."""
_PART: Final = "part_of"


def is_manifest(doc: dict[str, Any]) -> bool:
    """True for a format-2 document (pieces), False for format 1 (inline ``config``)."""
    return doc.get("format") == FORMAT


def encode(value: Any) -> tuple[str, bytes]:
    """(piece id, stored bytes) of a JSON value."""
    raw = zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 1)
    return hashlib.sha256(raw).hexdigest(), raw


def decode(piece: str, raw: bytes) -> Any:
    """The JSON value of piece ``piece``; ConfigError when its bytes are not the ones named."""
    if hashlib.sha256(raw).hexdigest() != piece:
        raise ConfigError(f"config piece {piece} in KV does not match its hash: it was altered")
    inflate = zlib.decompressobj()
    text = inflate.decompress(raw, MAX_PIECE_BYTES)
    if inflate.unconsumed_tail:
        raise ConfigError(f"config piece {piece} inflates beyond {MAX_PIECE_BYTES:,} bytes")
    return json.loads(text)


def _weight(section: str, item: Any) -> int:
    tags = item.get("tags") if section == "devices" and isinstance(item, dict) else None
    return 1 + len(tags) if isinstance(tags, list) else 1


def _items(section: str, items: list[Any]) -> Iterator[Any]:
    """The items of a list section, a device with more than PIECE_WEIGHT tags in parts."""
    for item in items:
        if _weight(section, item) <= PIECE_WEIGHT:
            yield item
            continue
        tags = item["tags"]
        yield {**item, "tags": tags[:PIECE_WEIGHT]}
        for start in range(PIECE_WEIGHT, len(tags), PIECE_WEIGHT):
            yield {_PART: item["name"], "tags": tags[start : start + PIECE_WEIGHT]}


def _chunks(section: str, items: list[Any]) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    weight = 0
    for item in _items(section, items):
        w = _weight(section, item)
        if chunk and weight + w > PIECE_WEIGHT:
            yield chunk
            chunk, weight = [], 0
        chunk.append(item)
        weight += w
    if chunk:
        yield chunk


def split(data: dict[str, Any]) -> dict[str, list[tuple[str, bytes]]]:
    """The pieces of a config's JSON: section -> [(piece id, bytes)] in order."""
    out: dict[str, list[tuple[str, bytes]]] = {}
    for section, value in data.items():
        if isinstance(value, list):
            out[section] = [encode(chunk) for chunk in _chunks(section, value)]
        else:
            out[section] = [encode(value)]
    return out


def counts(section: str, items: list[Any]) -> list[int] | None:
    """How many of ``items`` each piece of list section ``section`` holds, in :func:`split`'s
    order; None when an item is cut in parts (its pieces are not whole items)."""
    if any(_weight(section, item) > PIECE_WEIGHT for item in items):
        return None
    return [len(chunk) for chunk in _chunks(section, items)]


def has_parts(chunk: Any) -> bool:
    """True when a list piece holds part of a device cut in parts (its head or a tail)."""
    return isinstance(chunk, list) and any(
        isinstance(item, dict) and (_PART in item or len(item.get("tags") or ()) >= PIECE_WEIGHT)
        for item in chunk
    )


def join(section: str, values: list[Any], listed: bool) -> Any:
    """A section's JSON from its pieces' values (``listed``: a list section)."""
    if not listed:
        return values[0] if values else None
    out: list[Any] = []
    for chunk in values:
        for item in chunk:
            if isinstance(item, dict) and _PART in item and out and out[-1]["name"] == item[_PART]:
                out[-1] = {**out[-1], "tags": [*out[-1]["tags"], *item["tags"]]}
            else:
                out.append(item)
    return out


async def fetch_raw(kv: KeyValue, pieces: Iterable[str]) -> dict[str, bytes]:
    """The stored bytes of ``pieces`` (piece ids), read concurrently, for :func:`decode`
    one at a time (decoded all at once, the JSON of a 50,000-tag plant's devices was
    alive beside the models validated from it); ConfigError names a missing piece."""
    wanted = sorted(set(pieces))

    async def one(piece: str) -> bytes:
        try:
            entry = await kv.get(f"{PIECE_PREFIX}{piece}")
        except KeyNotFoundError:
            raise ConfigError(f"config piece {piece} is missing from KV") from None
        return entry.value or b""

    values = await asyncio.gather(*(one(p) for p in wanted))
    return dict(zip(wanted, values, strict=True))


async def fetch(kv: KeyValue, pieces: Iterable[str]) -> dict[str, Any]:
    """The values of ``pieces`` (piece ids), checked against their hashes; ConfigError
    names a piece that is missing or altered."""
    return {piece: decode(piece, raw) for piece, raw in (await fetch_raw(kv, pieces)).items()}
