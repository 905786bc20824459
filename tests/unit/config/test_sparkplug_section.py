"""The sparkplug section is checked like the rest of the config: every problem with its
file and line, the broker password only as a secret reference (never repeated back)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from plantbus.config.issues import ConfigInvalid
from plantbus.config.loader import load_path

PLANT = """\
sites:
  - name: demo
    areas:
      - name: machining
        lines:
          - name: line1
            machines:
              - name: m1
devices:
  - name: m1-plc
    driver: memory
    endpoint: memory://m1
    machine: demo/machining/line1/m1
users:
  - name: scada
"""


def section(
    url: str = "mqtts://broker.plant:8883",
    password: str = "env:MQTT_PASSWORD",
    user: str = "scada",
    devices: str = "[m1-plc]",
) -> str:
    return textwrap.dedent(f"""\
        sparkplug:
          broker:
            url: {url}
            username: hub
            password: {password}
          group_id: plant
          edge_node_id: hub1
          user: {user}
          devices: {devices}
        """)


def load(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "plant.yaml").write_text(PLANT)
    (tmp_path / "sparkplug.yaml").write_text(text)
    with pytest.raises(ConfigInvalid) as info:
        load_path(tmp_path)
    return [str(issue) for issue in info.value.issues]


def test_a_valid_section_loads(tmp_path: Path) -> None:
    (tmp_path / "plant.yaml").write_text(PLANT)
    (tmp_path / "sparkplug.yaml").write_text(section())
    config = load_path(tmp_path)
    assert config.sparkplug is not None
    broker = config.sparkplug.broker
    assert (broker.host, broker.port, broker.tls) == ("broker.plant", 8883, True)
    assert config.sparkplug.commands == "write"


def test_a_password_written_in_place_is_refused_without_repeating_it(tmp_path: Path) -> None:
    (problem,) = load(tmp_path, section(password="hunter2-Secret"))
    assert "sparkplug.yaml:5" in problem and "sparkplug.broker.password" in problem
    assert "env:NAME" in problem
    assert "hunter2" not in problem


def test_unknown_user_and_device_are_named_with_their_lines(tmp_path: Path) -> None:
    problems = load(tmp_path, section(user="nobody", devices="[m1-plc, m9-plc]"))
    assert any("sparkplug.yaml:8" in p and "unknown user 'nobody'" in p for p in problems)
    assert any("sparkplug.yaml:9" in p and "unknown device 'm9-plc'" in p for p in problems)


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("tcp://broker:1883", "mqtt://host:port"),
        ("mqtt://broker:http", "port must be a number"),
        ("mqtt://hub:pw@broker:1883", "credentials go in username and password"),
    ],
)
def test_a_broker_url_that_is_not_one_says_how_to_write_it(
    tmp_path: Path, url: str, hint: str
) -> None:
    (problem,) = load(tmp_path, section(url=url))
    assert "sparkplug.yaml:3" in problem and hint in problem


def test_certificates_need_tls(tmp_path: Path) -> None:
    text = section(url="mqtt://broker:1883").replace(
        "    username: hub\n", "    username: hub\n    ca_file: /etc/ca.pem\n"
    )
    (problem,) = load(tmp_path, text)
    assert "sparkplug.broker.url" in problem and "mqtts://" in problem
