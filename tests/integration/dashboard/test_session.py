"""Signing in to the real dashboard: reads need a session unless the view is public, a
login link works once and not after it expires, the cookie is HttpOnly and SameSite=Strict
(Secure over HTTPS), actions need the Origin and the CSRF token, and signing out ends the
session and its event stream."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest

from plantbus.kit.bus import Bus
from plantbus.sdk.errors import ConfigError
from plantbus.testing.messages import collected
from plantbus.testing.waiting import wait_until
from plantbus.v1 import service_pb2
from tests.integration.dashboard.client import Dashboard, serving

ACTION = "/api/alarms/trip%40s%2Fa%2Fl%2Fm1/ack"


@pytest.fixture
async def dash(nats_url: str, tmp_path: Path) -> AsyncIterator[Dashboard]:
    async with serving(nats_url, tmp_path) as dashboard:
        yield dashboard


async def status_of(dash: Dashboard, method: str, path: str, **kwargs: object) -> int:
    async with dash.http.request(method, f"{dash.base}{path}", **kwargs) as reply:  # type: ignore[arg-type]
        assert reply.content_type == "application/json", await reply.text()
        assert (await reply.json())["error"]
        return reply.status


async def test_anonymous_reads_are_refused(dash: Dashboard) -> None:
    assert await status_of(dash, "GET", "/api/state") == 401
    assert await status_of(dash, "GET", "/api/events") == 401
    async with dash.http.get(f"{dash.base}/api/session") as who:
        assert who.status == 401
        assert (await who.json())["public_read"] is False
    async with dash.http.get(f"{dash.base}/") as page:  # the page itself holds no data
        assert page.status == 200
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp
        assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Referrer-Policy"] == "no-referrer"


async def test_public_read_lets_anyone_watch_but_not_act(nats_url: str, tmp_path: Path) -> None:
    async with serving(nats_url, tmp_path, public_read=True) as dash:
        async with dash.http.get(f"{dash.base}/api/state") as state:
            assert state.status == 200
            assert "alarms" in await state.json()
        async with dash.http.get(f"{dash.base}/api/events") as events:
            assert events.status == 200
            assert await events.content.readline() == b": connected\n"
        origin = {"Origin": dash.base}
        assert await status_of(dash, "POST", ACTION, headers=origin, json={}) == 401


async def test_login_link_signs_in_once(dash: Dashboard) -> None:
    link = await dash.login_link()
    assert link.startswith(f"{dash.base}/login#")  # the code is in the fragment: never sent
    first = await dash.redeem(link)
    assert first.status == 200
    assert (await first.json())["user"] == "operator"
    cookie = SimpleCookie(first.headers["Set-Cookie"])["plantbus-session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    assert not cookie["secure"]  # plain HTTP here; see the HTTPS test
    assert int(cookie["max-age"]) == 12 * 3600
    async with dash.http.get(f"{dash.base}/api/state") as state:
        assert state.status == 200

    second = await dash.redeem(link)
    assert second.status == 401
    assert "plantbus dashboard login" in (await second.json())["error"]
    assert (await dash.redeem(f"{dash.base}/login#{'x' * 43}")).status == 401  # made up


async def test_login_link_expires(dash: Dashboard) -> None:
    sessions = dash.service.gate.sessions
    link = await dash.login_link()
    started = sessions.clock()
    sessions.clock = lambda: started + 10 * 60 + 1
    assert (await dash.redeem(link)).status == 401


async def test_session_ends_when_idle_or_too_old(dash: Dashboard) -> None:
    sessions = dash.service.gate.sessions
    real = sessions.clock
    await dash.sign_in()
    offset = 29 * 60.0
    sessions.clock = lambda: real() + offset
    async with dash.http.get(f"{dash.base}/api/state") as fresh:
        assert fresh.status == 200  # and seen again now
    offset += 29 * 60.0
    async with dash.http.get(f"{dash.base}/api/state") as still:
        assert still.status == 200
    offset += 31 * 60.0
    assert await status_of(dash, "GET", "/api/state") == 401  # idle for 31 min

    await dash.sign_in()
    signed_in_at = offset
    while offset - signed_in_at < 12 * 3600 - 29 * 60:  # busy all along ...
        offset += 29 * 60.0
        async with dash.http.get(f"{dash.base}/api/state") as busy:
            assert busy.status == 200
    offset += 29 * 60.0
    assert await status_of(dash, "GET", "/api/state") == 401  # ... but 12 h is the most


async def test_login_links_need_the_token(dash: Dashboard) -> None:
    path = "/api/login-links"
    assert await status_of(dash, "POST", path) == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert await status_of(dash, "POST", path, headers=wrong) == 401
    basic = {"Authorization": "Basic b3BlcmF0b3I6"}
    assert await status_of(dash, "POST", path, headers=basic) == 401


async def test_without_a_token_no_login_links(nats_url: str, tmp_path: Path) -> None:
    async with serving(nats_url, tmp_path, token=None) as dash:
        headers = {"Authorization": "Bearer anything"}
        assert await status_of(dash, "POST", "/api/login-links", headers=headers) == 403


async def test_actions_need_origin_and_csrf(dash: Dashboard) -> None:
    csrf = await dash.sign_in()
    assert await status_of(dash, "POST", ACTION, json={}) == 403  # no Origin
    foreign = {"Origin": "http://evil.example", "X-Plantbus-CSRF": csrf}
    assert await status_of(dash, "POST", ACTION, headers=foreign, json={}) == 403
    assert await status_of(dash, "POST", ACTION, headers={"Origin": dash.base}, json={}) == 403
    wrong = dash.acting("0" * 64)
    assert await status_of(dash, "POST", ACTION, headers=wrong, json={}) == 403
    # with both, the request reaches alerting, which is not running in this test
    assert await status_of(dash, "POST", ACTION, headers=dash.acting(csrf), json={}) == 503


async def test_sign_out_ends_the_session_and_its_stream(dash: Dashboard) -> None:
    csrf = await dash.sign_in()
    async with dash.http.get(f"{dash.base}/api/events") as events:
        assert await events.content.readline() == b": connected\n"
        async with dash.http.delete(f"{dash.base}/api/session", headers=dash.acting(csrf)) as bye:
            assert bye.status == 200
            assert SimpleCookie(bye.headers["Set-Cookie"])["plantbus-session"]["max-age"] == "0"
        rest = await asyncio.wait_for(events.content.read(), 5)
        assert rest.strip() == b""  # the stream ended, nothing more came
    assert await status_of(dash, "GET", "/api/state") == 401
    dash.http.cookie_jar.clear()
    assert await status_of(dash, "DELETE", "/api/session", headers=dash.acting(csrf)) == 401


async def test_sign_in_and_links_are_audited(dash: Dashboard, bus: Bus) -> None:
    records = await collected(bus, "plantbus.v1.audit.dashboard", service_pb2.AuditRecord)
    await bus.nc.flush()  # the subscription is in place before the first record
    link = await dash.login_link()
    await dash.redeem(link)
    await dash.redeem(link)
    await wait_until(lambda: len(records) == 3)
    seen = [(r.action, r.actor, r.outcome) for r in records]
    assert seen == [
        ("dashboard.login_link", "operator", service_pb2.AUDIT_OUTCOME_SUCCESS),
        ("dashboard.sign_in", "operator", service_pb2.AUDIT_OUTCOME_SUCCESS),
        ("dashboard.sign_in", "anonymous", service_pb2.AUDIT_OUTCOME_DENIED),
    ]
    assert not [r for r in records if link.partition("#")[2] in str(r)]  # no code kept


async def test_https_with_a_certificate(nats_url: str, tmp_path: Path, pki: Path) -> None:
    client = ssl.create_default_context(cafile=pki / "ca.crt")
    options: dict[str, Any] = {
        "tls_cert": str(pki / "localhost.crt"),
        "tls_key": str(pki / "localhost.key"),
    }
    async with serving(nats_url, tmp_path, tls=client, **options) as dash:
        assert dash.service.url.startswith("https://")
        link = await dash.login_link()
        assert link.startswith("https://127.0.0.1:")
        signed_in = await dash.redeem(link)
        assert signed_in.status == 200
        cookie = SimpleCookie(signed_in.headers["Set-Cookie"])["__Host-plantbus-session"]
        assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Strict"
        async with dash.http.get(f"{dash.base}/api/state") as state:
            assert state.status == 200


async def test_bad_options_name_the_option(nats_url: str, tmp_path: Path, pki: Path) -> None:
    with pytest.raises(ConfigError, match=r"dashboard\.tls_key"):
        async with serving(nats_url, tmp_path, tls_cert=str(pki / "localhost.crt")):
            pass
    with pytest.raises(ConfigError, match=r"dashboard\.read_token_required"):
        async with serving(nats_url, tmp_path, read_token_required=True):
            pass
    with pytest.raises(ConfigError, match="public_url"):
        async with serving(nats_url, tmp_path, public_url="https://plant.example/dash"):
            pass
