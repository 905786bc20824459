"""The OPC UA driver (asyncua): batched reads, typed writes, monitored-item subscriptions,
browse, signed and encrypted sessions by default, and user/password identity.

Security (:mod:`plantbus_opcua.security`): by default the driver takes the strongest of
Aes256_Sha256_RsaPss and Basic256Sha256 (SignAndEncrypt) that the server offers, presents
the hub's own application instance certificate (made on first use in
``<data_dir>/pki/opcua/own/``) and opens the session only when the server's certificate is
in the trust list (``<data_dir>/pki/opcua/trusted/``, filled by ``plantbus devices
trust``). Security policy None is used only when the device's settings say ``security: None``.

OPC UA status codes become quality: Good -> GOOD, Uncertain -> UNCERTAIN, Bad -> BAD with
the status name (for example ``BadNodeIdUnknown``) as the reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.uaerrors import UaError, UaStatusCodeError

from plantbus.sdk import API_VERSION
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
from plantbus_opcua.security import SessionSecurity, label
from plantbus_opcua.settings import SECURE_POLICIES, OpcUaSettings

__all__ = ["SECURE_POLICIES", "OpcUaDriver", "OpcUaSettings", "quality_of"]

_AUTH = {
    "BadUserAccessDenied",
    "BadIdentityTokenInvalid",
    "BadIdentityTokenRejected",
    "BadSecurityChecksFailed",
    "BadCertificateUntrusted",
    "BadCertificateInvalid",
}


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
        security = self._session_security()
        try:
            name, endpoint = security.choose(await client.connect_and_get_server_endpoints())
            if name != "None":
                await security.apply(client, name, endpoint)
            await client.connect()
        except UaStatusCodeError as err:
            with contextlib.suppress(Exception):
                await client.disconnect()
            name = ua.StatusCode(err.code).name
            if name in _AUTH:
                raise DeviceAuthFailed(f"{security.who}: {name}") from err
            raise DeviceUnavailable(f"{security.who}: {name}") from err
        except (OSError, TimeoutError, UaError) as err:
            raise DeviceUnavailable(f"{security.who}: {describe(err)}") from err
        self._client = client
        self._security = label(endpoint)

    async def server_certificate(self) -> bytes:
        """The certificate of the endpoint ``connect()`` would choose."""
        security = self._session_security()
        if self.settings.security == "None":
            raise DriverConfigError(f"{security.who}: security None uses no server certificate")
        client = Client(self.endpoint, timeout=self.settings.timeout_s)
        try:
            endpoints = await client.connect_and_get_server_endpoints()
        except (OSError, TimeoutError, UaError) as err:
            raise DeviceUnavailable(f"{security.who}: {describe(err)}") from err
        _, endpoint = security.choose(endpoints)
        return security.server_der(endpoint)

    def _session_security(self) -> SessionSecurity:
        """Read at every connect: the host sets ``context`` after construction."""
        return SessionSecurity(self.endpoint, self.settings, self.context)

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
