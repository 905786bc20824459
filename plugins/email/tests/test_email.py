"""E-mail to a local SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from plantbus_email.notifier import EmailNotifier

from plantbus.sdk.notifier import AlarmNotification
from plantbus.testing.ports import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    port = free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def test_alarm_mail_arrives(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    notifier = EmailNotifier(
        EmailNotifier.Settings.model_validate(
            {
                "host": "127.0.0.1",
                "port": port,
                "starttls": False,
                "sender": "hub@plant.test",
                "recipients": ["lead@plant.test"],
            }
        )
    )
    await notifier.send(
        AlarmNotification(
            "hot@s/a/l/m1",
            "hot",
            "s/a/l/m1",
            "unacknowledged",
            "high",
            "Spindle at 75.0 degC",
            75.0,
            datetime.now(UTC),
        )
    )
    (mail,) = inbox.messages
    assert mail["To"] == "lead@plant.test"
    assert mail["Subject"] == "[HIGH] unacknowledged: Spindle at 75.0 degC"
    assert "hot@s/a/l/m1" in mail.get_payload()


async def test_unreachable_relay_raises_for_the_retry_loop() -> None:
    port = free_port()
    notifier = EmailNotifier(
        EmailNotifier.Settings.model_validate(
            {
                "host": "127.0.0.1",
                "port": port,
                "starttls": False,
                "sender": "hub@plant.test",
                "recipients": ["lead@plant.test"],
                "timeout_s": 2,
            }
        )
    )
    with pytest.raises(OSError):
        await notifier.send(
            AlarmNotification("a", "r", "m", "unacknowledged", "high", "x", None, datetime.now(UTC))
        )
