"""The service contract: what every Plantbus service implements so the runner can host it
alone (``plantbus run device``) or beside the others in one process (``plantbus run all``).

The runner owns the NATS connection, the gRPC server, health, heartbeats, config
following and shutdown. A service only wires its domain logic to those.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from plantbus.config import PlantConfig
from plantbus.kit.bus import Bus
from plantbus.kit.config_reader import ConfigChange
from plantbus.kit.signing import Signer, Verifier
from plantbus.kit.started import Started
from plantbus.kit.supervisor import TaskSet

if TYPE_CHECKING:
    from plantbus.kit.grpc_client import ClientTls

__all__ = ["GrpcBinding", "Service", "ServiceContext"]


@dataclass(frozen=True)
class GrpcBinding:
    """One gRPC servicer to register: ``add(servicer, server)`` is the generated add_*_to_server."""

    add: Callable[[Any, Any], None]
    servicer: object
    full_name: str
    """Full service name for reflection and health, for example ``plantbus.v1.DeviceService``."""


@dataclass
class ServiceContext:
    """What the runner gives a service."""

    name: str
    instance: str
    bus: Bus
    data_dir: Path
    """A directory the service may write to (spool files, caches)."""
    audit: Callable[..., Any]
    """``await ctx.audit(action=..., target=..., actor=..., outcome=..., detail=...)``."""
    options: dict[str, Any] = field(default_factory=dict)
    """Service-specific options from the command line (for example ``bootstrap_config``)."""
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("plantbus"))
    signer: Signer | None = None
    """Governance's config signing key, where the runner was given it."""
    verifier: Verifier | None = None
    """Checks that a config document is governance's (None: nothing is checked)."""
    hub_data_dir: Path | None = None
    """The hub's data dir (``data_dir``'s root), shared with the CLI on this host: trust
    lists and certificates that ``plantbus devices trust`` writes. None: use ``data_dir``."""
    grpc_tls: ClientTls | None = None
    """What this service presents when it calls another one (``channel(address, grpc_tls)``):
    its own certificate; None on a plaintext (--insecure) hub."""


class Service(Started):
    """Base class of every service.

    Order of calls: ``start()``; then ``apply_config()`` for the current config version
    and again for every new one; ``stop()`` on shutdown (after gRPC stopped accepting).
    A service is also an async context manager (``async with Svc(ctx) as svc:``) that
    starts and stops it. Background work goes in ``self.tasks`` (``spawn``): a task that
    dies is logged and turns the heartbeat to not serving, and the base ``stop()`` cancels
    what is left; a service that overrides ``stop()`` ends with ``await super().stop()``.
    """

    name: ClassVar[str]
    follows_config: ClassVar[bool] = True
    """False for services that do not need the plant config (governance serves it)."""
    config_sections: ClassVar[frozenset[str] | None] = None
    """The sections of the plant config the service uses (None: every one). The runner
    reads only these (and its gate's); the others are withheld
    (:mod:`plantbus.kit.config_sections`): using one raises."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.config_version = 0
        self.config_change: ConfigChange | None = None
        """While ``apply_config()`` runs and after: which sections and devices the version
        changed, so a service can skip what did not (set by the runner)."""
        self.tasks = TaskSet(ctx.log)

    def grpc_bindings(self) -> Sequence[GrpcBinding]:
        """The gRPC servicers this service exposes."""
        return ()

    @abc.abstractmethod
    async def start(self) -> None:
        """Open subscriptions and start background tasks. Must return promptly."""

    async def apply_config(self, config: PlantConfig, version: int) -> None:
        """Take a new config version live without a restart. Default: only record the version."""
        self.config_version = version

    async def stop(self) -> None:
        """Stop tasks and flush state. Safe to call twice."""
        await self.tasks.close()

    def plugin_infos(self) -> Sequence[Any]:
        """``plantbus.v1.PluginInfo`` messages for the plugins this service loaded."""
        return ()

    def health(self) -> tuple[bool, str]:
        """(serving, detail) for the heartbeat; override to report degraded states."""
        return True, ""

    def reported_health(self) -> tuple[bool, str]:
        """What the heartbeat reports: a dead background task first, else ``health()``."""
        if self.tasks.failure:
            return False, f"background task died: {self.tasks.failure}"
        return self.health()
