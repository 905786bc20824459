"""A plant of 100,000 tags through ``plantbus up`` (nats-server at its default 1 MiB
max_payload): bootstrapped, shown, one tag changed with ``plantbus config apply``, and
the device service is handed that one device, not the plant."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from plantbus.testing.waiting import wait_until
from tests.big_plant import big_plant, tag_line
from tests.e2e.test_up import running_up, wait_for_file
from tests.hub import status

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def plantbus(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """The CLI, with room for a hub that is still digesting the first poll of 100,000
    tags on a shared machine."""
    command = [sys.executable, "-m", "plantbus.cli", *args, "--data-dir", str(data_dir)]
    return subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)


def device_log(data: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in (data / "logs").glob("device*.log"))


async def test_a_100k_tag_plant_is_applied_and_one_tag_change_reaches_the_device_service(
    tmp_path: Path,
) -> None:
    plant = tmp_path / "plant"
    plant.mkdir()
    sources = big_plant(100, 1000)
    for source in sources:
        (plant / source.name).write_text(source.text)
    data = tmp_path / "hub"
    with running_up(data, "--no-sim", "--config", str(plant), "--ready-timeout", "300") as up:
        wait_for_file(data / "runtime.json", up, 320)  # every service read 100,000 tags
        await wait_until(
            lambda: status(data)["device"]["config_version"] == 1,
            timeout=120,
            message="the device service runs version 1",
        )
        history = plantbus("config", "history", data_dir=data)
        assert history.returncode == 0, history.stderr
        assert "bootstrap" in history.stdout
        changed = sources[1].text.replace(tag_line(42, 7), tag_line(42, 7, scale=2.0), 1)
        (plant / "devices.yaml").write_text(changed)
        applied = plantbus("config", "apply", str(plant), data_dir=data)
        assert applied.returncode == 0, applied.stderr
        assert "applied version 2 (was 1)" in applied.stdout
        assert "@@ devices[dev42].tags[t7] @@" in applied.stdout
        assert len(applied.stdout.splitlines()) < 12  # the change, not the document
        seen = re.compile(r"applying config version 2 \(changed: devices; 1 devices\)")
        await wait_until(
            lambda: seen.search(device_log(data)) is not None,
            timeout=60,
            message="the device service is handed one changed device",
        )
        assert status(data)["governance"]["health"] == "serving"
        shown = plantbus("config", "show", data_dir=data)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.count("address: d99t") == 1000  # the whole plant, read back
        assert "scale: 2.0" in shown.stdout
