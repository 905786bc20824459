"""The hub the fault tests break: a real `plantbus up` on free ports in a temporary dir."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hub import demo_plant, running_hub


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """`plantbus up --random-ports` once every service is ready; its process and data dir."""
    data = tmp_path / "hub"
    with running_hub(data, "--config", str(demo_plant(tmp_path))) as proc:
        yield proc, data
