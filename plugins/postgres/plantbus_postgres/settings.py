"""The PostgreSQL store's settings, and its error for a failed statement."""

from __future__ import annotations

from typing import Final, Literal

import psycopg
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from plantbus.sdk.historian import StoreFull, StoreUnavailable

__all__ = ["PostgresSettings", "failure"]

_FULL: Final = {"53100", "53200", "53400"}
"""disk_full, out_of_memory, configuration_limit_exceeded."""


class PostgresSettings(BaseModel):
    """Where the database is and how samples are laid out."""

    model_config = ConfigDict(extra="forbid")

    dsn: str = "dbname=plantbus"
    """A libpq connection string or URI without the password; PG* variables and
    ~/.pgpass of the historian's process apply as for psql."""
    password: SecretStr | None = None
    """The role's password, when not in ~/.pgpass (a config secret; never logged)."""
    db_schema: str = Field(default="plantbus", alias="schema", pattern=r"^[a-z_][a-z0-9_]*$")
    """The schema of the tables and views; created when missing."""
    partition_days: int = Field(default=1, ge=1, le=31)
    """Days per samples partition (or TimescaleDB chunk)."""
    timescaledb: Literal["auto", "off", "required"] = "auto"
    """``auto`` uses TimescaleDB when the server has the extension, ``required`` refuses
    to open without it, ``off`` keeps native partitions."""
    compress_after_days: int = Field(default=7, ge=1)
    """TimescaleDB only: chunks older than this are compressed."""
    grant_views_to: list[str] = []
    """Roles given read access to the views (and nothing else) at every open: the IT
    door for Grafana and SQL tools (docs/historian.md); the roles must exist."""
    read_connections: int = Field(default=2, ge=1, le=16)
    connect_timeout_s: float = Field(default=5.0, gt=0)


def failure(err: psycopg.Error) -> StoreUnavailable:
    """The store's error for a failed statement, with the server's own words on one line
    (its HINT too), :class:`StoreFull` for a full disk, memory or quota."""
    cls = StoreFull if getattr(err, "sqlstate", None) in _FULL else StoreUnavailable
    return cls(f"PostgreSQL historian store: {' '.join(str(err).split()) or type(err).__name__}")
