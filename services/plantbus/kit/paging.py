"""Paging of the List and History RPCs: ``page_size`` and ``page_token`` in, a page and
``next_page_token`` out.

A token is opaque to callers: the offset of the next item and a digest of the request
without its paging fields, so a token is refused with a message when it is reused with
other filters or on another list. ``page_size`` 0 returns every item (what a caller got
before the fields existed). Lists are kept in memory by the services, so an offset is
exact while the list does not change; an item added or removed between two pages may
shift the rest by one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from typing import Any, TypeVar

from google.protobuf.message import Message

from plantbus.sdk.errors import ValidationFailed

__all__ = ["MAX_PAGE_SIZE", "page"]

T = TypeVar("T")

MAX_PAGE_SIZE = 1000
"""A larger ``page_size`` is served as this many."""


def _digest(request: Message) -> str:
    bare = type(request)()
    bare.CopyFrom(request)
    bare.ClearField("page_size")  # type: ignore[arg-type]
    bare.ClearField("page_token")  # type: ignore[arg-type]
    raw = bare.DESCRIPTOR.full_name.encode() + bare.SerializeToString(deterministic=True)
    return hashlib.sha256(raw).hexdigest()[:16]


def _token(offset: int, digest: str) -> str:
    raw = json.dumps({"o": offset, "q": digest}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(token: str, digest: str, name: str) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, made_for = int(data["o"]), str(data["q"])
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise ValidationFailed(
            f"{name}.page_token {token[:40]!r} is not a token this list gave: pass the "
            "next_page_token of the previous page, or none for the first"
        ) from None
    if made_for != digest or offset < 0:
        raise ValidationFailed(
            f"{name}.page_token belongs to another list or other filters: ask again "
            "without page_token"
        )
    return offset


def page(items: Sequence[T], request: Any) -> tuple[list[T], str]:
    """The page of ``items`` that ``request`` (a message with ``page_size`` and
    ``page_token``) asks for, and the token of the next page ('' on the last)."""
    size = int(request.page_size)
    digest = _digest(request)
    start = _offset(str(request.page_token), digest, request.DESCRIPTOR.name)
    if size <= 0:
        return list(items[start:]), ""
    end = start + min(size, MAX_PAGE_SIZE)
    return list(items[start:end]), (_token(end, digest) if end < len(items) else "")
