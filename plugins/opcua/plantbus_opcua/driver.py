"""The OPC UA driver (asyncua): batched reads, typed writes, monitored-item subscriptions,
browse, signed and encrypted sessions by default, and user/password identity.

Security: by default the driver takes the strongest of Aes256_Sha256_RsaPss and
Basic256Sha256 (SignAndEncrypt) that the server offers, presents the hub's own application
instance certificate (made on first use in ``<data_dir>/pki/opcua/own/``) and opens the
session only when the server's certificate is in the trust list
(``<data_dir>/pki/opcua/trusted/``, filled by ``plantbus devices trust``). Security policy
None is used only when the device's settings say ``security: None``.

OPC UA status codes become quality: Good -> GOOD, Uncertain -> UNCERTAIN, Bad -> BAD with
the status name (for example ``BadNodeIdUnknown``) as the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.crypto.security_policies import (
    SecurityPolicy,
    SecurityPolicyAes256Sha256RsaPss,
    SecurityPolicyBasic256Sha256,
    SecurityPolicyNone,
)
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.uaerrors import UaError, UaStatusCodeError
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, model_validator

from plantbus.sdk import API_VERSION
from plantbus.sdk.certificates import (
    CertificateInfo,
    TrustList,
    ensure_self_signed,
    fingerprint,
    pki_dir,
    read_der,
)
from plantbus.sdk.driver import (
    BrowseNode,
    DataType,
    Driver,
    Quality,
    Reading,
    Scalar,
    SupportsBrowse,
    SupportsServerTrust,
    SupportsSubscribe,
    TagRef,
)
from plantbus.sdk.errors import DeviceAuthFailed, DeviceUnavailable, DriverConfigError, describe
from plantbus.sdk.plugin import PluginManifest

__all__ = ["SECURE_POLICIES", "OpcUaDriver", "OpcUaSettings", "quality_of"]

_AUTH = {
    "BadUserAccessDenied",
    "BadIdentityTokenInvalid",
    "BadIdentityTokenRejected",
    "BadSecurityChecksFailed",
    "BadCertificateUntrusted",
    "BadCertificateInvalid",
}

SECURE_POLICIES: dict[str, type[SecurityPolicy]] = {
    "Aes256_Sha256_RsaPss": SecurityPolicyAes256Sha256RsaPss,
    "Basic256Sha256": SecurityPolicyBasic256Sha256,
}
"""The policies the driver speaks, strongest first (``security: auto`` takes the first the
server offers)."""
_NAMES = ("auto", "None", *SECURE_POLICIES)
_POLICY_URIS = {"None": SecurityPolicyNone.URI, **{n: p.URI for n, p in SECURE_POLICIES.items()}}


def _canonical(value: object) -> object:
    """``none``, ``NONE`` and ``basic256sha256`` mean what they say."""
    if isinstance(value, str):
        return next((n for n in _NAMES if n.lower() == value.lower()), value)
    return value


class OpcUaSettings(BaseModel):
    """Connection and security settings of one OPC UA server."""

    model_config = ConfigDict(extra="forbid")
    security: Annotated[
        Literal["auto", "None", "Aes256_Sha256_RsaPss", "Basic256Sha256"],
        BeforeValidator(_canonical),
    ] = "auto"
    """``auto``: the strongest policy of SECURE_POLICIES the server offers; a policy name:
    that one only; ``None``: neither signed nor encrypted, only when said here."""
    security_mode: Literal["Sign", "SignAndEncrypt"] = "SignAndEncrypt"
    certificate: Path | None = None
    """The client's certificate (DER or PEM), its application URI in the subjectAltName;
    default: the hub's own, made on first use in ``<data_dir>/pki/opcua/own/``."""
    private_key: Path | None = None
    server_certificate: Path | None = None
    """Pin the server's certificate (DER or PEM) instead of trusting the trust list."""
    username: str | None = None
    password: SecretStr | None = None
    timeout_s: float = Field(default=4.0, gt=0)

    @model_validator(mode="after")
    def _key_with_certificate(self) -> OpcUaSettings:
        if (self.certificate is None) != (self.private_key is None):
            raise ValueError("certificate and private_key go together: set both or neither")
        return self


def quality_of(status: ua.StatusCode) -> tuple[Quality, str]:
    """Quality and reason for an OPC UA status code."""
    if status.is_good():
        return Quality.GOOD, ""
    name = status.name
    return (Quality.UNCERTAIN if status.is_uncertain() else Quality.BAD), name


def _scalar(value: Any) -> Scalar:
    if isinstance(value, bool | int | float | str | bytes):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _label(endpoint: ua.EndpointDescription) -> str:
    """``Basic256Sha256 SignAndEncrypt``, or ``None``."""
    policy = endpoint.SecurityPolicyUri.rpartition("#")[2]
    return policy if policy == "None" else f"{policy} {endpoint.SecurityMode.name}"


def _leaf(der: bytes) -> bytes:
    """The server's own certificate when it sends its chain with it (DER back to back)."""
    if len(der) < 4 or der[1] < 0x80:
        return der
    size = der[1] & 0x7F
    return der[: 2 + size + int.from_bytes(der[2 : 2 + size], "big")]


def _node_id(tag: TagRef) -> ua.NodeId:
    try:
        return ua.NodeId.from_string(tag.address)
    except Exception as err:
        raise DriverConfigError(
            f"tag {tag.name!r}: bad node id {tag.address!r}; use e.g. ns=2;s=Line1.M1.Temperature"
        ) from err


class _Handler:
    """asyncua subscription callbacks -> Readings."""

    def __init__(self, tags: dict[str, str], on_reading: Callable[[Reading], None]) -> None:
        self.tags = tags
        self.on_reading = on_reading

    def datachange_notification(self, node: Node, value: Any, data: Any) -> None:
        name = self.tags.get(node.nodeid.to_string())
        if name is None:
            return
        dv = data.monitored_item.Value
        quality, reason = quality_of(dv.StatusCode or ua.StatusCode())
        self.on_reading(
            Reading(
                name,
                _scalar(value) if quality != Quality.BAD else None,
                quality,
                reason,
                dv.SourceTimestamp,
            )
        )

    def status_change_notification(self, status: Any) -> None:
        """The subscription itself failed; the runtime notices on the next full read."""


class OpcUaDriver(Driver[OpcUaSettings], SupportsSubscribe, SupportsBrowse, SupportsServerTrust):
    """OPC UA client."""

    manifest = PluginManifest("opcua", "0.2.0", API_VERSION, "OPC UA (asyncua)")
    Settings = OpcUaSettings
    schemes = ("opc.tcp",)

    def __init__(self, endpoint: str, settings: OpcUaSettings) -> None:
        super().__init__(endpoint, settings)
        self._client: Client | None = None
        self._security = ""

    @classmethod
    def validate_tag(cls, tag: TagRef) -> None:
        """The address must be a node id."""
        _node_id(tag)

    @classmethod
    def tag_from_address(cls, address: str) -> TagRef:
        """A node id typed on the command line; the server says the type."""
        return TagRef(address, address, DataType.FLOAT64, writable=True)

    @property
    def client(self) -> Client:
        """The connected client; DeviceUnavailable when not connected."""
        if self._client is None:
            raise DeviceUnavailable(f"{self.endpoint}: not connected")
        return self._client

    def security(self) -> str:
        """The open session's policy and mode, e.g. ``Basic256Sha256 SignAndEncrypt``."""
        return self._security

    @property
    def _who(self) -> str:
        """How errors name the device: its config name and endpoint, or the URL probed."""
        device = self.context.device
        if device and device != self.endpoint:
            return f"device {device!r} ({self.endpoint})"
        return self.endpoint

    async def connect(self) -> None:
        """Open the secure channel and session."""
        await self.close()
        s = self.settings
        client = Client(self.endpoint, timeout=s.timeout_s)
        client.session_timeout = 600_000  # what servers commonly grant; avoids a warning
        if s.username:
            client.set_user(s.username)
            if s.password:
                client.set_password(s.password.get_secret_value())
        try:
            name, endpoint = self._choose(await client.connect_and_get_server_endpoints())
            if name != "None":
                await self._secure(client, name, endpoint)
            await client.connect()
        except UaStatusCodeError as err:
            with contextlib.suppress(Exception):
                await client.disconnect()
            name = ua.StatusCode(err.code).name
            if name in _AUTH:
                raise DeviceAuthFailed(f"{self._who}: {name}") from err
            raise DeviceUnavailable(f"{self._who}: {name}") from err
        except (OSError, TimeoutError, UaError) as err:
            raise DeviceUnavailable(f"{self._who}: {describe(err)}") from err
        self._client = client
        self._security = _label(endpoint)

    async def server_certificate(self) -> bytes:
        """The certificate of the endpoint ``connect()`` would choose."""
        if self.settings.security == "None":
            raise DriverConfigError(f"{self._who}: security None uses no server certificate")
        client = Client(self.endpoint, timeout=self.settings.timeout_s)
        try:
            endpoints = await client.connect_and_get_server_endpoints()
        except (OSError, TimeoutError, UaError) as err:
            raise DeviceUnavailable(f"{self._who}: {describe(err)}") from err
        _, endpoint = self._choose(endpoints)
        return self._server_der(endpoint)

    def _server_der(self, endpoint: ua.EndpointDescription) -> bytes:
        """The endpoint's server certificate; DeviceAuthFailed when there is none to read."""
        der = _leaf(endpoint.ServerCertificate or b"")
        try:
            CertificateInfo.of(der)
        except ValueError as err:
            raise DeviceAuthFailed(
                f"{self._who}: the server presents no readable certificate ({err})"
            ) from err
        return der

    async def _secure(self, client: Client, name: str, endpoint: ua.EndpointDescription) -> None:
        """Check the server's certificate and present ours."""
        server = self._server_der(endpoint)
        self._check_trusted(server)
        own, key = await asyncio.to_thread(self._own_certificate)
        uris = CertificateInfo.of(own).uris
        if not uris:
            raise DriverConfigError(
                f"{self._who}: the client certificate has no application URI in its "
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

    def _choose(self, endpoints: Sequence[ua.EndpointDescription]) -> tuple[str, Any]:
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
                uri = _POLICY_URIS[name]
                if endpoint.SecurityPolicyUri == uri and endpoint.SecurityMode == mode:
                    return name, endpoint
        offered = ", ".join(sorted({_label(e) for e in endpoints})) or "no endpoint"
        if s.security == "None":
            asked = "None"
            fix = "remove security: None from the device's settings (or leave out --security)"
        else:
            asked = f"{' or '.join(wanted)} {mode.name}"
            fix = (
                "set security (and security_mode) to what the server offers; None only where "
                "the server cannot sign and encrypt"
            )
        raise DriverConfigError(f"{self._who}: the server offers {offered}, not {asked}; {fix}")

    def _check_trusted(self, server: bytes) -> None:
        """DeviceAuthFailed unless ``server`` is pinned or in the trust list."""
        pinned = self.settings.server_certificate
        if pinned is not None:
            expected = self._read(pinned)
            if server != expected:
                raise DeviceAuthFailed(
                    f"{self._who}: the server's certificate (SHA-256 {fingerprint(server)}) is "
                    f"not the one pinned in server_certificate {pinned} "
                    f"(SHA-256 {fingerprint(expected)})"
                )
            return
        trusted = TrustList.of(self._data_dir("the trust list"), "opcua")
        if not trusted.contains(server):
            info = CertificateInfo.of(server)
            target = self.context.device or self.endpoint
            raise DeviceAuthFailed(
                f"{self._who}: the server's certificate is not trusted (SHA-256 "
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
                f"{self._who}: cannot keep the client certificate in {own}: {err}"
            ) from err
        return der, own / "key.pem"

    def _read(self, path: Path) -> bytes:
        try:
            return read_der(path)
        except (OSError, ValueError) as err:
            raise DriverConfigError(f"{self._who}: cannot read certificate {path}: {err}") from err

    def _data_dir(self, what: str) -> Path:
        if self.context.data_dir is None:
            raise DriverConfigError(
                f"{self._who}: no data dir to keep {what} in; set certificate, private_key "
                "and server_certificate in the device's settings"
            )
        return self.context.data_dir

    async def close(self) -> None:
        """Close the session; safe to call twice."""
        client, self._client = self._client, None
        self._security = ""
        if client is not None:
            with contextlib.suppress(Exception):
                await client.disconnect()

    async def read(self, tags: Sequence[TagRef]) -> list[Reading]:
        """One Read service call for every tag."""
        out: list[Reading | None] = [None] * len(tags)
        nodes, index = [], []
        for i, tag in enumerate(tags):
            try:
                nodes.append(self.client.get_node(_node_id(tag)))
                index.append(i)
            except DriverConfigError as err:
                out[i] = Reading.bad(tag.name, str(err))
        if nodes:
            try:
                values = await self.client.read_attributes(nodes, AttributeIds.Value)
            except (OSError, TimeoutError, UaError, ConnectionError) as err:
                raise DeviceUnavailable(f"{self.endpoint}: {describe(err)}") from err
            for i, dv in zip(index, values, strict=True):
                quality, reason = quality_of(dv.StatusCode or ua.StatusCode())
                value = _scalar(dv.Value.Value) if quality != Quality.BAD and dv.Value else None
                out[i] = Reading(tags[i].name, value, quality, reason, dv.SourceTimestamp)
        return [
            r if r is not None else Reading.bad(t.name, "not read")
            for r, t in zip(out, tags, strict=True)
        ]

    async def write(self, tag: TagRef, value: Scalar) -> None:
        """Write with the node's own variant type."""
        node = self.client.get_node(_node_id(tag))
        try:
            vtype = await node.read_data_type_as_variant_type()
            await node.write_value(ua.DataValue(ua.Variant(value, vtype)))
        except UaStatusCodeError as err:
            raise DriverConfigError(
                f"tag {tag.name!r}: server refused the write: {ua.StatusCode(err.code).name}"
            ) from err
        except (OSError, TimeoutError, UaError) as err:
            raise DeviceUnavailable(f"{self.endpoint}: {describe(err)}") from err

    async def subscribe(
        self,
        tags: Sequence[TagRef],
        on_reading: Callable[[Reading], None],
        sampling_interval_s: float,
    ) -> None:
        """Monitored items for every tag, delivered to ``on_reading``."""
        by_id = {_node_id(t).to_string(): t.name for t in tags}
        period_ms = max(10.0, sampling_interval_s * 1000)
        subscription = await self.client.create_subscription(period_ms, _Handler(by_id, on_reading))
        nodes = [self.client.get_node(node_id) for node_id in by_id]
        await subscription.subscribe_data_change(nodes, sampling_interval=ua.Double(period_ms))

    async def browse(self, address: str | None = None, depth: int = 1) -> list[BrowseNode]:
        """Children of ``address`` (the Objects folder when None), ``depth`` levels deep."""
        start = (
            self.client.nodes.objects
            if address is None
            else self.client.get_node(_node_id(TagRef("browse", address, DataType.STRING)))
        )
        return await self._children(start, depth)

    async def _children(self, node: Node, depth: int) -> list[BrowseNode]:
        out = []
        for child in await node.get_children():
            name = (await child.read_browse_name()).Name
            node_class = await child.read_node_class()
            variable = node_class == ua.NodeClass.Variable
            data_type = ""
            if variable:
                with contextlib.suppress(Exception):
                    data_type = (await child.read_data_type_as_variant_type()).name
            grandchildren = await self._children(child, depth - 1) if depth > 1 else []
            out.append(
                BrowseNode(
                    address=child.nodeid.to_string(),
                    name=name,
                    data_type=data_type,
                    has_children=not variable,
                    writable=variable,
                    children=grandchildren,
                )
            )
        return out
