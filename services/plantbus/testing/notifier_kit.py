"""The notifier conformance kit: one set of tests every notifier plugin must pass.

A vendor subclasses :class:`NotifierConformance` in a test module, names the notifier
class and provides a ``conformance_receiver`` fixture that yields a real receiver (an
HTTP endpoint, an SMTP server, a chat API's test double...) behind the small
:class:`ConformanceReceiver` interface. The inherited tests then prove the notifier keeps
the contract the alerting service's delivery relies on:

- ``send`` delivers one notification, once, naming its alarm;
- while the receiver is down ``send`` raises ``NotifierUnavailable`` (retried with
  back-off), and the same notifier delivers again once it is back;
- a refusal by the receiver is ``NotifierRejected`` with a message;
- no error message and no log line carries one of the notifier's secrets;
- ``close`` is safe twice, before the first ``send`` and after use.

See docs/writing-a-driver.md ("Connectors and notifiers").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, ClassVar, Protocol

import pytest

from plantbus.sdk.errors import NotifierRejected, NotifierUnavailable
from plantbus.sdk.notifier import AlarmNotification, Notifier
from plantbus.testing.plugin_kit import PluginConformance

__all__ = ["ConformanceReceiver", "NotifierConformance", "notification"]


class ConformanceReceiver(Protocol):
    """A real receiver the kit can read, stop, start and make refuse."""

    @property
    def settings(self) -> dict[str, Any]:
        """Notifier settings that reach this receiver."""
        ...

    @property
    def secrets(self) -> Sequence[str]:
        """Secret values in ``settings`` (passwords, signing keys) that must never show."""
        ...

    def received(self) -> list[str]:
        """The alarm ids of the notifications accepted so far, in order."""
        ...

    def refuse(self, on: bool) -> None:
        """While on, refuse every notification for good (HTTP 4xx, SMTP 5xx...)."""
        ...

    async def stop(self) -> None:
        """Stop receiving; connections are refused."""
        ...

    async def start(self) -> None:
        """Receive again at the same address."""
        ...


def notification(alarm_id: str, state: str = "unacknowledged") -> AlarmNotification:
    """An alarm state change as the alerting service hands it to notifiers."""
    machine = alarm_id.partition("@")[2] or "kit/area/line/m1"
    return AlarmNotification(
        alarm_id=alarm_id,
        rule=alarm_id.partition("@")[0],
        machine=machine,
        state=state,
        priority="high",
        message=f"{alarm_id} needs a look",
        value=75.5,
        time=dt.datetime.now(dt.UTC),
    )


class NotifierConformance(PluginConformance):
    """Base class of a notifier's conformance tests; subclass it as ``TestMyNotifier``."""

    notifier_class: ClassVar[type[Notifier[Any]]]
    """The notifier under test."""
    call_timeout_s: ClassVar[float] = 15.0

    def plugin_class(self) -> type[Notifier[Any]]:
        """``notifier_class``."""
        return self.notifier_class

    @pytest.fixture
    async def conformance_receiver(self) -> AsyncIterator[ConformanceReceiver]:
        """Override: start the receiver, yield it, stop it."""
        raise NotImplementedError("define a conformance_receiver fixture in your test class")
        yield  # pragma: no cover - makes this an async generator

    def make_notifier(self, receiver: ConformanceReceiver) -> Notifier[Any]:
        """A fresh notifier, built as the alerting service builds it."""
        return self.notifier_class(self.settings_of(receiver.settings))

    @pytest.fixture
    async def notifier(
        self, conformance_receiver: ConformanceReceiver
    ) -> AsyncIterator[Notifier[Any]]:
        """A notifier for the receiver, closed after the test."""
        notifier = self.make_notifier(conformance_receiver)
        try:
            yield notifier
        finally:
            await self._call(notifier.close())

    @pytest.fixture
    def no_secret_shown(
        self, conformance_receiver: ConformanceReceiver, caplog: pytest.LogCaptureFixture
    ) -> Callable[[BaseException], None]:
        """Checks that neither an error nor the log lines (down to DEBUG) of the notifier's
        package or the hub carry a secret (the receiver's own logs are its business)."""
        check = self.secret_check(conformance_receiver.secrets, caplog)
        return lambda error: check(str(error))

    async def test_send_delivers_once(
        self, conformance_receiver: ConformanceReceiver, notifier: Notifier[Any]
    ) -> None:
        """One send, one notification at the receiver, for that alarm."""
        await self._call(notifier.send(notification("hot@kit/area/line/m1")))
        await self._call(notifier.send(notification("cold@kit/area/line/m2")))
        assert conformance_receiver.received() == ["hot@kit/area/line/m1", "cold@kit/area/line/m2"]

    async def test_receiver_down_is_unavailable_and_recovers(
        self,
        conformance_receiver: ConformanceReceiver,
        notifier: Notifier[Any],
        no_secret_shown: Callable[[BaseException], None],
    ) -> None:
        """NotifierUnavailable while down (the service retries); the same notifier works after."""
        await self._call(notifier.send(notification("first@kit/area/line/m1")))
        await conformance_receiver.stop()
        with pytest.raises(NotifierUnavailable) as down:
            await self._call(notifier.send(notification("lost@kit/area/line/m1")))
        await conformance_receiver.start()
        await self._call(notifier.send(notification("back@kit/area/line/m1")))
        assert conformance_receiver.received() == [
            "first@kit/area/line/m1",
            "back@kit/area/line/m1",
        ]
        no_secret_shown(down.value)

    async def test_refusal_is_rejected(
        self,
        conformance_receiver: ConformanceReceiver,
        notifier: Notifier[Any],
        no_secret_shown: Callable[[BaseException], None],
    ) -> None:
        """A receiver's refusal is NotifierRejected with its reason; the next send works."""
        conformance_receiver.refuse(True)
        with pytest.raises(NotifierRejected) as refused:
            await self._call(notifier.send(notification("refused@kit/area/line/m1")))
        assert str(refused.value), "say why the receiver refused"
        conformance_receiver.refuse(False)
        await self._call(notifier.send(notification("taken@kit/area/line/m1")))
        assert conformance_receiver.received() == ["taken@kit/area/line/m1"]
        no_secret_shown(refused.value)

    async def test_close_is_idempotent(self, conformance_receiver: ConformanceReceiver) -> None:
        """close() before the first send, twice, and after use never raises."""
        notifier = self.make_notifier(conformance_receiver)
        await self._call(notifier.close())
        notifier = self.make_notifier(conformance_receiver)
        await self._call(notifier.send(notification("once@kit/area/line/m1")))
        await self._call(notifier.close())
        await self._call(notifier.close())
