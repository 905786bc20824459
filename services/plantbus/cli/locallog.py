"""Local logs of what the CLI does outside the hub's audit trail (``plantbus probe --write``
talks to a device directly; ``plantbus devices trust`` changes this host's trust list):
JSON Lines in the data dir, one object per action with the time and the OS user, the file
readable by its owner only."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from pathlib import Path
from typing import Any

import click

__all__ = ["LocalLog"]


class LocalLog:
    """One append-only log file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def open(self) -> None:
        """Create the file now, so that nothing is done that could not be logged."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
        except OSError as err:
            raise click.ClickException(
                f"cannot write the log {self.path} ({err.strerror}); nothing was done: "
                "fix its permissions or use --data-dir"
            ) from None

    def append(self, **fields: Any) -> None:
        """Append one record: the time (UTC), the OS user, then ``fields``."""
        record = {"time": dt.datetime.now(dt.UTC).isoformat(), "user": getpass.getuser()}
        record.update(fields)
        line = json.dumps(record, default=repr) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as f:
            f.write(line)
