"""Fixtures shared by every test directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.certs import make_pki


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    """A directory with ``ca``, ``localhost`` (server) and ``alice`` (client) certificates."""
    (tmp_path / "pki").mkdir()
    return make_pki(tmp_path / "pki")
