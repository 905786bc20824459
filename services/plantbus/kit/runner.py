"""Hosts one or more services in one process: what ``plantbus run`` executes.

Start order: NATS, the audit stream, the token cache, each service's ``start()``, the
gRPC server (every call authenticated and authorized by one gate, see
:mod:`plantbus.kit.identity`), config following, heartbeats. Shutdown (SIGTERM/SIGINT
or leaving the context) reverses it: heartbeats say STOPPING, health goes NOT_SERVING,
the gRPC server stops accepting and drains in-flight calls, services stop, NATS is
flushed and closed.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence

import nats.errors

from plantbus.config import PlantConfig
from plantbus.kit import streams, telemetry
from plantbus.kit.audit import Auditor
from plantbus.kit.authn import Authenticator
from plantbus.kit.bus import Bus
from plantbus.kit.config_sections import sections_of
from plantbus.kit.config_watch import ConfigWatch
from plantbus.kit.grpc_client import ClientTls
from plantbus.kit.heartbeat import HeartbeatPublisher
from plantbus.kit.identity import GATE_SECTIONS, Gate, with_caller
from plantbus.kit.natsconnect import connect
from plantbus.kit.rpc import GrpcServer
from plantbus.kit.service import Service, ServiceContext
from plantbus.kit.settings import RunnerSettings
from plantbus.kit.signing import Signer, Verifier
from plantbus.kit.started import Started
from plantbus.kit.tasks import cancel
from plantbus.kit.tokens import TokenCache

__all__ = ["Runner", "run"]

log = logging.getLogger(__name__)


class Runner(Started):
    """An async context manager hosting ``service_classes`` with ``settings``."""

    def __init__(self, settings: RunnerSettings, service_classes: Sequence[type[Service]]) -> None:
        self.settings = settings
        self.service_classes = list(service_classes)
        self.services: dict[str, Service] = {}
        self.bus: Bus | None = None
        self.grpc: GrpcServer | None = None
        self.heartbeat: HeartbeatPublisher | None = None
        self.gate: Gate | None = None
        self._tokens: TokenCache | None = None
        self._watch: ConfigWatch | None = None
        self.verifier: Verifier | None = None
        self._beat_task: asyncio.Task[None] | None = None
        self._started: list[Service] = []

    @property
    def grpc_address(self) -> str:
        """host:port of the shared gRPC server."""
        assert self.grpc is not None
        return self.grpc.address

    async def start(self) -> None:
        s = self.settings
        label = "+".join(c.name for c in self.service_classes)
        telemetry.configure(label, s.instance, s.metrics_port)
        nats_settings = s.nats.model_copy(update={"name": f"plantbus-{label}-{s.instance}"})
        signer = Signer.from_file(s.config_signing_key) if s.config_signing_key else None
        verifier = Verifier.from_file(s.config_pubkey) if s.config_pubkey else None
        self.verifier = verifier
        self.bus = bus = await connect(nats_settings)
        await streams.ensure_stream(bus, streams.AUDIT)
        s.grpc.check()  # refuse plaintext off loopback before anything starts
        self._tokens = TokenCache(bus)
        await self._tokens.start()
        for cls in self.service_classes:
            self.services[cls.name] = cls(self._context(cls.name, bus, signer))
        for service in self.services.values():
            await service.start()
            self._started.append(service)
        owned = [(svc, b) for svc in self.services.values() for b in svc.grpc_bindings()]
        self.gate = Gate(
            Authenticator(self._tokens, insecure=s.grpc.insecure, ca=s.grpc.tls_ca),
            audits={b.full_name: svc.ctx.audit for svc, b in owned},
        )
        self.grpc = GrpcServer(s.grpc, [b for _, b in owned], self.gate)
        address = await self.grpc.start()
        # every runner follows the config: its users and roles authorize every call
        followers = [c.config_sections for c in self.service_classes if c.follows_config]
        sections = sections_of([GATE_SECTIONS, *followers])
        self._watch = ConfigWatch(bus, self._apply_config, verifier, self._refused, sections)
        await self._watch.start()
        self.heartbeat = HeartbeatPublisher(
            bus,
            list(self.services.values()),
            s.instance,
            address,
            s.heartbeat_interval_s,
            config_note=lambda: self._watch.refused if self._watch else "",
            grpc_tls=not s.grpc.insecure,
            grpc_token_address=self.grpc.token_address,
        )
        await self._beat_once()  # discoverable (plantbus status, CLI) as soon as we return
        self._beat_task = asyncio.create_task(self._beat_loop(), name="heartbeat")
        log.info("%s serving gRPC on %s", label, address)

    def _context(self, name: str, bus: Bus, signer: Signer | None) -> ServiceContext:
        """What the service ``name`` is given: the bus, its data dir, audit, options."""
        s = self.settings
        data_dir = s.data_dir / "services" / name
        data_dir.mkdir(parents=True, exist_ok=True)
        client_tls = (
            None
            if s.grpc.insecure or s.grpc.tls_ca is None
            else ClientTls(s.grpc.tls_ca, s.grpc.tls_cert, s.grpc.tls_key)
        )
        return ServiceContext(
            name=name,
            instance=s.instance,
            bus=bus,
            data_dir=data_dir,
            audit=with_caller(Auditor(bus, name, s.instance)),
            options=dict(s.options.get(name, {})),
            log=logging.getLogger(f"plantbus.{name}"),
            signer=signer,
            verifier=self.verifier,
            hub_data_dir=s.data_dir,
            grpc_tls=client_tls,
        )

    async def _apply_config(self, config: PlantConfig, version: int) -> None:
        if self.gate:
            self.gate.config = config
        for service in self.services.values():
            if not service.follows_config:
                continue
            service.config_change = self._watch.change if self._watch else None
            try:
                await service.apply_config(config, version)
            except Exception:  # one service's failure must not keep the config from the others
                log.exception("%s failed to apply config version %d", service.name, version)
        if self.heartbeat:
            await self._beat_once()

    async def _refused(self, version: int, why: str) -> None:
        """A config version that is not governance's: say so in the heartbeat at once."""
        if self.heartbeat:
            await self._beat_once()

    async def _beat_once(self) -> None:
        assert self.heartbeat is not None
        try:
            await self.heartbeat.beat()
        except Exception as err:  # noqa: BLE001 - a missed beat is retried on the next tick
            log.debug("heartbeat not sent: %s", err)

    async def _beat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval_s)
            await self._beat_once()

    async def stop(self) -> None:
        if self._beat_task:
            await cancel(self._beat_task)
            self._beat_task = None
        if self.heartbeat:
            self.heartbeat.stopping = True
            await self._beat_once()
        if self.grpc:
            await self.grpc.stop()
        if self._watch:
            await self._watch.stop()
        for service in reversed(self._started):
            try:
                await service.stop()
            except Exception:  # one service's failure must not keep the others running
                log.exception("%s failed to stop cleanly", service.name)
        self._started.clear()
        if self.heartbeat:
            try:
                await self.heartbeat.retract()
            except (nats.errors.Error, OSError, TimeoutError) as err:  # its entries expire
                log.debug("heartbeat not retracted: %s", err)
            self.heartbeat = None
        if self._tokens:
            await self._tokens.stop()
            self._tokens = None
        if self.bus:
            await self.bus.close()
            self.bus = None


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def run(settings: RunnerSettings, service_classes: Sequence[type[Service]]) -> None:
    """Host the services until SIGTERM or SIGINT, then shut down gracefully."""
    stop = _stop_event()
    async with Runner(settings, service_classes) as runner:
        log.info("ready: %s on %s", ", ".join(runner.services), runner.grpc_address)
        await stop.wait()
        log.info("stopping")
