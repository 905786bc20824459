"""Every malformed request to the real dashboard answers 4xx with a JSON message, never a
500: bad JSON, wrong types, NaN and infinity, oversized bodies, unknown routes, and
headers no browser would send (non-ASCII Authorization and Cookie)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.dashboard.client import Dashboard, raw_request, serving

SHELVE = "/api/alarms/trip%40s%2Fa%2Fl%2Fm1/shelve"
CLASSIFY = "/api/downtimes/d1/classify"


@pytest.fixture
async def dash(nats_url: str, tmp_path: Path) -> AsyncIterator[Dashboard]:
    async with serving(nats_url, tmp_path) as dashboard:
        yield dashboard


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        (SHELVE, b'{"minutes": NaN}', "NaN"),
        (SHELVE, b'{"minutes": Infinity}', "Infinity"),
        (SHELVE, b'{"minutes": -Infinity}', "-Infinity"),
        (SHELVE, b'{"minutes": 1e999}', "minutes"),  # parses as inf
        (SHELVE, b'{"minutes": "60"}', "minutes"),
        (SHELVE, b'{"minutes": true}', "minutes"),
        (SHELVE, b'{"minutes": -5}', "minutes"),
        (SHELVE, b'{"minutes": 60, "comment": 7}', "comment"),
        (SHELVE, b'{"minutes": 60, "until": "forever"}', "until"),
        (SHELVE, b"{minutes: 60}", "not valid JSON"),
        (SHELVE, b"\xff\xfe", "not valid JSON"),
        (SHELVE, b"[60]", "JSON object"),
        (SHELVE, b"[" * 5000 + b"]" * 5000, "nested"),
        (CLASSIFY, b"{}", "reason"),
        (CLASSIFY, b'{"reason": ["jam"]}', "reason"),
        (CLASSIFY, b'{"reason": "' + b"x" * 200 + b'"}', "reason"),
        ("/api/session", b'{"code": 42}', "code"),
    ],
)
async def test_bad_bodies_are_400(dash: Dashboard, path: str, body: bytes, says: str) -> None:
    headers = {"Content-Type": "application/json"}
    if path != "/api/session":
        headers |= dash.acting(await dash.sign_in())
    else:
        headers["Origin"] = dash.base
    async with dash.http.post(f"{dash.base}{path}", data=body, headers=headers) as reply:
        assert reply.status == 400, await reply.text()
        assert says in (await reply.json())["error"]


async def test_oversized_body_is_413(dash: Dashboard) -> None:
    headers = dash.acting(await dash.sign_in())
    body = b'{"comment": "' + b"x" * 20_000 + b'"}'
    async with dash.http.post(f"{dash.base}{SHELVE}", data=body, headers=headers) as reply:
        assert reply.status == 413
        assert "body size" in (await reply.json())["error"]


async def test_unknown_routes_and_methods(dash: Dashboard) -> None:
    async with dash.http.get(f"{dash.base}/api/nothing") as missing:
        assert missing.status == 404
        assert "GET /api/nothing" in (await missing.json())["error"]
    async with dash.http.put(f"{dash.base}/api/state") as method:
        assert method.status == 405
        assert "PUT is not allowed" in (await method.json())["error"]
        assert method.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "header",
    [
        b"Authorization: Bearer \xc3\xa9t\xc3\xa9\xff",
        b"Authorization: Bearer",
        b"Authorization: \xff\xfe",
        b"Authorization: Bearer a b c",
    ],
)
async def test_bad_authorization_is_401(dash: Dashboard, header: bytes) -> None:
    status, body = await raw_request(
        dash.service.port, b"POST /api/login-links HTTP/1.1\r\n" + header
    )
    assert status == 401
    assert "Bearer" in body["error"]


@pytest.mark.parametrize(
    "header",
    [
        b"Cookie: plantbus-session=\xc3\xa9\xff",
        b"Cookie: plantbus-session=" + b"A" * 43 + b"\xc3\xa9",
        b"Cookie: ;;;=;plantbus-session",
        b'Cookie: plantbus-session="unterminated',
        b"Cookie: " + b"a=b; " * 500,
    ],
)
async def test_bad_cookies_are_401(dash: Dashboard, header: bytes) -> None:
    status, body = await raw_request(dash.service.port, b"GET /api/state HTTP/1.1\r\n" + header)
    assert status == 401
    assert "not signed in" in body["error"]
