"""Serves the simulated line over a real asyncua OPC UA server.

Nodes are ``ns=2;s=Line1.M1.Temperature`` style (Temperature, Power, State, Reason, Parts,
Rejects, and the writable SpeedSetpoint), refreshed from the same machine models as the
Modbus side. With a certificate it offers signed and encrypted sessions only
(Aes256_Sha256_RsaPss and Basic256Sha256, SignAndEncrypt: what ``plantbus sim`` serves);
without one, security policy None only (for tests of that refusal). Optional user/password.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from asyncua import ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.server import Server
from asyncua.server.user_managers import UserManager

from plantbus.kit.net import free_port
from plantbus.kit.tasks import cancel
from plantbus.sdk.certificates import CertificateInfo, read_der
from plantbus.sim.model import MachineSim

__all__ = ["SECURE", "PasswordUsers", "serve_opcua"]

NAMESPACE = "urn:plantbus:sim"
_FIELDS: tuple[tuple[str, str, ua.VariantType], ...] = (
    ("Temperature", "spindle_temp", ua.VariantType.Double),
    ("Power", "power", ua.VariantType.Double),
    ("Vibration", "vibration", ua.VariantType.Double),
    ("State", "state", ua.VariantType.UInt16),
    ("Reason", "reason", ua.VariantType.UInt16),
    ("Parts", "parts", ua.VariantType.UInt16),
    ("Rejects", "rejects", ua.VariantType.UInt16),
    ("SpeedSetpoint", "speed_setpoint", ua.VariantType.UInt16),
)
SECURE = (
    ua.SecurityPolicyType.Aes256Sha256RsaPss_SignAndEncrypt,
    ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
)
"""What the simulator offers with a certificate."""


class PasswordUsers(UserManager):  # type: ignore[misc]
    """Accepts exactly the given user names and passwords (and no anonymous user)."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        if username is not None and self.users.get(username) == password:
            return User(role=UserRole.User)
        return None


def _id(ns: int, name: str) -> ua.NodeId:
    return ua.NodeId.from_string(f"ns={ns};s={name}")


_Node = tuple[MachineSim, str, Any]
"""A machine, the attribute a variable shows, and the variable."""


async def _add_machines(server: Server, machines: list[MachineSim]) -> list[_Node]:
    """Line1 with a folder per machine and a variable per field; the setpoint writable."""
    ns = await server.register_namespace(NAMESPACE)
    line = await server.nodes.objects.add_object(_id(ns, "Line1"), "Line1")
    nodes: list[_Node] = []
    for machine in machines:
        folder = await line.add_object(
            _id(ns, f"Line1.{machine.name.upper()}"), machine.name.upper()
        )
        for label, attr, vtype in _FIELDS:
            node_id = _id(ns, f"Line1.{machine.name.upper()}.{label}")
            var = await folder.add_variable(
                node_id, label, ua.Variant(getattr(machine, attr), vtype)
            )
            if attr == "speed_setpoint":
                await var.set_writable()
            nodes.append((machine, attr, var))
    return nodes


async def _refresh(nodes: list[_Node], clock: Callable[[], float]) -> None:
    """Step the machines and show their values; take setpoints written by clients."""
    shown: dict[int, int] = {}  # setpoint node -> the value it held at the last pass
    while True:
        await _refresh_once(nodes, clock(), shown)
        await asyncio.sleep(0.5)


async def _refresh_once(nodes: list[_Node], now: float, shown: dict[int, int]) -> None:
    """One pass. A setpoint an OPC UA client changed goes to the machine; one changed on the
    machine (a Modbus write: both servers share it) is shown, never overwritten."""
    vtypes = {attr: vtype for _, attr, vtype in _FIELDS}
    for machine, attr, var in nodes:
        if attr == "speed_setpoint":
            held = int(await var.read_value())
            if held != shown.get(id(var), held):
                machine.speed_setpoint = held
            elif held != machine.speed_setpoint:
                await var.write_value(ua.Variant(machine.speed_setpoint, vtypes[attr]))
            shown[id(var)] = machine.speed_setpoint
            continue
        machine.step(now)
        await var.write_value(ua.Variant(getattr(machine, attr), vtypes[attr]))


@asynccontextmanager
async def serve_opcua(
    machines: list[MachineSim],
    clock: Callable[[], float],
    host: str = "127.0.0.1",
    port: int = 0,
    certificate: Path | None = None,
    private_key: Path | None = None,
    users: dict[str, str] | None = None,
    policies: Sequence[ua.SecurityPolicyType] = SECURE,
) -> AsyncIterator[str]:
    """Run the server; yields its endpoint URL. ``policies`` apply with a certificate."""
    server = Server(user_manager=PasswordUsers(users) if users else None)
    await server.init()
    port = port or free_port(host)
    endpoint = f"opc.tcp://{host}:{port}"
    server.set_endpoint(endpoint)
    server.set_server_name("Plantbus simulated line")
    if certificate and private_key:
        der = read_der(certificate)
        await server.set_application_uri(CertificateInfo.of(der).uris[0])
        await server.load_certificate(der)
        await server.load_private_key(str(private_key))
        server.set_security_policy(list(policies))
    else:
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    if users:
        server.set_identity_tokens([ua.UserNameIdentityToken])
    nodes = await _add_machines(server, machines)
    try:
        await server.start()
    except OSError as err:
        raise OSError(f"cannot listen for OPC UA on {host}:{port}: port in use?") from err

    task = asyncio.create_task(_refresh(nodes, clock), name="opcua-sim")
    try:
        yield endpoint
    finally:
        await cancel(task)
        await server.stop()
