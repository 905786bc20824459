"""Discovery of plugins from entry points, with validation and failure isolation.

An incompatible or broken plugin is reported with the reason and never crashes the
loader or the service; only a plugin that the live config requires fails loudly
(the caller decides by looking the name up in the registry).

``discover(group, lazy=True)`` lists the plugins from their entry points' metadata and
imports one only when it is first asked for (:meth:`PluginRegistry.get`): a service
then pays in memory only for the plugins its config uses (the OPC UA driver's import
alone is about 14 MB, docs/benchmarks.md).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from dataclasses import dataclass, field
from importlib import resources
from importlib.metadata import EntryPoint, EntryPoints, entry_points
from typing import Any, Final, Generic, TypeVar, cast

import yaml
from pydantic import BaseModel

from plantbus.sdk import API_VERSION
from plantbus.sdk.connector import ErpConnector
from plantbus.sdk.driver import Driver
from plantbus.sdk.errors import PluginValidationError
from plantbus.sdk.historian import HistorianStore
from plantbus.sdk.maintenance import AnomalyModel, MaintenanceConnector
from plantbus.sdk.notifier import Notifier
from plantbus.sdk.plugin import Plugin
from plantbus.v1 import service_pb2

__all__ = [
    "ANOMALY_MODELS",
    "DRIVERS",
    "ERP_CONNECTORS",
    "GROUPS",
    "HISTORIAN_STORES",
    "MAINTENANCE_CONNECTORS",
    "NOTIFIERS",
    "NOT_IMPORTED",
    "PluginGroup",
    "PluginRecord",
    "PluginRegistry",
    "check_api_version",
    "discover",
    "discover_all",
    "plugin_infos",
    "quality",
]

log = logging.getLogger(__name__)

P = TypeVar("P", bound=Plugin[Any])


@dataclass(frozen=True)
class PluginGroup(Generic[P]):
    """An entry-point group and the base class its plugins must subclass: what
    :func:`discover` returns is typed by it."""

    name: str
    base: type
    """The class the loader checks with issubclass (abstract, so typed as a plain type)."""


DRIVERS: Final[PluginGroup[Driver[Any]]] = PluginGroup("plantbus.drivers", Driver)
ERP_CONNECTORS: Final[PluginGroup[ErpConnector[Any]]] = PluginGroup(
    "plantbus.erp_connectors", ErpConnector
)
NOTIFIERS: Final[PluginGroup[Notifier[Any]]] = PluginGroup("plantbus.notifiers", Notifier)
HISTORIAN_STORES: Final[PluginGroup[HistorianStore[Any]]] = PluginGroup(
    "plantbus.historian_stores", HistorianStore
)
ANOMALY_MODELS: Final[PluginGroup[AnomalyModel[Any]]] = PluginGroup(
    "plantbus.anomaly_models", AnomalyModel
)
MAINTENANCE_CONNECTORS: Final[PluginGroup[MaintenanceConnector[Any]]] = PluginGroup(
    "plantbus.maintenance_connectors", MaintenanceConnector
)
GROUPS: Final[tuple[PluginGroup[Any], ...]] = (
    DRIVERS,
    ERP_CONNECTORS,
    NOTIFIERS,
    HISTORIAN_STORES,
    ANOMALY_MODELS,
    MAINTENANCE_CONNECTORS,
)


@dataclass
class PluginRecord(Generic[P]):
    """One discovered plugin and whether it loaded."""

    group: str
    name: str
    distribution: str = ""
    dist_version: str = ""
    cls: type[P] | None = None
    error: str = ""
    pending: EntryPoint | None = field(default=None, repr=False, compare=False)
    """The entry point of a plugin a lazy registry has not imported yet."""

    @property
    def loaded(self) -> bool:
        """True when the plugin imported and passed validation."""
        return self.cls is not None

    @property
    def version(self) -> str:
        """The plugin's declared version, else its distribution's."""
        return self.cls.manifest.version if self.cls else self.dist_version

    @property
    def api_version(self) -> str:
        """The SDK API version the plugin targets ('' when it did not load)."""
        return self.cls.manifest.api_version if self.cls else ""


@dataclass
class PluginRegistry(Generic[P]):
    """The plugins of one group, loaded or not."""

    group: str
    records: dict[str, PluginRecord[P]] = field(default_factory=dict)
    kind: PluginGroup[P] | None = field(default=None, repr=False)
    """What pending records are validated against when they are imported."""

    def get(self, name: str) -> type[P]:
        """The plugin class for ``name`` (imported now if it was pending); raises
        PluginValidationError saying why it is missing."""
        record = self.records.get(name)
        if record is None:
            known = ", ".join(sorted(self.records)) or "none"
            raise PluginValidationError(
                name, f"no such plugin in {self.group} (installed: {known}); pip install it"
            )
        self._import(record)
        if record.cls is None:
            raise PluginValidationError(name, record.error)
        return record.cls

    def loaded(self) -> dict[str, type[P]]:
        """Name -> class of every plugin that loaded (the pending ones imported now)."""
        for record in self.records.values():
            self._import(record)
        return {n: r.cls for n, r in self.records.items() if r.cls is not None}

    def _import(self, record: PluginRecord[P]) -> None:
        if record.pending is not None and self.kind is not None:
            ep, record.pending = record.pending, None
            _load(record, ep, self.kind)


def check_api_version(plugin: str, wanted: str, provided: str = API_VERSION) -> None:
    """Raise unless a plugin built for SDK ``wanted`` runs here (same major, minor <=)."""
    try:
        w_major, w_minor = (int(x) for x in wanted.split(".")[:2])
        p_major, p_minor = (int(x) for x in provided.split(".")[:2])
    except ValueError as err:
        raise PluginValidationError(plugin, f"api_version {wanted!r} is not MAJOR.MINOR") from err
    if w_major != p_major or w_minor > p_minor:
        raise PluginValidationError(
            plugin,
            f"targets SDK API {wanted} but this Plantbus provides {provided}; "
            "install a plugin release built for this SDK",
        )


def _validate(ep: EntryPoint, obj: object, group: PluginGroup[P]) -> type[P]:
    """``obj`` as a plugin of ``group``: a subclass of its base with a manifest whose name
    is the entry point's, a compatible API version and a pydantic Settings model."""
    base = group.base
    if not (isinstance(obj, type) and issubclass(obj, base)):
        raise PluginValidationError(ep.name, f"{ep.value} is not a subclass of {base.__name__}")
    manifest = getattr(obj, "manifest", None)
    if manifest is None:
        raise PluginValidationError(ep.name, f"{ep.value} declares no manifest")
    if manifest.name != ep.name:
        raise PluginValidationError(
            ep.name, f"manifest name {manifest.name!r} differs from entry-point name {ep.name!r}"
        )
    check_api_version(ep.name, manifest.api_version)
    settings = getattr(obj, "Settings", None)
    if not (isinstance(settings, type) and issubclass(settings, BaseModel)):
        raise PluginValidationError(ep.name, "Settings is not a pydantic model")
    return cast("type[P]", obj)  # checked above: a subclass of the group's base


def _disabled() -> set[str]:
    raw = os.environ.get("PLANTBUS_DISABLED_PLUGINS", "")
    return {name.strip() for name in raw.split(",") if name.strip()}


def _load(record: PluginRecord[P], ep: EntryPoint, group: PluginGroup[P]) -> None:
    """Import and validate ``ep`` into ``record``; a failure is recorded and logged."""
    try:
        record.cls = _validate(ep, ep.load(), group)
    except PluginValidationError as err:
        record.error = str(err)
    except Exception as err:  # noqa: BLE001 - the plugin boundary: any import error is isolated
        record.error = f"plugin {ep.name!r} failed to import: {type(err).__name__}: {err}"
    if record.error:
        log.warning("%s plugin %s not loaded: %s", group.name, ep.name, record.error)


@functools.lru_cache(maxsize=32)
def _installed(group: str, path: tuple[str, ...]) -> EntryPoints:
    """The entry points of ``group`` on ``path`` (``sys.path``). Listing them reads every
    installed distribution's metadata, about 20 ms here, so it is done once per group
    and path rather than at each validation of each config section."""
    del path  # part of the cache key only: a changed sys.path is read again
    return entry_points(group=group)


def discover(group: PluginGroup[P], *, lazy: bool = False) -> PluginRegistry[P]:
    """Every plugin of ``group``, imported now or (``lazy``) when first asked for;
    failures are recorded, never raised."""
    registry: PluginRegistry[P] = PluginRegistry(group.name, kind=group)
    disabled = _disabled()
    for ep in _installed(group.name, tuple(sys.path)):
        record: PluginRecord[P] = PluginRecord(
            group=group.name,
            name=ep.name,
            distribution=ep.dist.name if ep.dist else "",
            dist_version=ep.dist.version if ep.dist else "",
        )
        registry.records[ep.name] = record
        if ep.name in disabled:
            record.error = "disabled by PLANTBUS_DISABLED_PLUGINS"
        elif lazy:
            record.pending = ep
        else:
            _load(record, ep, group)
    return registry


NOT_IMPORTED: Final = "not imported: nothing configured here uses it"
"""The error a heartbeat shows for a plugin a lazy registry has not imported."""


def plugin_infos(registry: PluginRegistry[Any]) -> list[service_pb2.PluginInfo]:
    """``plantbus.v1.PluginInfo`` messages for a registry (for heartbeats); a pending
    plugin is shown not loaded, with :data:`NOT_IMPORTED`."""
    return [
        service_pb2.PluginInfo(
            group=r.group,
            name=r.name,
            version=r.version,
            distribution=r.distribution,
            api_version=r.api_version,
            loaded=r.loaded,
            error=NOT_IMPORTED if r.pending else r.error,
        )
        for r in registry.records.values()
    ]


QUALITY_FILE: Final = "plantbus_quality.yaml"
"""Where a plugin package declares its quality tier and rules (docs/writing-a-driver.md)."""


@dataclass(frozen=True)
class Quality:
    """A plugin's declared quality: its tier and the rules it has not done yet."""

    tier: str
    todo: tuple[str, ...] = ()


def quality(cls: type[Plugin[Any]]) -> Quality | None:
    """The quality file of the package that holds ``cls`` (the nearest one up from its
    module); None when there is none. An unreadable file is tier ``unreadable (...)``."""
    parts = cls.__module__.split(".")[:-1]
    text = None
    while parts and text is None:
        try:
            text = resources.files(".".join(parts)).joinpath(QUALITY_FILE).read_text()
        except (FileNotFoundError, NotADirectoryError, TypeError):
            parts.pop()
    if text is None:
        return None
    try:
        doc = yaml.safe_load(text) or {}
        rules = doc.get("rules") or {}
        todo = tuple(
            name
            for name, state in rules.items()
            if (state.get("status") if isinstance(state, dict) else state) == "todo"
        )
        return Quality(str(doc.get("tier", "unset")), todo)
    except (yaml.YAMLError, AttributeError) as err:
        return Quality(f"unreadable ({type(err).__name__})")


def discover_all() -> list[PluginRegistry[Any]]:
    """Registries for every plugin group."""
    return [discover(group) for group in GROUPS]
