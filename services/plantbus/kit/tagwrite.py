"""A tag write for a configured user: the device service's ``WriteTag`` over gRPC, made by a
bridge service (Sparkplug DCMD, MQTT ``_set``) with its own certificate and the
``x-plantbus-user`` header of the plant user it acts for. The device service believes that
header only for the users the running config gives the bridge
(:meth:`plantbus.kit.identity.Identity.may_act_for`), so the same roles and write policies
decide as for a write from the CLI, and the device service audits it.
"""

from __future__ import annotations

from typing import Final

import grpc

from plantbus.kit.bus import Bus
from plantbus.kit.discovery import grpc_address
from plantbus.kit.grpc_client import ClientTls, channel
from plantbus.kit.identity import USER_HEADER
from plantbus.sdk.errors import PlantbusError
from plantbus.v1 import device_pb2, device_pb2_grpc, service_pb2, telemetry_pb2

__all__ = ["DENIED", "FAILED", "SUCCESS", "write_tag"]

SUCCESS: Final = service_pb2.AUDIT_OUTCOME_SUCCESS
DENIED: Final = service_pb2.AUDIT_OUTCOME_DENIED
FAILED: Final = service_pb2.AUDIT_OUTCOME_FAILED
_TIMEOUT_S: Final = 15.0
_REFUSALS: Final = frozenset(
    {
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.UNAUTHENTICATED,
    }
)
"""What the caller caused (audited as denied); any other status is a failure of the hub."""


async def write_tag(
    bus: Bus,
    tls: ClientTls | None,
    request: device_pb2.WriteTagRequest,
    user: str,
) -> tuple[service_pb2.AuditOutcome, str]:
    """``WriteTag(request)`` as ``user``: (audit outcome, detail for the audit and the caller)."""
    shown = _shown(request.value)
    try:
        address = await grpc_address(bus, "device")
        async with channel(address, tls) as chan:
            reply = await device_pb2_grpc.DeviceServiceStub(chan).WriteTag(
                request, metadata=((USER_HEADER, user),), timeout=_TIMEOUT_S
            )
    except grpc.aio.AioRpcError as err:
        return (DENIED if err.code() in _REFUSALS else FAILED), f"{shown}: {err.details()}"
    except PlantbusError as err:
        return FAILED, f"{shown}: {err}"
    return SUCCESS, f"{shown} written (policy {reply.policy})"


def _shown(value: telemetry_pb2.TagValue) -> str:
    kind = value.WhichOneof("kind")
    return repr(getattr(value, kind)) if kind else "no value"
