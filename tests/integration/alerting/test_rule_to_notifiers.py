"""From a rule to the people, end to end: a threshold crossing in the running alerting
service reaches a webhook receiver exactly once, signed as Standard Webhooks specifies
(verified by the receiver as docs/alerting.md says), and an e-mail reaches a local SMTP
relay (aiosmtpd) over verified STARTTLS; the flood alarm raised by eleven alarms of one
operator position reaches them too."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from plantbus.alerting.service import AlertingService
from plantbus.kit.bus import Bus
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.messages import publish_value
from plantbus.testing.ports import free_port
from plantbus.testing.waiting import wait_until
from tests.certs import make_pki

SECRET = "whsec_" + base64.b64encode(b"end-to-end-webhook-signing-key!!").decode()
M1 = "s/a/l/m1"


class Hooks:
    """Keeps every call and whether its signature and timestamp checked out."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes, bool]] = []

    def authentic(self, headers: Any, body: bytes) -> bool:
        msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
        key = base64.b64decode(SECRET.removeprefix("whsec_"))
        mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
        expected = base64.b64encode(mac).decode()
        fresh = abs(time.time() - int(stamp)) <= 300
        return fresh and any(
            hmac.compare_digest(expected, s.removeprefix("v1,"))
            for s in headers["webhook-signature"].split()
        )

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.calls.append((dict(request.headers), body, self.authentic(request.headers, body)))
        return web.Response(status=204)

    def alarms(self) -> list[str]:
        return [json.loads(body)["alarm_id"] for _, body, _ in self.calls]


class Relay:
    """An aiosmtpd relay offering STARTTLS with a certificate of the test CA."""

    def __init__(self, pki: Path) -> None:
        self.port = free_port()
        self.mails: list[Message] = []
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(pki / "localhost.crt", pki / "localhost.key")
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, tls_context=tls, require_starttls=True
        )

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
async def hooks() -> AsyncIterator[tuple[Hooks, str]]:
    receiver = Hooks()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield receiver, f"http://127.0.0.1:{port}/hook"
    await runner.cleanup()


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[tuple[Relay, Path]]:
    (tmp_path / "relay-pki").mkdir()  # not the hub's data_dir/pki
    pki = make_pki(tmp_path / "relay-pki")
    server = Relay(pki)
    server.controller.start()
    yield server, pki
    server.controller.stop()


def config(url: str, relay: Relay, pki: Path) -> dict[str, Any]:
    return {
        "sites": [
            {
                "name": "s",
                "areas": [{"name": "a", "lines": [{"name": "l", "machines": [{"name": "m1"}]}]}],
            }
        ],
        "alert_rules": [
            {
                "name": f"hot{i}",
                "kind": "high",
                "machine": M1,
                "tag": f"temp{i}",
                "limit": 70,
                "priority": "high",
            }
            for i in range(11)
        ],
        "notifiers": [
            {
                "name": "chat",
                "plugin": "webhook",
                "min_priority": "high",
                "settings": {"url": url, "secret": "env:E2E_WEBHOOK_SECRET"},
            },
            {
                "name": "lead",
                "plugin": "email",
                "min_priority": "high",
                "settings": {
                    "host": "127.0.0.1",
                    "port": relay.port,
                    "security": "starttls",
                    "ca_file": str(pki / "ca.crt"),
                    "sender": "hub@plant.test",
                    "recipients": ["lead@plant.test"],
                    "timeout_s": 5,
                },
            },
        ],
    }


async def test_a_raised_alarm_reaches_the_webhook_once_signed_and_the_mail_relay(
    bus: Bus,
    nats_url: str,
    tmp_path: Path,
    hooks: tuple[Hooks, str],
    relay: tuple[Relay, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver, url = hooks
    smtp, pki = relay
    monkeypatch.setenv("E2E_WEBHOOK_SECRET", SECRET)
    await put_config(bus, config(url, smtp, pki))
    async with hosted([AlertingService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["alerting"]
        assert isinstance(service, AlertingService)
        await wait_until(lambda: service.config_version == 1 and len(service.deliveries) == 2)
        await publish_value(bus, f"{M1}/temp0", 75.0)
        await publish_value(bus, f"{M1}/temp0", 76.0)  # still the same alarm: no new call
        await wait_until(lambda: receiver.calls and smtp.mails, message="webhook and mail")
        ((headers, body, authentic),) = receiver.calls
        assert authentic and headers["X-Plantbus-Alarm"] == f"hot0@{M1}"
        assert json.loads(body)["state"] == "unacknowledged"
        (mail,) = smtp.mails
        assert mail["To"] == "lead@plant.test"
        assert mail["Subject"] == "[HIGH] unacknowledged: hot0 on s/a/l/m1: 75.0"
        assert f"hot0@{M1}" in str(mail.get_payload())

        for i in range(1, 11):  # eleven alarms within ten minutes: a flood of s/a
            await publish_value(bus, f"{M1}/temp{i}", 75.0)
        flood = "alarm_flood@s/a"
        await wait_until(lambda: flood in receiver.alarms(), message="the flood alarm")
        await wait_until(lambda: any(flood in str(m.get_payload()) for m in smtp.mails))
        assert sorted(receiver.alarms()) == sorted([f"hot{i}@{M1}" for i in range(11)] + [flood])
        assert all(ok for _, _, ok in receiver.calls)
        ids = [h["webhook-id"] for h, _, _ in receiver.calls]
        assert len(set(ids)) == len(ids)  # every delivery once
