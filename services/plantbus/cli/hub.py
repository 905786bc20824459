"""How commands find a running hub: the data dir's runtime file, or a NATS URL.

``plantbus up`` writes ``<data-dir>/runtime.json`` with the NATS URL and every
service's gRPC address; every other command reads it. ``--nats-url`` or
``PLANTBUS_NATS_URL`` override the NATS URL; gRPC addresses then come from the
services' heartbeats. The NATS credential is the local operator's, from the data dir
(``nats/operator.password``, written by ``plantbus up``), unless PLANTBUS_NATS_USER,
_CREDS or _TOKEN name another; runtime.json holds no secret.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import SecretStr

from plantbus.cli.exits import CliError, Exit
from plantbus.kit import natsauth, natsconfig
from plantbus.kit.bus import Bus, NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.kit.settings import from_env

__all__ = ["Hub", "default_data_dir", "hub_options"]

F = TypeVar("F", bound=Callable[..., Any])
RUNTIME_FILE = "runtime.json"


def default_data_dir() -> Path:
    """$PLANTBUS_DATA_DIR, else $XDG_DATA_HOME/plantbus, else ~/.local/share/plantbus."""
    if env := os.environ.get("PLANTBUS_DATA_DIR"):
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "plantbus"


@dataclass
class Hub:
    """Where the hub's NATS and services are."""

    data_dir: Path
    nats_url_override: str | None = None
    runtime: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def locate(cls, data_dir: Path | None, nats_url: str | None) -> Hub:
        """Read the runtime file if there is one."""
        hub = cls(data_dir or default_data_dir(), nats_url)
        path = hub.data_dir / RUNTIME_FILE
        if path.is_file():
            try:
                hub.runtime = json.loads(path.read_text())
            except ValueError:
                hub.runtime = {}
        return hub

    @property
    def nats_url(self) -> str:
        """The NATS URL to use; raises a click error saying how to point at a hub."""
        url = self.nats_url_override or self.runtime.get("nats_url")
        if not url:
            raise CliError(
                f"no running hub found in {self.data_dir} (no {RUNTIME_FILE}); start one with "
                "'plantbus up', or pass --nats-url / set PLANTBUS_NATS_URL",
                Exit.UNREACHABLE,
            )
        return str(url)

    def nats_settings(self, name: str = "plantbus-cli", *, url: str | None = None) -> NatsSettings:
        """How a command connects to the hub's NATS: as the local operator when the data
        dir has its credential and the environment names no other."""
        settings, _ = from_env(url or self.nats_url)
        password = natsconfig.password_file(natsconfig.credentials_dir(self.data_dir), "operator")
        if not (settings.user or settings.creds_file or settings.token) and password.is_file():
            settings = settings.model_copy(
                update={
                    "user": natsauth.OPERATOR,
                    "password": SecretStr(password.read_text().strip()),
                }
            )
        return settings.model_copy(update={"name": name})

    async def connect(self) -> Bus:
        """A bus connection to the hub for one command: it fails within 3 s when NATS is
        not there (a person is waiting), instead of retrying like a service."""
        return await connect(self.nats_settings().model_copy(update={"connect_timeout_s": 3}))

    def write_runtime(self, runtime: dict[str, Any]) -> Path:
        """Record where everything listens (called by plantbus up)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / RUNTIME_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(runtime, indent=2))
        tmp.replace(path)
        self.runtime = runtime
        return path

    def clear_runtime(self) -> None:
        """Remove the runtime file (on shutdown)."""
        (self.data_dir / RUNTIME_FILE).unlink(missing_ok=True)


def hub_options(func: F) -> F:
    """Add --data-dir and --nats-url to a command and pass a located ``hub``."""

    @click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="PLANTBUS_DATA_DIR",
        help="Hub data directory (default: per-user, ~/.local/share/plantbus).",
    )
    @click.option("--nats-url", envvar="PLANTBUS_NATS_URL", help="NATS URL of the hub.")
    @functools.wraps(func)
    def wrapper(*args: Any, data_dir: Path | None, nats_url: str | None, **kwargs: Any) -> Any:
        return func(*args, hub=Hub.locate(data_dir, nats_url), **kwargs)

    return wrapper  # type: ignore[return-value]
