"""The uns service hears a family of subjects only while the config publishes its kind:
a plant that publishes no values costs it no decoding of the device cycles, and a version
that opts values in publishes the next cycle."""

from __future__ import annotations

from plantbus.config import PlantConfig
from plantbus.testing.waiting import wait_until
from plantbus.uns.service import UnsService
from tests.integration.uns.conftest import PLANT, Listener
from tests.integration.uns.test_mqtt_namespace import TEMP, published, send

M1 = TEMP.rpartition("/")[0]


async def test_only_the_families_of_the_published_kinds_are_heard(
    listener: Listener, uns: UnsService
) -> None:
    assert uns.heard == ["alarm", "cycle", "downtime", "oee"]
    oee_only = {**PLANT, "uns": {"publish": [{"path": M1, "values": False, "alarms": False}]}}
    await uns.apply_config(PlantConfig.model_validate(oee_only), 2)
    assert uns.heard == ["downtime", "oee"]
    device = await listener.bus("device")
    try:
        await send(device, TEMP, 1.0)  # not heard: values are not published
        await uns.apply_config(PlantConfig.model_validate(PLANT), 3)
        assert uns.heard == ["alarm", "cycle", "downtime", "oee"]
        before = uns.mqtt.counters.published
        await send(device, TEMP, 2.0, at=1_700_000_001.0)
        await published(uns, before + 1)
    finally:
        await device.close()
    nothing = {**PLANT, "uns": {"publish": []}}
    await uns.apply_config(PlantConfig.model_validate(nothing), 4)
    assert uns.heard == []
    await wait_until(lambda: uns.health()[0])
