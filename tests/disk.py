"""Disks that fill up, for the spool's and the historian's tests.

Two kinds with the same ``path``, ``fill()`` and ``free()``: a real tmpfs of a few hundred
KiB (when this host lets the test mount one: root or CAP_SYS_ADMIN), and a budget put in
place of the spool's ``open``, whose files refuse bytes beyond it with ENOSPC exactly as a
full disk does (a write that does not fit is cut short first, the next one fails).
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from plantbus.device import spool

__all__ = ["Disk", "InjectedDisk", "TmpfsDisk", "small_disk"]


class Disk(Protocol):
    """A directory whose filesystem the test fills and frees."""

    path: Path

    def fill(self) -> None:
        """Leave no room: every write from now on fails with ENOSPC."""

    def free(self) -> None:
        """Give the room back."""


class _Budgeted:
    """A file opened for writing whose writes draw on its disk's ``room``."""

    def __init__(self, file: Any, disk: InjectedDisk) -> None:
        self._file = file
        self._disk = disk

    def write(self, data: bytes) -> int:
        room = self._disk.room
        if room is None:
            return int(self._file.write(data))
        if room == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = int(self._file.write(bytes(data[:room])))
        self._disk.room = room - written
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


class InjectedDisk:
    """Replaces ``open`` in :mod:`plantbus.device.spool`; ``room`` bytes left (None: no limit)."""

    def __init__(self, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.path = path
        self.room: int | None = None
        monkeypatch.setattr(spool, "open", self.open, raising=False)

    def open(self, file: Any, mode: str = "r", buffering: int = -1) -> Any:
        """``open`` for the spool: writable files take their bytes from ``room``."""
        opened = builtins.open(file, mode, buffering)  # noqa: SIM115 - the caller closes it
        return _Budgeted(opened, self) if "w" in mode or "a" in mode else opened

    def fill(self) -> None:
        """No room left."""
        self.room = 0

    def free(self) -> None:
        """No limit."""
        self.room = None


class TmpfsDisk:
    """A tmpfs mounted at ``path``; ``fill`` writes a filler file until the tmpfs is full."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._filler = path / "filler"

    def fill(self) -> None:
        """Write zeros until ENOSPC."""
        with builtins.open(self._filler, "ab", buffering=0) as out:
            try:
                while True:
                    out.write(bytes(4096))
            except OSError as err:
                if err.errno != errno.ENOSPC:
                    raise

    def free(self) -> None:
        """Delete the filler."""
        self._filler.unlink()


@contextlib.contextmanager
def small_disk(
    kind: str, where: Path, monkeypatch: pytest.MonkeyPatch, size: str = "256k"
) -> Iterator[Disk]:
    """A disk of ``kind`` (``tmpfs`` of ``size``, or ``injected``) at ``where``; a tmpfs
    test is skipped, with the reason, when this host does not let it mount one."""
    where.mkdir()
    if kind == "injected":
        yield InjectedDisk(where, monkeypatch)
        return
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True,
            text=True,
            check=False,
        )
        if shutil.which("mount")
        else None
    )
    if mounted is None or mounted.returncode:
        why = mounted.stderr.strip() if mounted else "no mount command"
        pytest.skip(
            f"cannot mount a tmpfs here ({why}): needs root or CAP_SYS_ADMIN; "
            "the injected disk covers the same path"
        )
    try:
        yield TmpfsDisk(where)
    finally:
        subprocess.run(["umount", "--lazy", str(where)], check=False)
