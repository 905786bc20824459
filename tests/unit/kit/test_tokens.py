"""Bearer tokens: the format, the stored hash (never the token), and why one is refused."""

from __future__ import annotations

import hashlib
import json

from plantbus.kit.tokens import TokenRecord, mint, token_id

NOW = 1_800_000_000.0


def test_a_token_is_stored_only_as_its_hash() -> None:
    token, record = mint("eve", 3600, "local-operator", now=NOW)
    prefix, ident, secret = token.split("_", 2)
    assert (prefix, ident) == ("pbt", record.id) and len(secret) >= 43
    assert token_id(token) == record.id
    stored = record.encode()
    assert token.encode() not in stored and secret.encode() not in stored
    assert json.loads(stored)["sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert TokenRecord.decode(stored) == record


def test_refusals_say_why() -> None:
    token, record = mint("eve", 3600, "local-operator", now=NOW)
    assert record.refusal(token, NOW + 10) == ""
    assert record.refusal(token, NOW + 3600) == f"token {record.id} expired at 2027-01-15 09:00 UTC"
    forged = f"pbt_{record.id}_{'x' * 43}"
    assert record.refusal(forged, NOW) == "unknown token"
    revoked = TokenRecord(**{**record.__dict__, "revoked": NOW + 1})
    assert revoked.refusal(token, NOW + 2) == f"token {record.id} was revoked"


def test_only_well_formed_tokens_have_an_id() -> None:
    for text in ("", "pbt_", "Bearer x", "pbt_ZZZZZZZZZZZZZZZZ_secret", "pbt_0123_secret"):
        assert token_id(text) == ""
