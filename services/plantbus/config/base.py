"""Shared building blocks of the config model."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from plantbus.config.names import validate_token
from plantbus.sdk.errors import ValidationFailed

__all__ = ["Name", "Strict"]


class Strict(BaseModel):
    """Base of every config section: unknown keys are errors, so typos never pass silently;
    NaN and infinities (YAML ``.nan``, ``.inf``) are refused, since every comparison with
    NaN is false and a limit of NaN never trips."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _subject_token(value: str) -> str:
    try:
        return validate_token(value)
    except ValidationFailed as err:  # pydantic reports a ValueError with its location
        raise ValueError(str(err)) from err


Name = Annotated[str, AfterValidator(_subject_token)]
"""A plant name that maps one-to-one onto a NATS subject token."""
