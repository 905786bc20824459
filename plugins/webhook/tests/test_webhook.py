"""Webhook delivery to a local HTTP server that fails first and succeeds later."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

from aiohttp import web
from plantbus_webhook.notifier import WebhookNotifier, sign

from plantbus.alerting.delivery import Delivery
from plantbus.config.alerting import NotifierConfig
from plantbus.sdk.notifier import AlarmNotification


async def test_signed_post_retried_until_the_server_accepts() -> None:
    received: list[tuple[bytes, str]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.read(), request.headers["X-Plantbus-Signature"]))
        return web.Response(status=503 if len(received) < 3 else 204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        config = NotifierConfig(
            name="hook",
            plugin="webhook",
            min_priority="low",
            settings={"url": f"http://127.0.0.1:{port}/hook", "secret": "s3"},
        )
        notifier = WebhookNotifier(WebhookNotifier.Settings.model_validate(config.settings))
        delivery = Delivery(config, notifier)
        note = AlarmNotification(
            "hot@s/a/l/m",
            "hot",
            "s/a/l/m",
            "unacknowledged",
            "high",
            "too hot",
            75.0,
            datetime.now(UTC),
        )
        task = delivery.offer(note)
        assert task is not None
        assert await task is True
        assert delivery.offer(note) is None  # duplicate within a minute: not sent again
    finally:
        await runner.cleanup()
    assert len(received) == 3
    body, signature = received[-1]
    assert signature == sign("s3", body)
    expected = hmac.new(b"s3", body, hashlib.sha256).hexdigest()
    assert signature == f"sha256={expected}"  # what a receiver computes on its own
    assert json.loads(body)["alarm_id"] == "hot@s/a/l/m"
