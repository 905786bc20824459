"""NaN and infinities in a config file (YAML ``.nan``, ``.inf``) are refused with file and
line, in the hub's own sections and in a plugin's settings alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from plantbus.config.issues import ConfigInvalid
from plantbus.config.loader import load_path

CONFIG = """\
sites:
  - name: s
    areas: [{name: a, lines: [{name: l, machines: [{name: m1}]}]}]
devices:
  - name: plc1
    driver: modbus
    endpoint: modbus://127.0.0.1:5020
    machine: s/a/l/m1
    poll_interval_s: 0.5
    settings:
      timeout_s: 2.0
    tags:
      - name: speed
        address: holding:0:uint16
        data_type: uint16
        access: read_write
        max: 5000
alert_rules:
  - name: hot
    kind: high
    machine: s/a/l/m1
    tag: speed
    limit: 70
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "plant.yaml"
    path.write_text(text)
    with pytest.raises(ConfigInvalid) as info:
        load_path(path)
    return [str(i) for i in info.value.issues]


def test_the_config_without_non_finite_numbers_loads(tmp_path: Path) -> None:
    (tmp_path / "plant.yaml").write_text(CONFIG)
    assert load_path(tmp_path / "plant.yaml").devices[0].tags[0].max == 5000


@pytest.mark.parametrize("spelling", [".nan", ".NaN", ".inf", "-.inf", "+.Inf"])
def test_a_non_finite_number_in_the_hubs_sections_names_file_and_line(
    tmp_path: Path, spelling: str
) -> None:
    text = CONFIG.replace("poll_interval_s: 0.5", f"poll_interval_s: {spelling}")
    found = problems(tmp_path, text)
    assert len(found) == 1, found
    assert found[0].startswith(f"{tmp_path / 'plant.yaml'}:9: devices[0].poll_interval_s:")
    assert "finite number" in found[0]


def test_a_tag_limit_of_infinity_and_a_rule_limit_of_nan_are_refused(tmp_path: Path) -> None:
    text = CONFIG.replace("max: 5000", "max: .inf").replace("limit: 70", "limit: .nan")
    found = "\n".join(problems(tmp_path, text))
    assert f"{tmp_path / 'plant.yaml'}:17: devices[0].tags[0].max: found inf" in found
    # the rule's line: pydantic puts the rule kind ("high") into the error's location
    assert f"{tmp_path / 'plant.yaml'}:19: alert_rules[0].high.limit: found nan" in found


def test_a_non_finite_number_in_a_plugins_settings_names_file_and_line(tmp_path: Path) -> None:
    """The modbus driver's own model allows an infinite timeout; the hub does not."""
    found = problems(tmp_path, CONFIG.replace("timeout_s: 2.0", "timeout_s: .inf"))
    assert len(found) == 1, found
    assert found[0].startswith(f"{tmp_path / 'plant.yaml'}:11: devices[0].settings.timeout_s:")
    assert "finite number" in found[0] and "inf" in found[0]
