"""Host services in-process for tests, exactly as ``plantbus run`` does: secure by
default (certificates from a throwaway hub PKI in the data dir), with helpers to call them
as the local operator or with a bearer token."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import grpc

from plantbus.kit import pki as pki_mod
from plantbus.kit.authn import Authenticator
from plantbus.kit.bus import Bus, NatsSettings
from plantbus.kit.grpc_client import ClientTls, channel
from plantbus.kit.grpc_settings import GrpcSettings
from plantbus.kit.identity import Gate, Identity, serving
from plantbus.kit.registry import load_service_class
from plantbus.kit.runner import Runner
from plantbus.kit.service import Service
from plantbus.kit.settings import RunnerSettings
from plantbus.kit.tokens import TokenStore, mint
from plantbus.testing.config import write_test_keys

__all__ = [
    "as_operator",
    "hosted",
    "issue_token",
    "operator_channel",
    "operator_tls",
    "token_channel",
]


def as_operator() -> contextlib.AbstractContextManager[None]:
    """Servicers called directly in the block run as the local operator (no config)."""
    operator = Identity("operator", pki_mod.OPERATOR, "insecure")
    return serving(operator, Gate(Authenticator(None)))


def operator_tls(data_dir: Path) -> ClientTls:
    """The local operator's credential in ``data_dir``'s PKI (what the CLI presents)."""
    pki = pki_mod.Pki(data_dir / "pki")
    return ClientTls(pki.ca_cert, pki.operator.cert, pki.operator.key)


def operator_channel(runner: Runner) -> grpc.aio.Channel:
    """A channel to ``runner``'s gRPC server as the local operator."""
    return channel(runner.grpc_address, operator_tls(runner.settings.data_dir))


def token_channel(runner: Runner, token: str) -> grpc.aio.Channel:
    """A channel to ``runner``'s bearer-token port that sends ``token``."""
    assert runner.grpc is not None
    ca = pki_mod.Pki(runner.settings.data_dir / "pki").ca_cert
    return channel(runner.grpc.token_address, ClientTls(ca), token)


async def issue_token(bus: Bus, user: str, ttl_s: float = 3600.0) -> str:
    """A bearer token for ``user``, stored as governance stores one."""
    token, record = mint(user, ttl_s, "test")
    await (await TokenStore.open(bus)).create(record)
    return token


@contextlib.asynccontextmanager
async def hosted(
    services: Sequence[str | type[Service]],
    *,
    nats_url: str,
    data_dir: Path,
    options: dict[str, dict[str, Any]] | None = None,
    instance: str | None = None,
    heartbeat_interval_s: float = 0.5,
    signed: bool = True,
    insecure: bool = False,
    nats: NatsSettings | None = None,
) -> AsyncIterator[Runner]:
    """Run ``services`` (names or classes) in this event loop; yields the Runner.

    ``runner.grpc_address`` is the shared gRPC server (mTLS; :func:`operator_channel`
    reaches it), ``runner.services`` maps name to the live Service instance. The PKI
    is made under ``data_dir/pki`` (``all`` names the certificate of several services).
    Config is signed and checked with the test key
    (:data:`plantbus.testing.config.TEST_SIGNER`) unless ``signed`` is False. ``nats``
    (a NATS user and its password) replaces the anonymous connection to ``nats_url``.
    """
    classes = [load_service_class(s) if isinstance(s, str) else s for s in services]
    label = classes[0].name if len(classes) == 1 else "all"
    pki, _ = pki_mod.ensure(data_dir / "pki", [label])
    private, public = write_test_keys(data_dir / "pki") if signed else (None, None)
    tls: dict[str, Any] = (
        {"insecure": True}
        if insecure
        else {
            "tls_cert": pki.service(label).cert,
            "tls_key": pki.service(label).key,
            "tls_ca": pki.ca_cert,
        }
    )
    settings = RunnerSettings(
        services=[c.name for c in classes],
        instance=instance or f"test-{socket.gethostname()}",
        nats=nats or NatsSettings(url=nats_url),
        grpc=GrpcSettings(port=0, grace_s=1.0, **tls),
        data_dir=data_dir,
        heartbeat_interval_s=heartbeat_interval_s,
        options=options or {},
        config_signing_key=private,
        config_pubkey=public,
    )
    async with Runner(settings, classes) as runner:
        yield runner
