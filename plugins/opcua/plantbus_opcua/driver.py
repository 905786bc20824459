"""The OPC UA driver (asyncua): batched reads, typed writes, monitored-item subscriptions,
browse, security policy Basic256Sha256 with certificates, and user/password identity.

OPC UA status codes become quality: Good -> GOOD, Uncertain -> UNCERTAIN, Bad -> BAD with
the status name (for example ``BadNodeIdUnknown``) as the reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.uaerrors import UaError, UaStatusCodeError
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from plantbus.sdk import API_VERSION
from plantbus.sdk.driver import (
    BrowseNode,
    DataType,
    Driver,
    Quality,
    Reading,
    Scalar,
    SupportsBrowse,
    SupportsSubscribe,
    TagRef,
)
from plantbus.sdk.errors import DeviceAuthFailed, DeviceUnavailable, DriverConfigError, describe
from plantbus.sdk.plugin import PluginManifest

__all__ = ["OpcUaDriver", "OpcUaSettings", "quality_of"]

_AUTH = {
    "BadUserAccessDenied",
    "BadIdentityTokenInvalid",
    "BadIdentityTokenRejected",
    "BadSecurityChecksFailed",
    "BadCertificateUntrusted",
    "BadCertificateInvalid",
}


class OpcUaSettings(BaseModel):
    """Connection and security settings of one OPC UA server."""

    model_config = ConfigDict(extra="forbid")
    security_policy: Literal["None", "Basic256Sha256"] = "None"
    security_mode: Literal["Sign", "SignAndEncrypt"] = "SignAndEncrypt"
    certificate: Path | None = None
    """The client's certificate (DER or PEM); required with a security policy."""
    private_key: Path | None = None
    server_certificate: Path | None = None
    """Pin the server's certificate; when unset it is taken from the endpoint list."""
    application_uri: str = "urn:plantbus:client"
    username: str | None = None
    password: SecretStr | None = None
    timeout_s: float = Field(default=4.0, gt=0)


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


class OpcUaDriver(Driver, SupportsSubscribe, SupportsBrowse):
    """OPC UA client."""

    manifest = PluginManifest("opcua", "0.1.0", API_VERSION, "OPC UA (asyncua)")
    Settings = OpcUaSettings
    schemes = ("opc.tcp",)

    def __init__(self, endpoint: str, settings: BaseModel) -> None:
        super().__init__(endpoint, settings)
        assert isinstance(settings, OpcUaSettings)
        self.config = settings
        self._client: Client | None = None

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

    async def connect(self) -> None:
        """Open the secure channel and session."""
        await self.close()
        s = self.config
        client = Client(self.endpoint, timeout=s.timeout_s)
        client.session_timeout = 600_000  # what servers commonly grant; avoids a warning
        client.application_uri = s.application_uri
        if s.username:
            client.set_user(s.username)
            if s.password:
                client.set_password(s.password.get_secret_value())
        try:
            if s.security_policy == "Basic256Sha256":
                if not (s.certificate and s.private_key):
                    raise DriverConfigError(
                        f"{self.endpoint}: Basic256Sha256 needs certificate and private_key"
                    )
                await client.set_security(
                    SecurityPolicyBasic256Sha256,
                    str(s.certificate),
                    str(s.private_key),
                    server_certificate=str(s.server_certificate) if s.server_certificate else None,
                    mode=getattr(ua.MessageSecurityMode, s.security_mode),
                )
            await client.connect()
        except UaStatusCodeError as err:
            with contextlib.suppress(Exception):
                await client.disconnect()
            name = ua.StatusCode(err.code).name
            if name in _AUTH:
                raise DeviceAuthFailed(f"{self.endpoint}: {name}") from err
            raise DeviceUnavailable(f"{self.endpoint}: {name}") from err
        except (OSError, TimeoutError, UaError) as err:
            raise DeviceUnavailable(f"{self.endpoint}: {describe(err)}") from err
        self._client = client

    async def close(self) -> None:
        """Close the session; safe to call twice."""
        client, self._client = self._client, None
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
