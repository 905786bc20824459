"""Who is calling: the identity every RPC is authorized and audited with.

Only what a caller proves counts:

- a client certificate from the hub's CA (the TLS layer checks the chain; the subject
  names the principal, ``O=plantbus, OU=service|user|operator, CN=<name>``);
- a bearer token (``authorization: Bearer pbt_...``) found in ``plantbus_tokens``, not
  expired and not revoked. A token wins when a call carries a certificate too.

The ``x-plantbus-user`` header is honoured only from principals that act for a signed-in
person: the local operator and the dashboard service; from the maintenance service for
a user whom the running config gives ``maintenance.approve`` (it writes an approved
proposal as its approver); from the Sparkplug bridge for the one user the running config
names for it (``sparkplug.user``); and from the uns service for the users the running
config names for MQTT writers (``uns.writers``). The effective caller is
then that user and audits name both (``actor=engineer``, ``via=local-operator``); from
anyone else, or for another user, the header is ignored.

The HTTP API (the ``gateway`` service) authenticates its HTTPS callers the same two ways
and forwards each call over gRPC with its own certificate: a bearer token as it came, a
client certificate (checked by its TLS against the hub's CA) in ``x-plantbus-client-cert-bin``
and the caller's address in ``x-plantbus-peer``. Those two headers are believed only from a
proxy service (:data:`PROXIES`), and a forwarded certificate only when the hub's CA issued
it and it is valid now; the caller is then who the certificate names, ``by`` the proxy. On
a ``--insecure`` server (plaintext, loopback only) every caller is the local operator and
the header is believed.

:class:`plantbus.kit.authn.Authenticator` turns a call's credentials into an
:class:`Identity`. The :class:`Gate` authenticates every call before a servicer runs
(anonymous callers get UNAUTHENTICATED on everything but the gRPC health check); servicers
then call :func:`require` with the permission the RPC needs.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

import grpc

from plantbus.config import PlantConfig
from plantbus.config.security import Permission
from plantbus.kit.audit import record_outcome
from plantbus.kit.authz import authorize
from plantbus.sdk.errors import PermissionDenied, Unauthenticated
from plantbus.v1 import service_pb2

__all__ = [
    "CLIENT_CERT_HEADER",
    "DELEGATES",
    "GATE_SECTIONS",
    "PEER_HEADER",
    "PROXIES",
    "USER_HEADER",
    "Authenticates",
    "Gate",
    "Identity",
    "current",
    "require",
    "serving",
    "with_caller",
]

log = logging.getLogger(__name__)

Kind = Literal["service", "user", "operator", "anonymous"]
Via = Literal["mtls", "token", "insecure", "none"]
Audit = Callable[..., Awaitable[Any]]

USER_HEADER: Final = "x-plantbus-user"
DELEGATES: Final = frozenset({"dashboard", "all"})
"""Services that act for signed-in people (``all``: one process hosting every service)."""
MAINTENANCE: Final = "maintenance"
"""The maintenance service: acts only for users who may approve its proposals."""
SPARKPLUG: Final = "sparkplug"
"""The Sparkplug bridge: acts for ``sparkplug.user`` of the running config only."""
UNS: Final = "uns"
"""The MQTT JSON namespace: acts for the users of ``uns.writers`` of the running config only."""
PROXIES: Final = frozenset({"gateway", "all"})
"""Services that forward callers they authenticated (the HTTP API)."""
CLIENT_CERT_HEADER: Final = "x-plantbus-client-cert-bin"
PEER_HEADER: Final = "x-plantbus-peer"
GATE_SECTIONS: Final = frozenset({"users", "roles", "write_policies", "uns", "sparkplug"})
"""The config sections the gate decides with (:func:`~plantbus.kit.authz.authorize`,
:meth:`Identity.may_act_for`): every runner reads them, whatever its services use."""
_OPEN: Final = "/grpc.health.v1.Health/"
_DENIED: Final = service_pb2.AUDIT_OUTCOME_DENIED


@dataclass(frozen=True)
class Identity:
    """A caller: ``kind`` and ``name`` of the principal, how it proved it (``via``), from
    where (``address``, the gRPC peer), and ``by``: who acts for this user, if anyone."""

    kind: Kind
    name: str
    via: Via
    address: str = ""
    by: str = ""

    def acting_for(self, user: str) -> Identity:
        """The configured ``user`` this principal acts for."""
        return Identity("user", user, self.via, self.address, by=self.name)

    @property
    def may_delegate(self) -> bool:
        """True for principals whose ``x-plantbus-user`` header is believed."""
        return self.kind == "operator" or (self.kind == "service" and self.name in DELEGATES)

    def may_act_for(self, user: str, config: PlantConfig | None) -> bool:
        """True when this principal's ``x-plantbus-user: <user>`` is believed."""
        if self.may_delegate:
            return True
        if self.kind != "service" or config is None:
            return False
        if self.name == MAINTENANCE:
            approver = Identity("user", user, self.via)
            return authorize(approver, "maintenance.approve", config).allowed
        if self.name == SPARKPLUG:
            return config.sparkplug is not None and config.sparkplug.user == user
        return self.name == UNS and user in config.uns.writers.values()

    @property
    def attributes(self) -> dict[str, str]:
        """Audit attributes: ``auth`` (mtls, token, insecure) and ``via`` (the delegate)."""
        return {"auth": self.via, **({"via": self.by} if self.by else {})}

    def __str__(self) -> str:
        by = f" via {self.by}" if self.by else ""
        return f"{self.kind} {self.name!r}{by}"


def _anonymous(address: str) -> Identity:
    return Identity("anonymous", "anonymous", "none", address)


class Authenticates(Protocol):
    """What a :class:`Gate` asks who a caller is (:class:`plantbus.kit.authn.Authenticator`)."""

    async def authenticate(
        self, context: grpc.aio.ServicerContext, config: PlantConfig | None = None
    ) -> Identity: ...


@dataclass(frozen=True)
class _Call:
    identity: Identity
    gate: Gate
    method: str


_CALL: contextvars.ContextVar[_Call | None] = contextvars.ContextVar("plantbus_call", default=None)


@dataclass
class Gate:
    """One per server: authenticates every call, authorizes with the running config
    (``config``, kept current by the runner) and audits every refusal through the audit
    of the service that owns the method (``audits``: full service name -> audit)."""

    authenticator: Authenticates
    audits: Mapping[str, Audit] = field(default_factory=dict)
    config: PlantConfig = field(default_factory=PlantConfig)

    async def enter(
        self, context: grpc.aio.ServicerContext, method: str
    ) -> contextvars.Token[_Call | None] | None:
        """Authenticate the call to ``method`` and make its identity current."""
        if method.startswith(_OPEN):
            return None
        try:
            identity = await self.authenticator.authenticate(context, self.config)
        except Unauthenticated as err:
            await self.refused(
                method, _anonymous(context.peer() or ""), "authenticate", method, str(err)
            )
            raise
        return _CALL.set(_Call(identity, self, method))

    @staticmethod
    def leave(token: contextvars.Token[_Call | None] | None) -> None:
        """End the call begun by :meth:`enter`."""
        if token is not None:
            _CALL.reset(token)

    async def refused(
        self, method: str, who: Identity, action: str, target: str, reason: str
    ) -> None:
        """Audit a refusal of ``action`` on ``target`` to ``who``."""
        audit = self.audits.get(method.split("/")[1] if method.count("/") >= 2 else "")
        if audit is None:
            log.warning("%s refused %s on %s: %s", method, who, target, reason)
            return
        await record_outcome(  # refused either way: an audit outage only delays the record
            audit,
            action=action,
            target=target,
            actor=who.name,
            outcome=_DENIED,
            detail=reason,
            source=who.address,
            attributes=who.attributes,
        )


@contextlib.contextmanager
def serving(identity: Identity, gate: Gate, method: str = "") -> Iterator[None]:
    """Run the block as a call by ``identity`` through ``gate`` (what :meth:`Gate.enter`
    sets up once it has authenticated a caller); for servicers called in-process."""
    token = _CALL.set(_Call(identity, gate, method))
    try:
        yield
    finally:
        _CALL.reset(token)


def current() -> Identity | None:
    """The identity of the call being served in this task (None outside a call)."""
    call = _CALL.get()
    return call.identity if call else None


async def require(permission: Permission, target: str = "", action: str = "") -> Identity:
    """The current caller, if the running config lets them do ``permission``; else the
    refusal is audited as ``action`` (default: the permission) on ``target`` with the
    caller, their address and the outcome, and PermissionDenied says why."""
    call = _CALL.get()
    if call is None:
        raise Unauthenticated(f"{permission}: no authenticated call in progress")
    decision = authorize(call.identity, permission, call.gate.config)
    if not decision.allowed:
        await call.gate.refused(
            call.method, call.identity, action or permission, target or call.method, decision.reason
        )
        raise PermissionDenied(f"{call.identity} may not {permission}: {decision.reason}")
    return call.identity


def with_caller(audit: Audit) -> Audit:
    """``audit`` that adds the current caller's address and how they authenticated to
    records of that caller (``source`` and ``attributes`` given explicitly win)."""

    async def recorded(**fields: Any) -> Any:
        call = _CALL.get()
        if call is not None and fields.get("actor") == call.identity.name:
            who = call.identity
            fields = {
                **fields,
                "source": fields.get("source") or who.address,
                "attributes": {**who.attributes, **(fields.get("attributes") or {})},
            }
        return await audit(**fields)

    return recorded
