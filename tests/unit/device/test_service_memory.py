"""After applying a config, the device service leaves what it holds out of the garbage
collector's full walks (at plant scale those stalled every device's polling)."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from plantbus.config import PlantConfig
from plantbus.device.service import DeviceService
from plantbus.kit.service import ServiceContext


async def _no_audit(**_: Any) -> None:
    return None


async def test_applying_a_config_freezes_what_is_alive(tmp_path: Path) -> None:
    service = DeviceService(ServiceContext("device", "t", None, tmp_path, _no_audit))  # type: ignore[arg-type]
    gc.unfreeze()
    try:
        await service.apply_config(PlantConfig(), 1)
        assert gc.get_freeze_count() > 1000
        assert service.config_version == 1
    finally:
        gc.unfreeze()
        service.spool.close()
