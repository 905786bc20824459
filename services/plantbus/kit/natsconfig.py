"""The nats-server configuration that enforces :mod:`plantbus.kit.natsauth`'s users, and
their passwords: written by ``plantbus up`` (the embedded server) and by ``plantbus
security nats-config`` (a server of your own, the NATS Helm chart on Kubernetes)."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import bcrypt

from plantbus.kit.natsgrant import Grant

__all__ = [
    "MQTT_PORT",
    "SERVER_NAME",
    "chart_values",
    "credentials_dir",
    "password_file",
    "password_variable",
    "server_config",
    "user_passwords",
    "write_config",
]

MQTT_PORT: Final = 1883
"""The MQTT listener's port where none is given."""
SERVER_NAME: Final = "plantbus"
"""The server's name, which its MQTT listener requires (a cluster's chart names each node)."""


def credentials_dir(data_dir: Path) -> Path:
    """Where ``plantbus up`` keeps its NATS users' passwords (and its server's store)."""
    return data_dir / "nats"


def password_file(directory: Path, user: str) -> Path:
    """Where ``user``'s password is kept."""
    return directory / f"{user}.password"


def _write_secret(path: Path, text: str) -> None:
    """Write a file that is 0600 from its first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def user_passwords(directory: Path, users: Iterable[str]) -> dict[str, str]:
    """Each user's password from ``directory`` (0600 files), created the first time."""
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for user in users:
        path = password_file(directory, user)
        if not path.is_file():
            _write_secret(path, secrets.token_urlsafe(32))
        out[user] = path.read_text().strip()
    return out


def _hash(password: str) -> str:
    """A bcrypt hash: nats-server compares it, and the config file holds no password."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()


def password_variable(user: str) -> str:
    """The environment variable a server config names for ``user``'s password."""
    return "PLANTBUS_NATS_PASSWORD_" + user.upper().replace("-", "_")


def _users(users: Mapping[str, Grant], password: Mapping[str, str]) -> list[dict[str, Any]]:
    """An ``authorization.users`` list: each user's (hashed or referenced) password and
    permissions."""
    return [
        {"user": name, "password": password[name], "permissions": grant.permissions()}
        for name, grant in users.items()
    ]


def server_config(
    users: Mapping[str, Grant],
    passwords: Mapping[str, str] | None,
    store_dir: str,
    *,
    port: int = 4222,
    tls: Mapping[str, object] | None = None,
    mqtt_port: int | None = MQTT_PORT,
    mqtt_host: str | None = None,
) -> str:
    """A nats-server configuration (JSON is valid nats config) with one user per entry of
    ``users``, authenticated by bcrypt hashes of ``passwords``; or, with None, by the
    server's environment variables (:func:`password_variable`, from Kubernetes Secrets).
    With ``mqtt_port`` (None: off) the server also listens for MQTT clients, on
    ``mqtt_host`` (None: every interface), with the same TLS as NATS clients."""
    secret = {
        name: _hash(passwords[name]) if passwords is not None else f"@@{name}@@" for name in users
    }
    config: dict[str, Any] = {
        "port": port,
        "jetstream": {"store_dir": store_dir},
        "authorization": {"users": _users(users, secret)},
    }
    if tls:
        config["tls"] = dict(tls)
    if mqtt_port is not None:
        config["server_name"] = SERVER_NAME
        mqtt: dict[str, Any] = {"port": mqtt_port}
        if mqtt_host:
            mqtt["host"] = mqtt_host
        if tls:
            mqtt["tls"] = dict(tls)
        config["mqtt"] = mqtt
    text = json.dumps(config, indent=2)
    for name in users if passwords is None else ():
        text = text.replace(f'"@@{name}@@"', f"${password_variable(name)}")  # unquoted: a reference
    return text


def chart_values(users: Mapping[str, Grant], secret: str = "plantbus-nats-users") -> dict[str, Any]:
    """The same users for the official NATS Helm chart: ``config.merge.authorization``
    (``<< $VAR >>`` is the chart's unquoted reference) and each password as a container
    variable from key ``<user>`` of the Secret ``secret``."""
    reference = {name: f"<< ${password_variable(name)} >>" for name in users}
    return {
        "config": {"merge": {"authorization": {"users": _users(users, reference)}}},
        "container": {
            "env": {
                password_variable(name): {
                    "valueFrom": {"secretKeyRef": {"name": secret, "key": name}}
                }
                for name in users
            }
        },
    }


def write_config(path: Path, text: str) -> Path:
    """Write a server configuration (mode 0600: it names every user and permission)."""
    _write_secret(path, text)
    return path
