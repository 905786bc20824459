"""The webhook request connector against a local receiver: signed, one id per request
across retries, retryable and final answers told apart, the secret never shown."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from plantbus_maintenance_webhook.connector import WebhookRequests

from plantbus.config import PlantConfig
from plantbus.config.validate import cross_check
from plantbus.sdk.errors import NotifierRejected, NotifierUnavailable
from plantbus.sdk.maintenance import MaintenanceRequest
from tests.maintenance_hooks import SECRET, receiving

REQUEST = MaintenanceRequest(
    key="m2-bearing:0:warning:cmms",
    plan="m2-bearing",
    machine="s/a/l/m2",
    component="spindle",
    reason="warning",
    message="vibration rms of m2 predicted to reach 7.1 in 20 h (14 h-31 h)",
    time=datetime(2026, 12, 1, 12, tzinfo=UTC),
    due=datetime(2026, 12, 2, 8, tzinfo=UTC),
    usage={"running_hours": 412.5, "cycles": 9000.0},
)


def connector(url: str) -> WebhookRequests:
    return WebhookRequests(WebhookRequests.Settings.model_validate({"url": url, "secret": SECRET}))


async def test_a_request_is_signed_and_its_id_survives_retries() -> None:
    async with receiving() as (hooks, url):
        hooks.answers = [503]
        sender = connector(url)
        try:
            with pytest.raises(NotifierUnavailable, match="HTTP 503; retrying"):
                await sender.send(REQUEST)
            assert await sender.send(REQUEST) == "/requests/1"
            await sender.send(REQUEST)  # a redelivery: the receiver files it once
        finally:
            await sender.close()
            await sender.close()
    assert len({a["webhook-id"] for a in hooks.attempts}) == 1
    assert hooks.refused == []
    (body,) = hooks.filed.values()
    assert body["key"] == REQUEST.key and body["due"] == "2026-12-02T08:00:00+00:00"
    assert body["usage"] == {"running_hours": 412.5, "cycles": 9000.0}
    assert hooks.attempts[-1]["X-Plantbus-Maintenance"] == REQUEST.key


async def test_refusals_and_unreachable_receivers() -> None:
    async with receiving() as (hooks, url):
        hooks.answers = [400]
        sender = connector(url + "?token=hidden")
        try:
            with pytest.raises(NotifierRejected) as err:
                await sender.send(REQUEST)
        finally:
            await sender.close()
    assert "HTTP 400" in str(err.value) and "hidden" not in str(err.value)
    nowhere = connector("http://127.0.0.1:9/hook")
    try:
        with pytest.raises(NotifierUnavailable):
            await nowhere.send(REQUEST)
    finally:
        await nowhere.close()


def test_settings_are_checked_with_the_config_and_the_secret_never_shown() -> None:
    config = PlantConfig.model_validate(
        {
            "maintenance": {
                "requests": [
                    {
                        "name": "cmms",
                        "connector": "webhook",
                        "settings": {"url": "ftp://x", "secret": "whsec_short"},
                    }
                ]
            }
        }
    )
    problems = dict((".".join(map(str, loc)), msg) for loc, msg in cross_check(config))
    text = "\n".join(f"{k}: {v}" for k, v in problems.items())
    assert "maintenance.requests.0.settings.url" in text
    assert "whsec_short" not in text
