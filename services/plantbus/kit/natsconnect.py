"""Connecting to NATS from settings: the first connection with a deadline and an error
that says what to fix, then reconnects forever, each transition logged once and counted."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import nats
from nats.aio.client import Client

from plantbus.kit import telemetry as otel
from plantbus.kit.bus import Bus, NatsSettings, inbox_prefix
from plantbus.sdk.errors import ConfigError, describe

__all__ = ["NatsRefused", "NatsUnreachable", "connect"]


class NatsUnreachable(ConfigError):
    """No NATS server answered at the configured URL."""


class NatsRefused(ConfigError):
    """The NATS server refused the credential."""


log = logging.getLogger(__name__)

_CONNECTION_ERRORS = (OSError, nats.errors.StaleConnectionError)  # EOF included
"""Errors of a lost or refused connection, reported once by the disconnect callback."""


class _Watch:
    """The client's callbacks: log and count each transition once."""

    def __init__(
        self, settings: NatsSettings, on_reconnected: Callable[[], Awaitable[None]] | None
    ) -> None:
        self.settings = settings
        self.on_reconnected = on_reconnected
        self.bus: Bus | None = None
        self.nc: Client | None = None
        self.first_errors: list[Exception] = []
        meter = otel.meter("plantbus.bus")
        self.reconnects = meter.create_counter("plantbus.nats.reconnects")
        self.disconnects = meter.create_counter("plantbus.nats.disconnects")

    async def disconnected(self) -> None:
        if self.bus is None or self.bus.closing:
            return
        self.disconnects.add(1)
        self.bus.counters.disconnects += 1
        log.warning("NATS disconnected from %s; reconnecting", self.settings.url)

    async def reconnected(self) -> None:
        self.reconnects.add(1)
        if self.bus:
            self.bus.counters.reconnects += 1
        url = self.nc.connected_url if self.nc else None
        log.info("NATS reconnected to %s", url.netloc if url else "?")
        if self.on_reconnected:
            await self.on_reconnected()

    async def error(self, err: Exception) -> None:
        if self.bus is None:
            self.first_errors.append(err)
            log.debug("NATS connect attempt to %s failed: %s", self.settings.url, err)
            return
        self.bus.counters.errors += 1
        if isinstance(err, _CONNECTION_ERRORS):  # the disconnect and reconnect lines tell it
            log.debug("NATS connection to %s: %s", self.settings.url, describe(err))
        else:
            log.warning("NATS error: %s", describe(err))

    def refused(self, err: Exception) -> NatsUnreachable | NatsRefused:
        """The error for a first connection that failed, saying what to fix."""
        url = self.settings.url
        if any("authorization" in str(e).lower() for e in self.first_errors):
            who = f"user {self.settings.user!r}" if self.settings.user else "no credential"
            return NatsRefused(
                f"cannot connect to NATS at {url}: the server refused {who} "
                "(authorization violation). Set PLANTBUS_NATS_USER and "
                "PLANTBUS_NATS_PASSWORD_FILE (plantbus up keeps them in <data-dir>/nats), "
                "PLANTBUS_NATS_CREDS or PLANTBUS_NATS_TOKEN"
            )
        return NatsUnreachable(
            f"cannot connect to NATS at {url}: {describe(err)}. "
            "Is the hub running (plantbus up) or is --nats-url / PLANTBUS_NATS_URL right?"
        )


def _options(settings: NatsSettings, watch: _Watch, attempts: int) -> dict[str, Any]:
    """nats-py's connect options for ``settings``."""
    options: dict[str, Any] = {
        "servers": [url.strip() for url in settings.url.split(",")],
        "name": settings.name,
        "connect_timeout": settings.connect_timeout_s,
        "max_reconnect_attempts": attempts,
        "reconnect_time_wait": 0.5,
        "allow_reconnect": True,
        "disconnected_cb": watch.disconnected,
        "reconnected_cb": watch.reconnected,
        "error_cb": watch.error,
        "pending_size": 64 * 1024 * 1024,
    }
    if settings.user:
        options["user"] = settings.user
        options["inbox_prefix"] = inbox_prefix(settings.user)
    if settings.password:
        options["password"] = settings.password.get_secret_value()
    if settings.token:
        options["token"] = settings.token.get_secret_value()
    if settings.creds_file:
        options["user_credentials"] = str(settings.creds_file)
    if tls := settings.tls_context():
        options["tls"] = tls
    return options


async def connect(
    settings: NatsSettings,
    *,
    max_reconnect_attempts: int = -1,
    initial_attempts: int = 2,
    on_reconnected: Callable[[], Awaitable[None]] | None = None,
) -> Bus:
    """Connect to NATS from settings; reconnects forever by default and logs each transition.

    The first connection is tried ``initial_attempts`` times, then :class:`ConfigError`
    names the URL (a service exits and its supervisor or Kubernetes restarts it).
    """
    watch = _Watch(settings, on_reconnected)
    # nats-py can wait forever on a handshake that never completes (a plain client at a
    # TLS-only server), so the first connection has a deadline of its own
    deadline = (settings.connect_timeout_s + 0.5) * (initial_attempts + 1)
    try:
        nc = await asyncio.wait_for(
            nats.connect(**_options(settings, watch, initial_attempts)), deadline
        )
    except TimeoutError as err:
        raise NatsUnreachable(
            f"cannot connect to NATS at {settings.url}: no answer within {deadline:.0f}s. "
            "Does the server require TLS (PLANTBUS_NATS_TLS_CA, a tls:// URL)?"
        ) from err
    except Exception as err:
        raise watch.refused(err) from err
    # nats-py uses one attempt limit for the first connection and for reconnects; once
    # connected, switch to the reconnect policy.
    nc.options["max_reconnect_attempts"] = max_reconnect_attempts
    watch.nc, watch.bus = nc, Bus(nc, settings)
    return watch.bus
