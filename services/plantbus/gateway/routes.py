"""The HTTP routes of the gRPC services, read from their ``google.api.http`` options, and
the translation of an HTTP request into the RPC's request message.

gRPC-JSON transcoding as Google's HttpRule defines it, for the subset the contract uses:
a path template of literal segments and ``{field}`` variables (a variable may end in a
literal ``:verb``), ``body: "*"`` or no body (then every other field is a query
parameter). JSON is protobuf's canonical JSON mapping (``json_format``), field names as in
the .proto (the lowerCamel names are accepted too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor, json_format, message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from plantbus.v1 import (
    alerting_pb2,
    device_pb2,
    erp_pb2,
    governance_pb2,
    historian_pb2,
    oee_pb2,
)

__all__ = [
    "FILES",
    "BadRequest",
    "Match",
    "MethodNotAllowed",
    "Route",
    "Router",
    "hub_service",
    "routes",
]

FILES: Final = (governance_pb2, device_pb2, oee_pb2, alerting_pb2, erp_pb2, historian_pb2)
"""The generated modules whose services the HTTP API serves, in the OpenAPI's order."""

_VERBS: Final = ("get", "put", "post", "delete", "patch")
_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_WELL_KNOWN_SCALARS: Final = frozenset(
    {"google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"}
)
"""Message types whose JSON form is a string, so a query parameter can carry them."""


class BadRequest(Exception):
    """A request that cannot become the RPC's message: 400 with this message."""


@dataclass(frozen=True)
class Route:
    """One RPC's HTTP binding."""

    method: descriptor.MethodDescriptor
    verb: str
    template: str
    body: str
    pattern: re.Pattern[str]
    variables: tuple[str, ...]

    @property
    def grpc_path(self) -> str:
        """``/plantbus.v1.DeviceService/WriteTag``."""
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def streaming(self) -> bool:
        """True for server-streaming RPCs (answered as JSON Lines)."""
        return bool(self.method.server_streaming)

    def request_class(self) -> type[Message]:
        """The class of the RPC's request message."""
        return message_factory.GetMessageClass(self.method.input_type)

    def response_class(self) -> type[Message]:
        """The class of the RPC's response message."""
        return message_factory.GetMessageClass(self.method.output_type)

    def query_fields(self) -> list[FieldDescriptor]:
        """The request fields taken from the query string (none with ``body: "*"``)."""
        if self.body == "*":
            return []
        return [f for f in self.method.input_type.fields if f.name not in self.variables]

    def build(
        self,
        path: Mapping[str, str],
        query: Iterable[tuple[str, str]],
        body: object | None,
    ) -> Message:
        """The request message from the path variables, query parameters and JSON body;
        BadRequest naming the parameter or field that is wrong."""
        request_type = self.method.input_type
        data: dict[str, Any] = {}
        if self.body == "*":
            if body is None:
                body = {}
            if not isinstance(body, dict):
                raise BadRequest(
                    f"the body of {self.verb.upper()} {self.template} must be a JSON object "
                    f"({request_type.name}), not {type(body).__name__}"
                )
            data.update(body)
            if unexpected := sorted({k for k, _ in query}):
                raise BadRequest(
                    f"{self.verb.upper()} {self.template} takes its fields in the JSON body, "
                    f"not as query parameters: {', '.join(unexpected)}"
                )
        elif body is not None:
            raise BadRequest(f"{self.verb.upper()} {self.template} takes no body")
        else:
            data.update(_query_fields(self, query))
        for name, value in path.items():
            field = request_type.fields_by_name[name]
            given = data.get(name, data.get(field.json_name))
            if given is not None and given != value:
                raise BadRequest(
                    f"{name} is {value!r} in the path but {given!r} in the body: give it once"
                )
            data.pop(field.json_name, None)
            data[name] = value
        try:
            return json_format.ParseDict(data, self.request_class()())
        except json_format.ParseError as err:
            raise BadRequest(f"{request_type.name}: {_first_line(err)}") from None


def _first_line(err: Exception) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _field_by_parameter(request_type: descriptor.Descriptor, name: str) -> FieldDescriptor | None:
    field = request_type.fields_by_name.get(name)
    if field is not None:
        return field
    return next((f for f in request_type.fields if f.json_name == name), None)


def _bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise BadRequest(f"query parameter {name}={value!r} is not a boolean: use true or false")


def _query_fields(route: Route, query: Iterable[tuple[str, str]]) -> dict[str, Any]:
    allowed = {f.name for f in route.query_fields()}
    request_type = route.method.input_type
    data: dict[str, Any] = {}
    for name, value in query:
        field = _field_by_parameter(request_type, name)
        if field is None or field.name not in allowed:
            takes = ", ".join(sorted(allowed)) or "none"
            raise BadRequest(
                f"unknown query parameter {name!r} for {route.verb.upper()} {route.template} "
                f"(it takes: {takes})"
            )
        if field.message_type is not None and field.message_type.full_name not in (
            _WELL_KNOWN_SCALARS
        ):
            raise BadRequest(f"query parameter {name!r} is a message: not settable in a query")
        item: Any = _bool(name, value) if field.type == FieldDescriptor.TYPE_BOOL else value
        if field.is_repeated:
            data.setdefault(field.name, []).append(item)
        elif field.name in data:
            raise BadRequest(f"query parameter {name!r} is given twice; it takes one value")
        else:
            data[field.name] = item
    return data


def _compile(
    template: str, request_type: descriptor.Descriptor
) -> tuple[re.Pattern[str], tuple[str, ...]]:
    variables = tuple(_VARIABLE.findall(template))
    for name in variables:
        field = request_type.fields_by_name.get(name)
        if field is None or field.type != FieldDescriptor.TYPE_STRING:
            raise ValueError(f"{template}: {{{name}}} is not a string field of {request_type.name}")
    regex = ""
    for part in re.split(r"(\{[A-Za-z_][A-Za-z0-9_]*\})", template):
        match = _VARIABLE.fullmatch(part)
        regex += f"(?P<{match.group(1)}>[^/:]+)" if match else re.escape(part)
    return re.compile(f"^{regex}$"), variables


def _rule_of(method: descriptor.MethodDescriptor) -> http_pb2.HttpRule | None:
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return None
    rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
    return rule


def routes(files: Sequence[Any] = FILES) -> list[Route]:
    """Every annotated RPC of ``files`` (generated modules), in declaration order."""
    out: list[Route] = []
    for module in files:
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                rule = _rule_of(method)
                if rule is None:
                    continue
                verb = rule.WhichOneof("pattern")
                if verb not in _VERBS:
                    raise ValueError(f"{method.full_name}: unsupported HTTP rule {verb!r}")
                template = str(getattr(rule, verb))
                pattern, variables = _compile(template, method.input_type)
                out.append(Route(method, verb, template, rule.body, pattern, variables))
    return out


def hub_service(route: Route) -> str:
    """The hub service that serves ``route`` (``plantbus.v1.DeviceService`` -> ``device``)."""
    return route.method.containing_service.name.removesuffix("Service").lower()


@dataclass(frozen=True)
class Match:
    """A route and the path variables of one request."""

    route: Route
    path: dict[str, str]


class Router:
    """Finds the route of a request; LookupError when no path matches, and
    :class:`MethodNotAllowed` when the path matches under other verbs."""

    def __init__(self, table: Sequence[Route]) -> None:
        self.table = list(table)

    def match(self, verb: str, path: str) -> Match:
        """The route for ``verb`` on ``path``."""
        allowed: list[str] = []
        for route in self.table:
            found = route.pattern.match(path)
            if found is None:
                continue
            if route.verb == verb.lower():
                return Match(route, found.groupdict())
            allowed.append(route.verb.upper())
        if allowed:
            raise MethodNotAllowed(path, allowed)
        raise LookupError(path)


class MethodNotAllowed(Exception):
    """The path exists under other verbs."""

    def __init__(self, path: str, allowed: list[str]) -> None:
        super().__init__(f"{path} takes {', '.join(sorted(set(allowed)))}")
        self.allowed = sorted(set(allowed))
