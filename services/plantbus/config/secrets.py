"""Secret references: how a plugin setting typed ``SecretStr`` names a secret without holding it.

The plant config is stored, versioned and served to anyone allowed to read it (GetConfig,
``plantbus config show``, ``plantbus config diff``), so a password written into it would
be everyone's. A ``SecretStr`` setting holds one of these references instead:

- ``env:NAME``: the environment variable NAME of the service that runs the plugin;
- ``file:/path``: the content of a file (trailing newlines dropped);
- ``secret:<name>/<key>``: key ``<key>`` of the Kubernetes Secret ``<name>``, mounted under
  ``/var/run/secrets/plantbus/<name>/<key>``.

Validation refuses a value that is not a reference (:func:`literal_secrets`) and leaves
the plugin's own checks of a secret to the resolved value; only the service that builds
the plugin resolves one (:mod:`plantbus.kit.secrets`, with :func:`replace_secrets`).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, SecretStr

__all__ = [
    "FORMS",
    "SecretRef",
    "is_secret_field",
    "literal_secrets",
    "parse_reference",
    "replace_secrets",
]

Loc = tuple[str | int, ...]

FORMS = "env:NAME, file:/path/to/file or secret:<secret-name>/<key>"
"""The reference forms, as error messages show them."""

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECRET_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")  # a Kubernetes object name
_SECRET_KEY = re.compile(r"[-._A-Za-z0-9]{1,253}")  # a Kubernetes Secret data key
Scheme = Literal["env", "file", "secret"]


@dataclass(frozen=True)
class SecretRef:
    """A parsed reference: where the secret's value is, never the value."""

    scheme: Scheme
    target: str
    """The variable name, the absolute file path, or ``<secret-name>/<key>``."""

    def __str__(self) -> str:
        return f"{self.scheme}:{self.target}"


def _looks_like_reference(text: str) -> bool:
    return text.partition(":")[0] in ("env", "file", "secret") and ":" in text


def parse_reference(text: str) -> SecretRef:
    """The reference in ``text``; ValueError says what is wrong and never repeats a value
    that is not a reference (it may be the secret itself)."""
    if not _looks_like_reference(text):
        raise ValueError(
            "a secret setting holds a reference to the secret, not its value: write "
            f"{FORMS} (a ${{VARIABLE}} here is expanded before it is checked: write "
            "env:VARIABLE instead)"
        )
    scheme, _, target = text.partition(":")
    if scheme == "env" and not _ENV_NAME.fullmatch(target):
        raise ValueError(f"{text!r}: an environment variable name is [A-Za-z_][A-Za-z0-9_]*")
    if scheme == "file" and not target.startswith("/"):
        raise ValueError(f"{text!r}: give an absolute path (file:/path/to/file)")
    if scheme == "secret":
        name, _, key = target.partition("/")
        if not (_SECRET_NAME.fullmatch(name) and _SECRET_KEY.fullmatch(key)) or key in (
            ".",
            "..",
        ):
            raise ValueError(
                f"{text!r}: write secret:<secret-name>/<key>, a Kubernetes Secret name "
                "(lower case, digits, '-', '.') and one of its keys"
            )
    return SecretRef(typing.cast(Scheme, scheme), target)


def _models(annotation: Any) -> Iterator[Any]:
    """``annotation`` and what it is a union, list or dict of."""
    yield annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) in (
        typing.Union,
        list,
        tuple,
        dict,
    ):
        for arg in typing.get_args(annotation):
            yield from _models(arg)


def is_secret_field(model: type[BaseModel], loc: Loc) -> bool:
    """True when ``loc`` in input for ``model`` is (inside) a ``SecretStr`` field: a
    validation error there must not show what was found."""
    candidates: list[Any] = [model]
    for part in loc:
        if isinstance(part, int):
            continue
        found: list[Any] = []
        for candidate in candidates:
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                fields = {info.alias or name: info for name, info in candidate.model_fields.items()}
                if part in fields:
                    found.extend(_models(fields[part].annotation))
        if any(c is SecretStr for c in found):
            return True
        candidates = found
    return False


def _strings(value: Any, loc: Loc) -> Iterator[tuple[Loc, str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*loc, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*loc, index))


def literal_secrets(model: type[BaseModel], raw: Any) -> Iterator[tuple[Loc, str]]:
    """(location, problem) for every string in ``raw`` (input for ``model``) that lands in
    a ``SecretStr`` field without being a well-formed reference."""
    for loc, text in _strings(raw, ()):
        if is_secret_field(model, loc):
            try:
                parse_reference(text)
            except ValueError as err:
                yield loc, str(err)


def replace_secrets(model: type[BaseModel], raw: Any, resolve: Callable[[str], str]) -> Any:
    """A copy of ``raw`` (input for ``model``) where every string that lands in a
    ``SecretStr`` field is ``resolve(it)``: what the plugin's own model then validates, so
    its checks of a secret (a format, a length) apply to the value, not the reference."""

    def walk(value: Any, loc: Loc) -> Any:
        if isinstance(value, str):
            return resolve(value) if is_secret_field(model, loc) else value
        if isinstance(value, dict):
            return {key: walk(item, (*loc, str(key))) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, (*loc, index)) for index, item in enumerate(value)]
        return value

    return walk(raw, ())
