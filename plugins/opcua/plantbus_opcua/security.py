"""How the OPC UA driver secures a session: the endpoint with the strongest policy it
accepts, the server's certificate checked against the pinned one or the trust list of the
hub's data dir (``<data_dir>/pki/opcua/trusted/``), and the client's own certificate (from
the settings, or the hub's, made on first use in ``<data_dir>/pki/opcua/own/``)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from asyncua import ua
from asyncua.client.client import Client

from plantbus.sdk.certificates import (
    CertificateInfo,
    TrustList,
    ensure_self_signed,
    fingerprint,
    pki_dir,
    read_der,
)
from plantbus.sdk.driver import DriverContext
from plantbus.sdk.errors import DeviceAuthFailed, DriverConfigError
from plantbus_opcua.settings import POLICY_URIS, SECURE_POLICIES, OpcUaSettings

__all__ = ["SessionSecurity", "label", "leaf"]


def label(endpoint: ua.EndpointDescription) -> str:
    """``Basic256Sha256 SignAndEncrypt``, or ``None``."""
    policy = endpoint.SecurityPolicyUri.rpartition("#")[2]
    return policy if policy == "None" else f"{policy} {endpoint.SecurityMode.name}"


def leaf(der: bytes) -> bytes:
    """The server's own certificate when it sends its chain with it (DER back to back)."""
    if len(der) < 4 or der[1] < 0x80:
        return der
    size = der[1] & 0x7F
    return der[: 2 + size + int.from_bytes(der[2 : 2 + size], "big")]


class SessionSecurity:
    """The security of one device's sessions, by its settings and where it runs."""

    def __init__(self, endpoint: str, settings: OpcUaSettings, context: DriverContext) -> None:
        self.endpoint = endpoint
        self.settings = settings
        self.context = context

    @property
    def who(self) -> str:
        """How errors name the device: its config name and endpoint, or the URL probed."""
        device = self.context.device
        if device and device != self.endpoint:
            return f"device {device!r} ({self.endpoint})"
        return self.endpoint

    def server_der(self, endpoint: ua.EndpointDescription) -> bytes:
        """The endpoint's server certificate; DeviceAuthFailed when there is none to read."""
        der = leaf(endpoint.ServerCertificate or b"")
        try:
            CertificateInfo.of(der)
        except ValueError as err:
            raise DeviceAuthFailed(
                f"{self.who}: the server presents no readable certificate ({err})"
            ) from err
        return der

    async def apply(self, client: Client, name: str, endpoint: ua.EndpointDescription) -> None:
        """Check the server's certificate and present ours, for policy ``name``."""
        server = self.server_der(endpoint)
        self._check_trusted(server)
        own, key = await asyncio.to_thread(self._own_certificate)
        uris = CertificateInfo.of(own).uris
        if not uris:
            raise DriverConfigError(
                f"{self.who}: the client certificate has no application URI in its "
                "subjectAltName, which OPC UA requires"
            )
        client.application_uri = uris[0]
        await client.set_security(
            SECURE_POLICIES[name],
            own,
            str(key),
            server_certificate=server,
            mode=endpoint.SecurityMode,
        )

    def choose(self, endpoints: Sequence[ua.EndpointDescription]) -> tuple[str, Any]:
        """The wanted policy the server offers first (the strongest for ``auto``) and its
        endpoint; DriverConfigError saying what it offers instead."""
        s = self.settings
        wanted = list(SECURE_POLICIES) if s.security == "auto" else [s.security]
        mode = (
            ua.MessageSecurityMode.None_
            if s.security == "None"
            else getattr(ua.MessageSecurityMode, s.security_mode)
        )
        for name in wanted:
            for endpoint in endpoints:
                uri = POLICY_URIS[name]
                if endpoint.SecurityPolicyUri == uri and endpoint.SecurityMode == mode:
                    return name, endpoint
        offered = ", ".join(sorted({label(e) for e in endpoints})) or "no endpoint"
        if s.security == "None":
            asked = "None"
            fix = "remove security: None from the device's settings (or leave out --security)"
        else:
            asked = f"{' or '.join(wanted)} {mode.name}"
            fix = (
                "set security (and security_mode) to what the server offers; None only where "
                "the server cannot sign and encrypt"
            )
        raise DriverConfigError(f"{self.who}: the server offers {offered}, not {asked}; {fix}")

    def _check_trusted(self, server: bytes) -> None:
        """DeviceAuthFailed unless ``server`` is pinned or in the trust list."""
        pinned = self.settings.server_certificate
        if pinned is not None:
            expected = self._read(pinned)
            if server != expected:
                raise DeviceAuthFailed(
                    f"{self.who}: the server's certificate (SHA-256 {fingerprint(server)}) is "
                    f"not the one pinned in server_certificate {pinned} "
                    f"(SHA-256 {fingerprint(expected)})"
                )
            return
        trusted = TrustList.of(self._data_dir("the trust list"), "opcua")
        if not trusted.contains(server):
            info = CertificateInfo.of(server)
            target = self.context.device or self.endpoint
            raise DeviceAuthFailed(
                f"{self.who}: the server's certificate is not trusted (SHA-256 "
                f"{info.fingerprint}, {info.subject}); check that fingerprint on the server, "
                f"then trust it with: plantbus devices trust {target} "
                f"(trust list {trusted.directory})"
            )

    def _own_certificate(self) -> tuple[bytes, Path]:
        """The client's certificate (DER) and key file: from the settings, or the hub's own."""
        s = self.settings
        if s.certificate is not None and s.private_key is not None:
            return self._read(s.certificate), s.private_key
        own = pki_dir(self._data_dir("the client certificate"), "opcua") / "own"
        host = socket.gethostname()
        try:
            der = ensure_self_signed(
                own / "cert.der",
                own / "key.pem",
                name=f"Plantbus@{host}",
                uri=f"urn:{host}:plantbus",
                hosts=[host],
            )
        except (OSError, ValueError) as err:
            raise DriverConfigError(
                f"{self.who}: cannot keep the client certificate in {own}: {err}"
            ) from err
        return der, own / "key.pem"

    def _read(self, path: Path) -> bytes:
        try:
            return read_der(path)
        except (OSError, ValueError) as err:
            raise DriverConfigError(f"{self.who}: cannot read certificate {path}: {err}") from err

    def _data_dir(self, what: str) -> Path:
        if self.context.data_dir is None:
            raise DriverConfigError(
                f"{self.who}: no data dir to keep {what} in; set certificate, private_key "
                "and server_certificate in the device's settings"
            )
        return self.context.data_dir
