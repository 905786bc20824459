"""The maintenance connector conformance kit: one set of tests every maintenance-request
connector plugin (``plantbus.maintenance_connectors``) must pass.

A vendor subclasses :class:`MaintenanceConformance` in a test module, names the
connector class and provides a ``conformance_target`` fixture that yields a real
maintenance system (a CMMS, an ERP's work items, an HTTP endpoint, or its test server)
behind the small :class:`ConformanceTarget` interface. The inherited tests then prove the
connector keeps the contract the maintenance service's outbox relies on:

- ``send`` files one request per key, and two due points are two requests;
- a request sent again with the same key (a retry after a lost answer, a redelivery, a
  restarted hub) is filed once, and answers the reference of the first send;
- while the target is down ``send`` raises ``NotifierUnavailable`` with a message (the
  outbox retries), and the same connector files again once it is back;
- a refusal is ``NotifierRejected`` with the target's reason (kept as a dead request);
- through the service's own outbox (a real nats-server, the ``bus`` fixture of
  ``plantbus.testing.pytest_plugin``): a due point queued twice is filed once; while the
  target is down the delivery reports it unreachable with the connector's message (what
  the service's health shows) and files it when the target is back, the error cleared;
- no error message and no log line carries one of the connector's secrets;
- ``close`` is safe twice, before the first ``send`` and after use.

See docs/writing-a-maintenance-connector.md.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, ClassVar, Protocol

import pytest

from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.maintenance.requests import RequestWorker, enqueue, request_of
from plantbus.sdk.errors import NotifierRejected, NotifierUnavailable
from plantbus.sdk.maintenance import MaintenanceConnector, MaintenanceRequest
from plantbus.testing.plugin_kit import PluginConformance
from plantbus.testing.waiting import wait_until
from plantbus.v1 import maintenance_pb2

__all__ = ["ConformanceTarget", "MaintenanceConformance", "maintenance_request"]

_RAISED = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)


class ConformanceTarget(Protocol):
    """A real maintenance system the kit can read, stop, start and make refuse."""

    @property
    def settings(self) -> dict[str, Any]:
        """Connector settings that reach this target."""
        ...

    @property
    def secrets(self) -> Sequence[str]:
        """Secret values in ``settings`` (passwords, signing keys) that must never show."""
        ...

    async def received(self) -> list[str]:
        """The keys of the requests filed so far, one entry per filed request, in order."""
        ...

    async def refuse(self, on: bool) -> None:
        """While on, refuse every request for good (HTTP 4xx, a missing project...)."""
        ...

    async def stop(self) -> None:
        """Make the target unreachable (it keeps what was filed)."""
        ...

    async def start(self) -> None:
        """Make it reachable again at the same place."""
        ...


def maintenance_request(key: str, reason: str = "warning") -> MaintenanceRequest:
    """A request as the maintenance service hands it to connectors (key ``plan:epoch:...``)."""
    plan = key.partition(":")[0]
    return MaintenanceRequest(
        key=key,
        plan=plan,
        machine="kit/area/line/m2",
        component="spindle",
        reason=reason,
        message=f"vibration rms of m2 predicted to reach 7.1 in 30 h (20 h-44 h) [{plan}]",
        time=_RAISED,
        due=_RAISED + dt.timedelta(hours=30),
        usage={"running_hours": 412.5, "cycles": 9000.0},
    )


class MaintenanceConformance(PluginConformance):
    """Base class of a maintenance connector's conformance tests; subclass it as
    ``TestMyConnector``."""

    connector_class: ClassVar[type[MaintenanceConnector[Any]]]
    """The connector under test."""

    def plugin_class(self) -> type[MaintenanceConnector[Any]]:
        """``connector_class``."""
        return self.connector_class

    @pytest.fixture
    async def conformance_target(self) -> AsyncIterator[ConformanceTarget]:
        """Override: start the target, yield it, stop it."""
        raise NotImplementedError("define a conformance_target fixture in your test class")
        yield  # pragma: no cover - makes this an async generator

    def make_connector(self, target: ConformanceTarget) -> MaintenanceConnector[Any]:
        """A fresh connector, built as the maintenance service builds it."""
        return self.connector_class(self.settings_of(target.settings))

    @pytest.fixture
    async def connector(
        self, conformance_target: ConformanceTarget
    ) -> AsyncIterator[MaintenanceConnector[Any]]:
        """A connector for the target, closed after the test."""
        connector = self.make_connector(conformance_target)
        try:
            yield connector
        finally:
            await self._call(connector.close())

    @pytest.fixture
    def no_secret_shown(
        self, conformance_target: ConformanceTarget, caplog: pytest.LogCaptureFixture
    ) -> Callable[[str], None]:
        """Checks that neither a text (an error, the health) nor the log lines (down to
        DEBUG) of the connector's package or the hub carry a secret."""
        return self.secret_check(conformance_target.secrets, caplog)

    async def test_each_request_is_filed_once(
        self, conformance_target: ConformanceTarget, connector: MaintenanceConnector[Any]
    ) -> None:
        """Two due points, two requests at the target, each once."""
        warning = await self._call(connector.send(maintenance_request("kit-a:0:warning:k")))
        due = await self._call(connector.send(maintenance_request("kit-a:0:due:k", "due")))
        assert isinstance(warning, str) and isinstance(due, str), "send returns a reference"
        assert not warning or warning != due, "two requests, two references"
        assert await conformance_target.received() == ["kit-a:0:warning:k", "kit-a:0:due:k"]

    async def test_a_retry_with_the_same_key_is_filed_once(
        self, conformance_target: ConformanceTarget, connector: MaintenanceConnector[Any]
    ) -> None:
        """The same key again, from the same connector and from a fresh one (a restarted
        hub): nothing new at the target, the first send's reference."""
        request = maintenance_request("kit-b:3:warning:k")
        reference = await self._call(connector.send(request))
        assert await self._call(connector.send(request)) == reference
        again = self.make_connector(conformance_target)
        try:
            assert await self._call(again.send(dataclasses.replace(request))) == reference
        finally:
            await self._call(again.close())
        assert await conformance_target.received() == [request.key]

    async def test_target_down_is_unavailable_and_recovers(
        self,
        conformance_target: ConformanceTarget,
        connector: MaintenanceConnector[Any],
        no_secret_shown: Callable[[str], None],
    ) -> None:
        """NotifierUnavailable, saying why, while down; the same connector works after."""
        await self._call(connector.send(maintenance_request("kit-c:0:warning:k")))
        await conformance_target.stop()
        with pytest.raises(NotifierUnavailable) as down:
            await self._call(connector.send(maintenance_request("kit-c:0:due:k", "due")))
        assert str(down.value), "say what cannot be reached"
        await conformance_target.start()
        await self._call(connector.send(maintenance_request("kit-c:0:due:k", "due")))
        assert await conformance_target.received() == ["kit-c:0:warning:k", "kit-c:0:due:k"]
        no_secret_shown(str(down.value))

    async def test_refusal_is_rejected(
        self,
        conformance_target: ConformanceTarget,
        connector: MaintenanceConnector[Any],
        no_secret_shown: Callable[[str], None],
    ) -> None:
        """A refusal is NotifierRejected with the target's reason; the next send works."""
        await conformance_target.refuse(True)
        with pytest.raises(NotifierRejected) as refused:
            await self._call(connector.send(maintenance_request("kit-d:0:warning:k")))
        assert str(refused.value), "say why the target refused"
        await conformance_target.refuse(False)
        await self._call(connector.send(maintenance_request("kit-d:0:due:k", "due")))
        assert await conformance_target.received() == ["kit-d:0:due:k"]
        no_secret_shown(str(refused.value))

    async def test_through_the_outbox_once_per_due_point_with_its_health(
        self,
        bus: Bus,
        conformance_target: ConformanceTarget,
        no_secret_shown: Callable[[str], None],
    ) -> None:
        """The service's own delivery: a due point queued twice is filed once; while the
        target is down the delivery is unreachable with the connector's message (the
        service's health), and files the request once it is back."""
        kv = await streams.open_bucket(bus, streams.MAINTENANCE_STATE)
        await streams.ensure_stream(bus, streams.MAINTENANCE_OUTBOX)
        worker = RequestWorker(bus, kv, "kit", self.make_connector(conformance_target))
        worker.max_backoff_s = 1.0
        await worker.start()
        try:
            first = _queued(maintenance_request("kit-e:0:warning:kit"))
            assert await enqueue(bus, kv, first)
            assert not await enqueue(bus, kv, first), "a due point is queued once"
            await wait_until(lambda: worker.sent == 1, timeout=self.call_timeout_s)
            await conformance_target.stop()
            assert await enqueue(bus, kv, _queued(maintenance_request("kit-e:0:due:kit", "due")))
            await wait_until(lambda: not worker.reachable, timeout=self.call_timeout_s)
            assert worker.last_error, "the health says why requests do not go out"
            no_secret_shown(worker.last_error)
            await conformance_target.start()
            await wait_until(lambda: worker.sent == 2, timeout=self.call_timeout_s + 5)
            assert worker.reachable and not worker.last_error
        finally:
            await worker.stop()
        assert await conformance_target.received() == ["kit-e:0:warning:kit", "kit-e:0:due:kit"]

    async def test_close_is_idempotent(self, conformance_target: ConformanceTarget) -> None:
        """close() before the first send, twice, and after use never raises."""
        connector = self.make_connector(conformance_target)
        await self._call(connector.close())
        connector = self.make_connector(conformance_target)
        await self._call(connector.send(maintenance_request("kit-f:0:warning:k")))
        await self._call(connector.close())
        await self._call(connector.close())


def _queued(request: MaintenanceRequest) -> maintenance_pb2.MaintenanceRequest:
    """``request`` as the service queues it for the connector ``kit``."""
    when = request.time.timestamp()
    due_in_h = None if request.due is None else (request.due.timestamp() - when) / 3600
    return request_of(
        request.key, "kit", request.plan, request.machine, request.component,
        request.reason, request.message, when, request.usage, due_in_h,
    )  # fmt: skip
