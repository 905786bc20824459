"""`plantbus run` hosts services on uvloop where it is installed, unless PLANTBUS_UVLOOP=0."""

from __future__ import annotations

import sys

import pytest

from plantbus.cli.core import _loop_factory


def test_uvloop_when_installed_asyncio_when_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    uvloop = pytest.importorskip("uvloop")
    monkeypatch.delenv("PLANTBUS_UVLOOP", raising=False)
    assert _loop_factory() is uvloop.new_event_loop
    for off in ("0", "false", "off", " No "):
        monkeypatch.setenv("PLANTBUS_UVLOOP", off)
        assert _loop_factory() is None


def test_asyncio_where_uvloop_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLANTBUS_UVLOOP", raising=False)
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import fails as if not installed
    assert _loop_factory() is None
