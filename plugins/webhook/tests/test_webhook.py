"""Webhook delivery to local aiohttp receivers: Standard Webhooks signatures checked by a
receiver written from docs/alerting.md, retries under one webhook-id, the conformance kit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from plantbus_webhook.notifier import WebhookNotifier

from plantbus.alerting.delivery import Delivery
from plantbus.config import PlantConfig
from plantbus.config.alerting import NotifierConfig
from plantbus.config.validate import cross_check
from plantbus.testing.notifier_kit import ConformanceReceiver, NotifierConformance, notification
from plantbus.testing.ports import free_port

SECRET = "whsec_" + base64.b64encode(b"plantbus-test-signing-key-32byte").decode()
TOLERANCE_S = 300


@dataclass
class Receiver:
    """A receiver that verifies calls the way docs/alerting.md tells receivers to."""

    secret: str = SECRET
    clock: Callable[[], float] = time.time
    answers: list[int] = field(default_factory=list)
    """Statuses to answer with first (then 200), to make the sender retry."""
    seen: dict[str, float] = field(default_factory=dict)
    processed: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    attempts: list[dict[str, str]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    def verify(self, headers: Any, body: bytes) -> str:
        """'' when the call is authentic and fresh, else why it is not."""
        msg_id = headers.get("webhook-id", "")
        stamp = headers.get("webhook-timestamp", "")
        signatures = headers.get("webhook-signature", "")
        if not (msg_id and stamp.isdigit() and signatures):
            return "missing webhook headers"
        now = self.clock()
        if abs(now - int(stamp)) > TOLERANCE_S:
            return "timestamp outside the tolerance"
        key = base64.b64decode(self.secret.removeprefix("whsec_"))
        mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
        expected = base64.b64encode(mac).decode()
        if not any(
            hmac.compare_digest(expected, sig.removeprefix("v1,"))
            for sig in signatures.split()
            if sig.startswith("v1,")
        ):
            return "bad signature"
        for old in [i for i, t in self.seen.items() if now - t > 2 * TOLERANCE_S]:
            del self.seen[old]
        if msg_id in self.seen:
            return "duplicate"
        self.seen[msg_id] = now
        return ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()  # the exact bytes: verify before parsing
        self.attempts.append(dict(request.headers))
        self.bodies.append(body)
        if self.answers:
            return web.Response(status=self.answers.pop(0))
        problem = self.verify(request.headers, body)
        if problem == "duplicate":
            self.refused.append(problem)
            return web.Response(status=200, text="already processed")
        if problem:
            self.refused.append(problem)
            return web.Response(status=401, text=problem)
        self.processed.append(json.loads(body))
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    hooks = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hooks.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield hooks, f"http://127.0.0.1:{port}/hook"
    await runner.cleanup()


def webhook(url: str) -> tuple[NotifierConfig, WebhookNotifier]:
    config = NotifierConfig(
        name="hook", plugin="webhook", min_priority="low", settings={"url": url, "secret": SECRET}
    )
    return config, WebhookNotifier(WebhookNotifier.Settings.model_validate(config.settings))


async def test_retries_of_one_delivery_carry_one_id_and_each_is_signed(
    receiver: tuple[Receiver, str],
) -> None:
    hooks, url = receiver
    hooks.answers = [503, 503]
    config, notifier = webhook(url)
    delivery = Delivery(config, notifier)
    note = notification("hot@s/a/l/m")
    try:
        task = delivery.offer(note)
        assert task is not None
        assert await task is True
        assert delivery.offer(note) is None  # duplicate within a minute: not sent again
    finally:
        await notifier.close()
    assert len(hooks.attempts) == 3
    assert len({a["webhook-id"] for a in hooks.attempts}) == 1
    assert [p["alarm_id"] for p in hooks.processed] == ["hot@s/a/l/m"]
    assert hooks.refused == []
    assert "X-Plantbus-Signature" not in hooks.attempts[-1]  # the replayable body-only HMAC


async def test_receiver_drops_replays_and_tampered_bodies(receiver: tuple[Receiver, str]) -> None:
    hooks, url = receiver
    _, notifier = webhook(url)
    try:
        await notifier.send(notification("hot@s/a/l/m"))  # a fresh call: processed
    finally:
        await notifier.close()
    assert [p["alarm_id"] for p in hooks.processed] == ["hot@s/a/l/m"]
    # what a man in the middle captured
    headers = {k: v for k, v in hooks.attempts[0].items() if k.startswith("webhook-")}
    body = hooks.bodies[0]
    async with aiohttp.ClientSession() as http:

        async def replay(body: bytes, **changed: str) -> int:
            async with http.post(url, data=body, headers={**headers, **changed}) as reply:
                return reply.status

        assert await replay(body) == 200  # answered (a lost 2xx is retried so), not processed
        assert await replay(body.replace(b"unacknowledged", b"acknowledged")) == 401
        later = str(int(headers["webhook-timestamp"]) + 1)
        assert await replay(body, **{"webhook-timestamp": later}) == 401
        hooks.seen.clear()  # a receiver that restarted and forgot the ids it had seen ...
        hooks.clock = lambda: time.time() + 2 * TOLERANCE_S  # ... still refuses it later
        assert await replay(body) == 401
    assert hooks.refused == [
        "duplicate",
        "bad signature",
        "bad signature",
        "timestamp outside the tolerance",
    ]
    assert len(hooks.processed) == 1


def test_a_secret_not_in_the_standard_form_is_refused_without_showing_it() -> None:
    weak = "hunter2-plain-password"
    with pytest.raises(ValueError, match="whsec_") as refused:
        WebhookNotifier.Settings.model_validate({"url": "https://x.test/", "secret": weak})
    assert weak not in str(refused.value)
    config = PlantConfig.model_validate(
        {
            "notifiers": [
                {"name": "n", "plugin": "webhook", "settings": {"url": "https://x", "secret": weak}}
            ]
        }
    )
    findings = [message for _, message in cross_check(config)]
    # in the config a secret is a reference, never the value: the literal is refused as such
    assert any("holds a reference" in m for m in findings), findings
    assert not any(weak in m for m in findings), findings


class HookReceiver:
    """An aiohttp endpoint for the kit: stops and starts on the same port, can refuse."""

    def __init__(self) -> None:
        self.port = free_port()
        self.refusing = False
        self.ids: list[str] = []
        self._runner: web.AppRunner | None = None

    @property
    def settings(self) -> dict[str, Any]:
        return {"url": f"http://127.0.0.1:{self.port}/hook?token=t0ken", "secret": SECRET}

    @property
    def secrets(self) -> list[str]:
        return [SECRET, SECRET.removeprefix("whsec_"), "t0ken"]

    def received(self) -> list[str]:
        return self.ids

    def refuse(self, on: bool) -> None:
        self.refusing = on

    async def _hook(self, request: web.Request) -> web.Response:
        if self.refusing:
            return web.Response(status=403, text="not for us")
        self.ids.append(json.loads(await request.read())["alarm_id"])
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class TestWebhookConformance(NotifierConformance):
    notifier_class = WebhookNotifier

    @pytest.fixture
    async def conformance_receiver(self) -> AsyncIterator[ConformanceReceiver]:
        server = HookReceiver()
        await server.start()
        yield server
        await server.stop()
