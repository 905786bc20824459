"""How the suite shares two workers (pytest-xdist, ``--dist loadgroup`` in pyproject.toml).

Each test file stays on one worker, so its module fixtures start once. The files that
start whole hubs (``plantbus up``: a dozen processes) or build wheels all go to the same
worker, one after the other: two hubs at once on two cores would stretch their waits past
their timeouts, while the other worker's in-process tests leave room beside one.
"""

from __future__ import annotations

import pytest

_HUB_FILES = ("tests/e2e/", "tests/faults/", "tests/packaging/")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = item.nodeid.partition("::")[0]
        group = "hubs" if path.startswith(_HUB_FILES) else path
        item.add_marker(pytest.mark.xdist_group(group))
