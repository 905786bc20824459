"""What every command prints for scripts: ``--json`` and the JSON it writes.

A command that lists or shows takes ``--json`` (:func:`json_option`) and, with it, writes
one JSON document to stdout (:func:`echo_json`): protobuf replies as protobuf's JSON
mapping with the ``.proto`` field names, everything else as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

__all__ = ["echo_json", "json_option", "to_json"]

F = TypeVar("F", bound=Callable[..., None])


def json_option(command: F) -> F:
    """``--json``: machine-readable output (the command's ``as_json`` argument)."""
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(command)


def to_json(value: Any) -> Any:
    """``value`` as plain JSON data: messages by their JSON mapping, recursively."""
    if isinstance(value, Message):
        return MessageToDict(value, preserving_proto_field_name=True)
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    return value


def echo_json(value: Any) -> None:
    """Write ``value`` to stdout as one indented JSON document."""
    click.echo(json.dumps(to_json(value), indent=2))
