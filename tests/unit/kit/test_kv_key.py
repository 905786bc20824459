"""KV keys from arbitrary text (work-order ids, alarm ids, idempotency keys) are always
keys JetStream accepts; this is what the gRPC fuzzer once tripped over."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from plantbus.kit.bus import kv_key

VALID = re.compile(r"^[-/_=.a-zA-Z0-9]+$")


def test_examples() -> None:
    assert kv_key("WO-1:3") == "WO-1_3"
    assert kv_key("order.42") == "order.42"
    assert kv_key("þd.") == "_d._"
    assert kv_key(".a..b") == "_.a._.b"
    assert kv_key("") == "_"


@given(st.text(max_size=60))
def test_any_text_gives_a_valid_key(text: str) -> None:
    key = kv_key(text)
    assert VALID.match(key), key
    assert not key.startswith(".") and not key.endswith(".") and ".." not in key
