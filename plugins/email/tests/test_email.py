"""E-mail to local SMTP servers (aiosmtpd) with certificates from a test CA: STARTTLS and
implicit TLS verified, an untrusted server refused before the password is sent, the kit."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from plantbus_email.notifier import EmailNotifier

from plantbus.sdk.errors import NotifierRejected, NotifierUnavailable
from plantbus.testing.notifier_kit import ConformanceReceiver, NotifierConformance, notification
from plantbus.testing.ports import free_port
from tests.certs import make_pki

PASSWORD = "s3cret-smtp-password"


class Relay:
    """An aiosmtpd relay: keeps what it accepts, checks logins, can refuse, restarts."""

    def __init__(self, cert_dir: Path, security: str) -> None:
        self.port = free_port()
        self.security = security
        self.messages: list[Any] = []
        self.logins: list[str] = []
        self.refusing = False
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(cert_dir / "localhost.crt", cert_dir / "localhost.key")
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusing:
            return "550 5.7.1 not accepted here"
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any):
        ok = isinstance(data, LoginPassword) and data.password == PASSWORD.encode()
        self.logins.append(data.login.decode() if isinstance(data, LoginPassword) else "?")
        return AuthResult(success=ok)

    def start_blocking(self) -> None:
        tls = (
            {"ssl_context": self.tls, "auth_require_tls": False}  # TLS from the first byte
            if self.security == "tls"
            else {"tls_context": self.tls, "require_starttls": True}
        )
        self._controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate,
            **tls,  # type: ignore[arg-type]
        )
        self._controller.start()

    def stop_blocking(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def start(self) -> None:
        self.start_blocking()

    async def stop(self) -> None:
        self.stop_blocking()

    def config(self, **extra: Any) -> dict[str, Any]:
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "security": self.security,
            "username": "plantbus",
            "password": PASSWORD,
            "sender": "hub@plant.test",
            "recipients": ["lead@plant.test"],
            "timeout_s": 5,
            **extra,
        }


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    (tmp_path / "pki").mkdir()
    return make_pki(tmp_path / "pki")


@pytest.fixture
def other_pki(tmp_path: Path) -> Path:
    """Certificates of another CA: what a man in the middle would present."""
    (tmp_path / "other").mkdir()
    return make_pki(tmp_path / "other")


@pytest.fixture(params=["starttls", "tls"])
def relay(request: pytest.FixtureRequest, pki: Path) -> Iterator[Relay]:
    server = Relay(pki, request.param)
    server.start_blocking()
    yield server
    server.stop_blocking()


def mailer(settings: dict[str, Any]) -> EmailNotifier:
    return EmailNotifier(EmailNotifier.Settings.model_validate(settings))


async def test_alarm_mail_arrives_over_verified_tls(relay: Relay, pki: Path) -> None:
    await mailer(relay.config(ca_file=str(pki / "ca.crt"))).send(notification("hot@s/a/l/m1"))
    (mail,) = relay.messages
    assert mail["To"] == "lead@plant.test"
    assert mail["Subject"] == "[HIGH] unacknowledged: hot@s/a/l/m1 needs a look"
    assert "hot@s/a/l/m1" in mail.get_payload()
    assert relay.logins == ["plantbus"]  # aiosmtpd takes AUTH only after TLS


async def test_an_untrusted_server_is_refused_before_the_login(
    tmp_path: Path, pki: Path, other_pki: Path
) -> None:
    for security in ("starttls", "tls"):
        impostor = Relay(other_pki, security)
        impostor.start_blocking()
        try:
            for trust in ({"ca_file": str(pki / "ca.crt")}, {}):  # the hub's CA, the system's
                with pytest.raises(NotifierRejected, match="certificate is not trusted") as err:
                    await mailer(impostor.config(**trust)).send(notification("hot@s/a/l/m1"))
                assert PASSWORD not in str(err.value)
        finally:
            impostor.stop_blocking()
        assert (impostor.logins, impostor.messages) == ([], [])


async def test_a_relay_without_starttls_is_refused_not_used_in_clear(pki: Path) -> None:
    port = free_port()
    relay = Relay(pki, "none")
    controller = Controller(relay, hostname="127.0.0.1", port=port)  # no TLS at all
    controller.start()
    try:
        settings = relay.config(port=port, security="starttls", ca_file=str(pki / "ca.crt"))
        with pytest.raises(NotifierRejected, match="does not offer STARTTLS"):
            await mailer(settings).send(notification("hot@s/a/l/m1"))
    finally:
        controller.stop()
    assert relay.messages == []


def test_a_password_in_clear_is_refused_by_the_settings() -> None:
    settings = {
        "host": "relay.plant.test",
        "security": "none",
        "username": "plantbus",
        "password": PASSWORD,
        "sender": "hub@plant.test",
        "recipients": ["lead@plant.test"],
    }
    with pytest.raises(ValueError, match="unencrypted") as refused:
        EmailNotifier.Settings.model_validate(settings)
    assert PASSWORD not in str(refused.value)
    del settings["username"], settings["password"]
    assert EmailNotifier.Settings.model_validate(settings).address == "relay.plant.test:25"


async def test_unreachable_relay_is_unavailable_for_the_retry_loop() -> None:
    settings = {
        "host": "127.0.0.1",
        "port": free_port(),
        "sender": "hub@plant.test",
        "recipients": ["lead@plant.test"],
        "timeout_s": 2,
    }
    with pytest.raises(NotifierUnavailable, match=r"SMTP relay 127\.0\.0\.1"):
        await mailer(settings).send(notification("hot@s/a/l/m1"))


class KitRelay(Relay):
    """The relay seen through the kit's receiver interface."""

    def __init__(self, cert_dir: Path) -> None:
        super().__init__(cert_dir, "starttls")
        self.ca = cert_dir / "ca.crt"

    @property
    def settings(self) -> dict[str, Any]:
        return self.config(ca_file=str(self.ca))

    @property
    def secrets(self) -> list[str]:
        return [PASSWORD]

    def received(self) -> list[str]:
        return [m.get_payload().split()[1] for m in self.messages]

    def refuse(self, on: bool) -> None:
        self.refusing = on


class TestEmailConformance(NotifierConformance):
    notifier_class = EmailNotifier

    @pytest.fixture
    def conformance_receiver(self, pki: Path) -> Iterator[ConformanceReceiver]:
        server = KitRelay(pki)
        server.start_blocking()
        yield server
        server.stop_blocking()
