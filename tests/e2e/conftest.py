"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.dashboard_page import hub_for_browsers


@pytest.fixture(scope="session")
def dashboard_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One `plantbus up` for every dashboard browser test (see dashboard_page)."""
    yield from hub_for_browsers(tmp_path_factory.mktemp("dashboard"))
