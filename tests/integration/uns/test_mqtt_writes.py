"""Write requests over MQTT that the uns service refuses before any device is asked: from an
MQTT user the config names no plant user for, with a payload that is not ``{"value": ...}``,
for a path that is no tag. Each is audited and its outcome comes back on ``.../_result``
(the writes that reach a PLC: tests/e2e/test_mqtt_write.py)."""

from __future__ import annotations

import json
from typing import Any

from plantbus.config import PlantConfig
from plantbus.kit.natsauth import MQTT_WRITER
from plantbus.testing.waiting import wait_until
from plantbus.uns.service import UnsService
from tests.integration.uns.conftest import PLANT, Audit, Listener, Paho, mosquitto, needs_mosquitto

TAG = "demo/machining/line1/m1/speed"
TREE = f"uns/_set/{MQTT_WRITER}"


async def ask(listener: Listener, path: str, payload: str) -> dict[str, Any]:
    """Publish a request as the MQTT writer with mosquitto_pub; its outcome, read by paho."""
    results = Paho(listener, MQTT_WRITER)
    try:
        assert not (await results.connect()).is_failure
        results.client.subscribe(f"{TREE}/{path}/_result", qos=1)
        await wait_until(lambda: results.granted, message="SUBACK")
        code, _, err = await mosquitto(
            "mosquitto_pub", *listener.mosquitto(MQTT_WRITER), "-q", "1",
            "-t", f"{TREE}/{path}", "-m", payload,
        )  # fmt: skip
        assert code == 0, err
        (message,) = await wait_until(lambda: results.messages, message="the outcome")
    finally:
        results.close()
    assert not message.retain
    return dict(json.loads(message.payload))


@needs_mosquitto
async def test_a_writer_the_config_names_no_plant_user_for_is_refused(
    listener: Listener, uns: UnsService, audit: Audit
) -> None:
    outcome = await ask(listener, TAG, '{"value": 5, "id": "x1"}')
    assert (outcome["outcome"], outcome["id"]) == ("refused", "x1")
    assert "uns.writers" in outcome["detail"]
    (record,) = await wait_until(lambda: audit.actions("uns.write"), message="audited")
    assert (record["target"], record["actor"]) == (TAG, MQTT_WRITER)
    assert record["attributes"] == {"mqtt_user": MQTT_WRITER}
    assert uns.writes.counters == {"written": 0, "refused": 1}


@needs_mosquitto
async def test_a_malformed_request_or_an_unknown_tag_is_refused_and_audited(
    listener: Listener, uns: UnsService, audit: Audit
) -> None:
    plant = {**PLANT, "users": [{"name": "engineer"}]}
    plant["uns"] = {**plant["uns"], "writers": {MQTT_WRITER: "engineer"}}
    await uns.apply_config(PlantConfig.model_validate(plant), 2)
    malformed = await ask(listener, TAG, "1200")
    assert malformed["outcome"] == "refused" and '"value"' in malformed["detail"]
    assert "id" not in malformed
    unknown = await ask(listener, TAG, '{"value": 1200}')
    assert unknown["outcome"] == "refused" and "no tag of devices" in unknown["detail"]
    await wait_until(lambda: len(audit.actions("uns.write")) == 2, message="both audited")
    records = audit.actions("uns.write")
    assert {r["actor"] for r in records} == {"engineer"}
    assert "writers: mqtt-writer as engineer" in audit.actions("uns.publish")[-1]["detail"]
