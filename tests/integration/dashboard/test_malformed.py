"""Every malformed request to the real dashboard answers 4xx with a JSON message, never a
500: bad JSON, wrong types, NaN and infinity, oversized bodies, unknown routes, headers no
browser would send (non-ASCII Authorization and Cookie), and random bodies and ids."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from yarl import URL

from plantbus.alerting.service import AlertingService
from plantbus.kit.bus import Bus
from plantbus.oee.service import OeeService
from plantbus.testing.config import people, put_config
from plantbus.testing.waiting import wait_until
from tests.integration.dashboard.client import Dashboard, raw_request, serving

SHELVE = "/api/alarms/trip%40s%2Fa%2Fl%2Fm1/shelve"
CLASSIFY = "/api/downtimes/d1/classify"
ENDPOINTS = [SHELVE, CLASSIFY, SHELVE.replace("shelve", "ack"), SHELVE.replace("shelve", "reset")]
FIELDS = ["minutes", "comment", "reason", "code"]


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


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


async def test_random_bodies_never_fail_the_dashboard(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    # the dashboard acts as its token user, who may act: refusals come from the requests
    await put_config(bus, people(operator=["alarm.acknowledge", "alarm.shelve", "alarm.reset",
                                           "downtime.classify"]))  # fmt: skip
    examples: list[tuple[str, bytes]] = []

    @settings(max_examples=150, deadline=None, database=None)
    @given(
        path=st.sampled_from(ENDPOINTS)
        | st.text(min_size=1, max_size=20).map(lambda s: f"/api/alarms/{quote(s, safe='')}/ack"),
        body=json_values.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=40),
    )
    def collect(path: str, body: bytes) -> None:
        examples.append((path, body))

    collect()  # hypothesis chooses the inputs; the requests below run on this event loop
    services = [AlertingService, OeeService]
    async with serving(nats_url, tmp_path, services=services) as dash:
        await wait_until(lambda: dash.runner.services["alerting"].config_version == 1)
        headers = dash.acting(await dash.sign_in())
        answers: set[int] = set()
        for path, body in examples:
            url = URL(f"{dash.base}{path}", encoded=True)
            async with dash.http.post(url, data=body, headers=headers) as reply:
                assert reply.status < 500, (path, body, await reply.text())
                assert (await reply.json()).keys() >= ({"error"} if reply.status >= 400 else set())
                answers.add(reply.status)
        async with dash.http.get(f"{dash.base}/api/state") as still:
            assert still.status == 200  # and the session survived all of it
    assert 400 in answers and 404 in answers, answers
