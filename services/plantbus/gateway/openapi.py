"""The OpenAPI 3.1 document of the HTTP API, generated from the protos.

``python -m plantbus.gateway.openapi`` writes ``openapi.json`` beside this module (the
file the gateway serves at ``/v1/openapi.json``, committed; a test fails when it drifts
from the protos). The paths and verbs are the ``google.api.http`` options that the gateway
routes by (:mod:`plantbus.gateway.routes`); schemas follow protobuf's JSON mapping with
the .proto field names; descriptions are the .proto comments
(:mod:`plantbus.gateway.proto_comments`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from google.protobuf import descriptor
from google.protobuf.descriptor import FieldDescriptor

from plantbus.gateway.proto_comments import comments
from plantbus.gateway.routes import Route, routes

__all__ = ["DOCUMENT", "document", "main", "render"]

DOCUMENT: Final = Path(__file__).with_name("openapi.json")

_INT32 = {"type": "integer", "format": "int32"}
_SCALARS: Final[dict[int, dict[str, Any]]] = {
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT32: _INT32,
    FieldDescriptor.TYPE_SINT32: _INT32,
    FieldDescriptor.TYPE_SFIXED32: _INT32,
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0},
    FieldDescriptor.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0},
    # 64-bit integers are strings in protobuf's JSON mapping
    FieldDescriptor.TYPE_INT64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_SINT64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_SFIXED64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_UINT64: {"type": "string", "format": "uint64"},
    FieldDescriptor.TYPE_FIXED64: {"type": "string", "format": "uint64"},
}
_WELL_KNOWN: Final[dict[str, dict[str, Any]]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {
        "type": "string",
        "pattern": r"^-?[0-9]+(\.[0-9]+)?s$",
        "description": "seconds with an s, for example 60s or 0.5s",
    },
}
_ERROR: Final = {
    "type": "object",
    "description": "Every refusal: the HTTP status, the gRPC status name and what is wrong.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "integer", "description": "the HTTP status"},
                "status": {"type": "string", "description": "the gRPC status name"},
                "message": {"type": "string", "description": "what is wrong and where"},
            },
            "required": ["code", "status", "message"],
        }
    },
    "required": ["error"],
}


class _Schemas:
    """Component schemas, added as types are referenced."""

    def __init__(self, notes: Mapping[str, str]) -> None:
        self.notes = notes
        self.components: dict[str, Any] = {"Error": _ERROR}

    def _described(self, schema: dict[str, Any], full_name: str) -> dict[str, Any]:
        note = self.notes.get(full_name)
        return {**schema, "description": note} if note else schema

    def ref(self, name: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{name}"}

    def enum(self, enum: descriptor.EnumDescriptor) -> dict[str, str]:
        if enum.name not in self.components:
            values = [v.name for v in enum.values]
            keyed = ((v.name, f"{enum.full_name}.{v.name}") for v in enum.values)
            notes = [f"{name}: {self.notes[key]}" for name, key in keyed if key in self.notes]
            schema: dict[str, Any] = {"type": "string", "enum": values}
            intro = self.notes.get(enum.full_name, "")
            if intro or notes:
                schema["description"] = "\n".join([intro, *notes]).strip()
            self.components[enum.name] = schema
        return self.ref(enum.name)

    def message(
        self, msg: descriptor.Descriptor, name: str = "", leave_out: Sequence[str] = ()
    ) -> dict[str, Any]:
        if msg.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[msg.full_name])
        name = name or msg.name
        if name not in self.components:
            self.components[name] = {}  # placeholder: a type may refer to itself
            properties = {
                f.name: self._described(self.field(f), f.full_name)
                for f in msg.fields
                if f.name not in leave_out
            }
            schema: dict[str, Any] = {"type": "object", "properties": properties}
            self.components[name] = self._described(schema, msg.full_name)
        return self.ref(name)

    def value(self, field: FieldDescriptor) -> dict[str, Any]:
        if field.enum_type is not None:
            return self.enum(field.enum_type)
        if field.message_type is not None:
            return self.message(field.message_type)
        return dict(_SCALARS[field.type])

    def field(self, field: FieldDescriptor) -> dict[str, Any]:
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            value = entry.fields_by_name["value"]
            return {"type": "object", "additionalProperties": self.value(value)}
        if field.is_repeated:
            return {"type": "array", "items": self.value(field)}
        return self.value(field)


def _operation(route: Route, schemas: _Schemas) -> dict[str, Any]:
    method = route.method
    request, response = method.input_type, method.output_type
    summary = schemas.notes.get(method.full_name, method.name)
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            **_description(schemas.notes, request.fields_by_name[name].full_name),
        }
        for name in route.variables
    ]
    for field in route.query_fields():
        parameter: dict[str, Any] = {
            "name": field.name,
            "in": "query",
            "required": False,
            "schema": schemas.field(field),
            **_description(schemas.notes, field.full_name),
        }
        if field.is_repeated:
            parameter |= {"style": "form", "explode": True}
        parameters.append(parameter)
    media = "application/x-ndjson" if route.streaming else "application/json"
    ok = "one JSON object per line, as the service sends them" if route.streaming else "OK"
    operation: dict[str, Any] = {
        "operationId": method.name,
        "summary": summary.splitlines()[0] if summary else method.name,
        "tags": [method.containing_service.name],
        "parameters": parameters,
        "responses": {
            "200": {"description": ok, "content": {media: {"schema": schemas.message(response)}}},
            "default": {
                "description": "refused: 400 malformed, 401 no or bad credentials, 403 not "
                "allowed, 404 not found, 409 conflict, 503 unavailable",
                "content": {"application/json": {"schema": schemas.ref("Error")}},
            },
        },
    }
    if len(summary.splitlines()) > 1:
        operation["description"] = summary
    if route.body == "*":
        body_name = f"{method.name}Body" if route.variables else request.name
        schema = schemas.message(request, body_name, leave_out=route.variables)
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    return operation


def _description(notes: Mapping[str, str], full_name: str) -> dict[str, str]:
    return {"description": notes[full_name]} if full_name in notes else {}


def document(notes: Mapping[str, str]) -> dict[str, Any]:
    """The OpenAPI document of every annotated RPC, with ``notes`` as descriptions."""
    schemas = _Schemas(notes)
    paths: dict[str, dict[str, Any]] = {}
    tags: list[dict[str, str]] = []
    for route in routes():
        service = route.method.containing_service
        if not any(t["name"] == service.name for t in tags):
            tags.append({"name": service.name, **_description(notes, service.full_name)})
        paths.setdefault(route.template, {})[route.verb] = _operation(route, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Plantbus HTTP API",
            "version": "v1",
            "description": "Every read and action of the Plantbus gRPC services as JSON over "
            "HTTPS (gRPC-JSON transcoding of proto/plantbus/v1, its google.api.http "
            "options). Authenticate with a bearer token (plantbus users token create) or a "
            "client certificate from the hub's CA; see docs/http-api.md.",
        },
        "security": [{"bearerToken": []}, {"clientCertificate": []}],
        "tags": tags,
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerToken": {"type": "http", "scheme": "bearer", "bearerFormat": "pbt_..."},
                "clientCertificate": {"type": "mutualTLS"},
            },
            "schemas": dict(sorted(schemas.components.items())),
        },
    }


def render(doc: Mapping[str, Any]) -> str:
    """The document as committed: indented JSON with a final newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Write the document (``--out``, default the committed openapi.json)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DOCUMENT)
    args = parser.parse_args()
    args.out.write_text(render(document(comments())))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
