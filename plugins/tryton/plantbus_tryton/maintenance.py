"""Maintenance requests to Tryton as project tasks (module ``project``, trytond-project).

Each request becomes one ``project.work`` of type task under the configured maintenance
project: its name says the machine, component, level and plan; its comment the message,
the due point, the counters and a last line ``plantbus request <key>``. Tryton has no field
for an external id, so that line is the reference: before it creates a task the connector
searches the project's tasks for it, and a request sent again (a redelivery, a retry after
a lost answer) finds its task and creates nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field

from plantbus.sdk import API_VERSION
from plantbus.sdk.errors import ErpRejected, ErpUnavailable, NotifierRejected, NotifierUnavailable
from plantbus.sdk.maintenance import MaintenanceConnector, MaintenanceRequest
from plantbus.sdk.plugin import PluginManifest
from plantbus_tryton.rpc import TrytonConnection

__all__ = ["MARKER", "TrytonRequestSettings", "TrytonRequests", "comment", "title"]

MARKER = "plantbus request "
"""Starts the comment line that holds a task's request key."""


class TrytonRequestSettings(TrytonConnection):
    """The Tryton server and the project that maintenance tasks go under."""

    project: str = Field(min_length=1)
    """Name of the Tryton project (a project work of type project) for maintenance tasks."""


def title(request: MaintenanceRequest) -> str:
    """The task's name: machine, component, level and plan."""
    machine = request.machine.rsplit("/", 1)[-1]
    return f"{machine} {request.component}: {request.reason} ({request.plan})"


def comment(request: MaintenanceRequest) -> str:
    """The task's comment; its last line is the reference searched before a create."""
    lines = [request.message, f"machine: {request.machine}", f"component: {request.component}"]
    if request.due is not None:
        lines.append(f"due: {request.due.isoformat(timespec='minutes')}")
    lines += [f"{name}: {value:g}" for name, value in sorted(request.usage.items())]
    lines.append(f"raised: {request.time.isoformat(timespec='seconds')}")
    return "\n".join([*lines, MARKER + request.key])


class TrytonRequests(MaintenanceConnector[TrytonRequestSettings]):
    """Files requests as tasks of a Tryton project over JSON-RPC, once per request key."""

    manifest: ClassVar[PluginManifest] = PluginManifest(
        "tryton", "0.1.0", API_VERSION, "Maintenance requests as Tryton project tasks"
    )
    Settings: ClassVar[type[BaseModel]] = TrytonRequestSettings

    def __init__(self, settings: TrytonRequestSettings) -> None:
        super().__init__(settings)
        self.rpc = settings.rpc()
        self._project: dict[str, Any] | None = None

    async def send(self, request: MaintenanceRequest) -> str:
        """The task's number (created now, or found from an earlier send)."""
        try:
            project = await self._maintenance_project()
            found = await self._task_of(project["id"], request.key)
            if found is not None:
                return found
            values = {
                "name": title(request),
                "type": "task",
                "parent": project["id"],
                "company": project["company"],
                "comment": comment(request),
            }
            [ident] = await self.rpc.call("project.work", "create", [values])
            [row] = await self.rpc.call("project.work", "read", [ident], ["number"])
        except ErpUnavailable as err:
            raise NotifierUnavailable(str(err)) from err
        except ErpRejected as err:
            raise NotifierRejected(str(err)) from err
        return str(row["number"] or ident)

    async def _maintenance_project(self) -> dict[str, Any]:
        if self._project is None:
            rows = await self.rpc.call(
                "project.work",
                "search_read",
                [["type", "=", "project"], ["name", "=", self.settings.project]],
                0,
                1,
                None,
                ["company"],
            )
            if not rows:
                raise ErpRejected(
                    f"{self.rpc.where} has no project {self.settings.project!r}: create it "
                    "(Projects, type Project) or set settings.project to an existing one"
                )
            self._project = dict(rows[0])
        return self._project

    async def _task_of(self, project: int, key: str) -> str | None:
        """The number of the project's task filed for ``key``, if there is one."""
        rows = await self.rpc.call(
            "project.work",
            "search_read",
            [["parent", "=", project], ["comment", "like", f"%{MARKER}{key}"]],
            0,
            None,
            None,
            ["number", "comment"],
        )
        for row in rows:  # LIKE treats _ and % in a key as wildcards: compare exactly
            if (row["comment"] or "").rsplit("\n", 1)[-1] == MARKER + key:
                return str(row["number"] or row["id"])
        return None

    async def close(self) -> None:
        """Close the HTTP session; safe to call twice."""
        await self.rpc.close()
