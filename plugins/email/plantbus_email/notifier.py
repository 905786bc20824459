"""Send each alarm as a plain-text e-mail over SMTP (STARTTLS and login when configured).

smtplib is blocking, so it runs in a worker thread and never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from plantbus.sdk import API_VERSION
from plantbus.sdk.notifier import AlarmNotification, Notifier
from plantbus.sdk.plugin import PluginManifest

__all__ = ["EmailNotifier", "EmailSettings"]


class EmailSettings(BaseModel):
    """SMTP relay and addresses."""

    model_config = ConfigDict(extra="forbid")
    host: str
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(pattern=r".+@.+")
    recipients: list[str] = Field(min_length=1)
    timeout_s: float = Field(default=10.0, gt=0)


class EmailNotifier(Notifier):
    """One e-mail per alarm notification."""

    manifest = PluginManifest("email", "0.1.0", API_VERSION, "SMTP e-mail")
    Settings = EmailSettings

    def _message(self, note: AlarmNotification) -> EmailMessage:
        settings = self.settings
        assert isinstance(settings, EmailSettings)
        msg = EmailMessage()
        msg["Subject"] = f"[{note.priority.upper()}] {note.state}: {note.message or note.alarm_id}"
        msg["From"] = settings.sender
        msg["To"] = ", ".join(settings.recipients)
        msg.set_content(
            f"Alarm:    {note.alarm_id}\nState:    {note.state}\nPriority: {note.priority}\n"
            f"Machine:  {note.machine}\nValue:    {note.value}\nTime:     {note.time.isoformat()}\n"
            f"\n{note.message}\n"
        )
        return msg

    def _send_blocking(self, msg: EmailMessage) -> None:
        settings = self.settings
        assert isinstance(settings, EmailSettings)
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s) as smtp:
            if settings.starttls:
                smtp.starttls()
            if settings.username and settings.password:
                smtp.login(settings.username, settings.password.get_secret_value())
            smtp.send_message(msg)

    async def send(self, notification: AlarmNotification) -> None:
        """Deliver one e-mail; SMTP errors propagate so the service retries."""
        await asyncio.to_thread(self._send_blocking, self._message(notification))
