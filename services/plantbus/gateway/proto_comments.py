"""The leading comments of the .proto files, by full name: the descriptions of the HTTP
API's OpenAPI document (:mod:`plantbus.gateway.openapi`). Read through protoc (grpc_tools,
a development dependency: only generating the document needs it)."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from google.protobuf import descriptor_pb2

__all__ = ["PROTO_ROOT", "comments"]

PROTO_ROOT: Final = Path(__file__).resolve().parents[3] / "proto"


def comments(proto_root: Path = PROTO_ROOT) -> dict[str, str]:
    """Full name of every message, field, enum, enum value, service and RPC of
    ``proto_root/plantbus`` -> its leading .proto comment."""
    from importlib import resources

    from grpc_tools import protoc

    sources = sorted(proto_root.glob("plantbus/**/*.proto"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.binpb"
        well_known = str(resources.files("grpc_tools") / "_proto")
        args = ["protoc", f"-I{proto_root}", f"-I{well_known}", "--include_source_info"]
        if protoc.main([*args, f"--descriptor_set_out={out}", *map(str, sources)]) != 0:
            raise SystemExit("protoc failed; see the messages above")
        files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    found: dict[str, str] = {}
    for file in files:
        text = {
            tuple(loc.path): loc.leading_comments.strip() for loc in file.source_code_info.location
        }
        _walk_messages(file.message_type, f"{file.package}.", (4,), text, found)
        for i, enum in enumerate(file.enum_type):
            _enum_comments(enum, f"{file.package}.", (5, i), text, found)
        for i, service in enumerate(file.service):
            name = f"{file.package}.{service.name}"
            found[name] = text.get((6, i), "")
            for j, method in enumerate(service.method):
                found[f"{name}.{method.name}"] = text.get((6, i, 2, j), "")
    return {k: v for k, v in found.items() if v}


def _walk_messages(
    messages: Sequence[descriptor_pb2.DescriptorProto],
    prefix: str,
    path: tuple[int, ...],
    text: Mapping[tuple[int, ...], str],
    found: dict[str, str],
) -> None:
    for i, msg in enumerate(messages):
        name, here = f"{prefix}{msg.name}", (*path, i)
        found[name] = text.get(here, "")
        for j, field in enumerate(msg.field):
            found[f"{name}.{field.name}"] = text.get((*here, 2, j), "")
        _walk_messages(msg.nested_type, f"{name}.", (*here, 3), text, found)
        for j, enum in enumerate(msg.enum_type):
            _enum_comments(enum, f"{name}.", (*here, 4, j), text, found)


def _enum_comments(
    enum: descriptor_pb2.EnumDescriptorProto,
    prefix: str,
    path: tuple[int, ...],
    text: Mapping[tuple[int, ...], str],
    found: dict[str, str],
) -> None:
    name = f"{prefix}{enum.name}"
    found[name] = text.get(path, "")
    for k, value in enumerate(enum.value):
        found[f"{name}.{value.name}"] = text.get((*path, 2, k), "")
