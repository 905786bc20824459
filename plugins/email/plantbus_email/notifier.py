"""Send each alarm as a plain-text e-mail over SMTP, encrypted and verified by default.

``security`` is ``starttls`` (port 587: STARTTLS, required), ``tls`` (port 465: TLS from
the first byte) or ``none`` (a relay on a trusted network, never with a password). Both
TLS modes verify the server's certificate and host name against the system's trusted
CAs, or against ``ca_file`` alone for a relay with a private CA, so the password and the
alarms go to the relay and no one else. smtplib is blocking, so it runs in a worker
thread and never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from plantbus.sdk import API_VERSION
from plantbus.sdk.errors import NotifierRejected, NotifierUnavailable, describe
from plantbus.sdk.notifier import AlarmNotification, Notifier
from plantbus.sdk.plugin import PluginManifest

__all__ = ["EmailNotifier", "EmailSettings"]

_PORTS = {"starttls": 587, "tls": 465, "none": 25}


class EmailSettings(BaseModel):
    """SMTP relay, how to reach it safely, and addresses."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    """Default: 587 for starttls, 465 for tls, 25 for none."""
    security: Literal["starttls", "tls", "none"] = "starttls"
    ca_file: Path | None = None
    """PEM file of the CA that signed the relay's certificate (a private CA); it is then
    the only one trusted. Default: the system's trusted CAs."""
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(pattern=r".+@.+")
    recipients: list[str] = Field(min_length=1)
    timeout_s: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _no_password_in_clear(self) -> EmailSettings:
        if self.security == "none" and self.password is not None:
            raise ValueError(
                "a password would cross the network unencrypted: set security to starttls "
                "or tls, or remove username and password"
            )
        return self

    @property
    def address(self) -> str:
        """``host:port`` for messages."""
        return f"{self.host}:{self.port or _PORTS[self.security]}"


class EmailNotifier(Notifier[EmailSettings]):
    """One e-mail per alarm notification."""

    manifest = PluginManifest("email", "0.2.0", API_VERSION, "SMTP e-mail, TLS verified")
    Settings = EmailSettings

    @cached_property
    def _tls(self) -> ssl.SSLContext:
        """Verifying context (certificate chain and host name); built on first use."""
        ca = self.settings.ca_file
        try:
            return ssl.create_default_context(cafile=str(ca) if ca else None)
        except (OSError, ssl.SSLError) as err:
            raise NotifierRejected(f"ca_file {ca} cannot be used: {describe(err)}") from err

    def _message(self, note: AlarmNotification) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = f"[{note.priority.upper()}] {note.state}: {note.message or note.alarm_id}"
        msg["From"] = self.settings.sender
        msg["To"] = ", ".join(self.settings.recipients)
        msg.set_content(
            f"Alarm:    {note.alarm_id}\nState:    {note.state}\nPriority: {note.priority}\n"
            f"Machine:  {note.machine}\nValue:    {note.value}\nTime:     {note.time.isoformat()}\n"
            f"\n{note.message}\n"
        )
        return msg

    def _starttls(self, smtp: smtplib.SMTP) -> None:
        try:
            smtp.starttls(context=self._tls)
        except smtplib.SMTPNotSupportedError:
            raise NotifierRejected(
                f"SMTP relay {self.settings.address} does not offer STARTTLS: use security: tls "
                "if it speaks TLS on connect, or another relay"
            ) from None

    def _send_blocking(self, msg: EmailMessage) -> None:
        s = self.settings
        port = s.port or _PORTS[s.security]
        smtp: smtplib.SMTP
        if s.security == "tls":
            smtp = smtplib.SMTP_SSL(s.host, port, timeout=s.timeout_s, context=self._tls)
        else:
            smtp = smtplib.SMTP(s.host, port, timeout=s.timeout_s)
        with smtp:
            if s.security == "starttls":
                self._starttls(smtp)
            if s.username and s.password:
                smtp.login(s.username, s.password.get_secret_value())
            smtp.send_message(msg)

    async def send(self, notification: AlarmNotification) -> None:
        """Deliver one e-mail; NotifierUnavailable (retried) or NotifierRejected."""
        where = f"SMTP relay {self.settings.address}"
        try:
            await asyncio.to_thread(self._send_blocking, self._message(notification))
        except ssl.SSLCertVerificationError as err:
            raise NotifierRejected(
                f"{where}: its certificate is not trusted ({err.verify_message}); if a "
                "private CA signed it, set ca_file to that CA's certificate"
            ) from err
        except smtplib.SMTPAuthenticationError as err:
            raise NotifierRejected(
                f"{where} refused the login of user {self.settings.username!r} ({err.smtp_code})"
            ) from err
        except smtplib.SMTPResponseException as err:
            text = err.smtp_error
            if isinstance(text, bytes):
                text = text.decode(errors="replace")
            fault = NotifierRejected if err.smtp_code >= 500 else NotifierUnavailable
            raise fault(f"{where} answered {err.smtp_code} {text}") from err
        except smtplib.SMTPRecipientsRefused as err:
            later = all(code < 500 for code, _ in err.recipients.values())
            fault = NotifierUnavailable if later else NotifierRejected
            raise fault(f"{where} refused every recipient: {err.recipients}") from err
        except smtplib.SMTPNotSupportedError as err:  # AUTH not offered: a settings problem
            raise NotifierRejected(f"{where}: {describe(err)}") from err
        except (smtplib.SMTPException, OSError) as err:
            raise NotifierUnavailable(f"{where}: {describe(err)}") from err
