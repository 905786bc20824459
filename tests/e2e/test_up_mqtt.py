"""`plantbus up` with its MQTT listener, from the outside, as a Node-RED-style flow sees it:
mosquitto_sub (Debian's mosquitto-clients) as ``mqtt-reader`` reads the demo line's live
values as retained JSON; `plantbus status` and runtime.json name the listener; an anonymous
client is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plantbus.kit import natsauth, natsconfig
from tests.hub import demo_plant, plantbus, running_hub, status

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not shutil.which("mosquitto_sub"),
        reason="mosquitto_sub not installed: apt-get install mosquitto-clients",
    ),
]
TEMP = "uns/demo/machining/line1/m1/spindle_temp"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("mqtt")
    data = tmp / "hub"
    with running_hub(data, "--config", str(demo_plant(tmp))):
        yield data


def sub(data: Path, *args: str, user: str | None = natsauth.MQTT_READER) -> Any:
    port = json.loads((data / "runtime.json").read_text())["mqtt_url"].rsplit(":", 1)[1]
    login = []
    if user:
        secret = natsconfig.password_file(natsconfig.credentials_dir(data), user).read_text()
        login = ["-u", user, "-P", secret.strip()]
    return subprocess.run(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-V", "mqttv311", *login, *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_a_flow_reads_live_values_as_retained_json(hub: Path) -> None:
    deadline = time.monotonic() + 30
    while status(hub).get("uns", {}).get("health") != "serving":
        assert time.monotonic() < deadline, status(hub).get("uns")
        time.sleep(0.5)
    text = plantbus("status", data_dir=hub).stdout
    mqtt_url = json.loads((hub / "runtime.json").read_text())["mqtt_url"]
    assert mqtt_url.startswith("mqtt://127.0.0.1:") and f"MQTT {mqtt_url}" in text
    first = sub(hub, "-t", TEMP, "-C", "1", "-W", "20")
    assert first.returncode == 0, first.stderr
    value = json.loads(first.stdout)
    assert set(value) == {"timestamp_ms", "value", "quality", "unit"}
    assert value["unit"] == "degC" and value["quality"] == "good"
    assert isinstance(value["value"], float)
    oee = sub(hub, "-t", "uns/demo/machining/line1/m1/_oee", "-C", "2", "-W", "20")
    retained, change = (json.loads(line) for line in oee.stdout.splitlines())
    assert retained["scope"] == "demo/machining/line1/m1"
    assert change["timestamp_ms"] > retained["timestamp_ms"]  # live: the next snapshot


def test_an_anonymous_mqtt_client_is_refused(hub: Path) -> None:
    refused = sub(hub, "-t", "uns/#", "-C", "1", "-W", "5", user=None)
    assert refused.returncode != 0 and "not authorised" in refused.stderr.lower()
