"""Config problems, each naming file, line, field path, what was found and what is expected."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from plantbus.sdk.errors import ConfigError

__all__ = ["ConfigInvalid", "ConfigIssue", "oversize"]


@dataclass(frozen=True, order=True)
class ConfigIssue:
    """One problem in a config source."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '<root>'}: {self.message}"


class ConfigInvalid(ConfigError):
    """Raised with every problem found, not only the first."""

    def __init__(self, issues: Sequence[ConfigIssue]) -> None:
        self.issues = sorted(issues)
        count = len(self.issues)
        lines = "\n".join(f"  {issue}" for issue in self.issues)
        super().__init__(f"config has {count} error{'s' if count != 1 else ''}:\n{lines}")


def oversize(name: str, text: str, max_bytes: int) -> ConfigIssue | None:
    """The issue of a document ``name`` of more than ``max_bytes``, if it is one."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size <= max_bytes:
        return None
    return ConfigIssue(
        name,
        1,
        "",
        f"document is {size:,} bytes, more than the limit of {max_bytes:,} "
        "(governance option max_config_bytes)",
    )
