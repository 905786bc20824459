"""The device service imports only the driver plugins its devices use (the others cost
memory for nothing: the OPC UA driver's import alone is about 14 MB), and a device whose
driver is not installed still fails, naming the device and the driver."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

HOST = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from plantbus.config import PlantConfig
    from plantbus.device.service import DeviceService
    from plantbus.kit.service import ServiceContext
    from plantbus.plugins import plugin_infos

    async def no_audit(**_):
        return None

    def device(name, driver):
        tag = {"name": "t", "address": "t", "data_type": "uint32"}
        return {"name": name, "driver": driver, "endpoint": f"memory://{name}",
                "machine": "s/a/l/m", "poll_interval_s": 60, "tags": [tag]}

    async def main():
        service = DeviceService(ServiceContext("device", "t", None, Path(sys.argv[1]), no_audit))
        devices = [device("press", "memory"), device("lathe", "s7")]
        await service.apply_config(PlantConfig.model_validate({"devices": devices}), 1)
        watched = ("plantbus.testing.memory_driver", "plantbus_opcua", "asyncua",
                   "plantbus_modbus", "pymodbus")
        infos = {i.name: [i.loaded, i.error] for i in plugin_infos(service.drivers)}
        out = {"imported": [m for m in watched if m in sys.modules],
               "failed": service.failed["lathe"][1], "infos": infos}
        for runner in service.runners.values():
            await runner.stop()
        service.spool.close()
        print(json.dumps(out))

    asyncio.run(main())
    """
)


def test_only_the_configured_drivers_are_imported(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", HOST, str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["imported"] == ["plantbus.testing.memory_driver"]
    assert "'s7'" in out["failed"] and "no such plugin in plantbus.drivers" in out["failed"]
    assert "opcua" in out["failed"], "the error lists the drivers that are installed"
    assert out["infos"]["memory"] == [True, ""]
    assert out["infos"]["opcua"][0] is False and "not imported" in out["infos"]["opcua"][1]
