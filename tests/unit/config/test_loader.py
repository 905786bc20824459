"""Config loading: every error at once, each with file, line, field path, found and expected."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from plantbus.config.issues import ConfigInvalid
from plantbus.config.loader import Source, load_path, load_sources

PLANT = """\
sites:
  - name: demo
    areas:
      - name: machining
        lines:
          - name: line1
            machines:
              - name: m1
              - name: m2
"""

DEVICES = """\
devices:
  - name: plc1
    driver: memory
    endpoint: memory://plc1
    machine: demo/machining/line1/m1
    poll_interval_s: 0.5
    tags:
      - name: temp
        address: t
        data_type: float32
      - name: speed
        address: s
        data_type: uint16
        access: read_write
"""


def write(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(textwrap.dedent(text))
    return tmp_path


def issues_of(path: Path) -> list[str]:
    with pytest.raises(ConfigInvalid) as info:
        load_path(path)
    return [str(i) for i in info.value.issues]


def test_directory_of_files_merges_sections(tmp_path: Path) -> None:
    config = load_path(write(tmp_path, plant=PLANT, devices=DEVICES))
    assert config.machine_paths() == {"demo/machining/line1/m1", "demo/machining/line1/m2"}
    assert config.tag_paths() == {"demo/machining/line1/m1/temp", "demo/machining/line1/m1/speed"}


def test_every_error_is_reported_with_file_and_line(tmp_path: Path) -> None:
    broken = DEVICES.replace("poll_interval_s: 0.5", "pol_interval_s: 0.5")
    broken = broken.replace("data_type: float32", "data_type: float33")
    broken = broken.replace("machine: demo/machining/line1/m1", "machine: demo/machining/line1/m9")
    problems = issues_of(write(tmp_path, plant=PLANT, devices=broken))
    devices = str(tmp_path / "devices.yaml")
    assert any(
        p.startswith(f"{devices}:6: devices[0].pol_interval_s: unknown key")
        and "did you mean 'poll_interval_s'" in p
        for p in problems
    ), problems
    assert any(
        p.startswith(f"{devices}:10: devices[0].tags[0].data_type: found 'float33'")
        for p in problems
    ), problems
    assert len(problems) == 2  # the unknown machine is found once the schema errors are fixed


def test_cross_reference_errors_are_all_reported(tmp_path: Path) -> None:
    broken = DEVICES.replace("machine: demo/machining/line1/m1", "machine: demo/machining/line1/m9")
    broken = broken.replace("driver: memory", "driver: s7")
    broken += "      - name: temp\n        address: x\n        data_type: bool\n"
    policies = """\
    roles: [{name: engineer}]
    write_policies:
      - {name: p1, roles: [engineer, nobody], tags: [demo/machining/line1/m1/temp]}
    """
    problems = issues_of(write(tmp_path, plant=PLANT, devices=broken, security=policies))
    text = "\n".join(problems)
    assert "devices.yaml:5: devices[0].machine: unknown machine 'demo/machining/line1/m9'" in text
    assert "devices.yaml:3: devices[0].driver: plugin 's7': no such plugin" in text
    assert "devices[0].tags[2].name: duplicate tag name 'temp'" in text
    assert "security.yaml:3: write_policies[0].roles[1]: unknown role 'nobody'" in text
    assert "matches no read_write tag" in text


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    problems = issues_of(write(tmp_path, plant=PLANT + "  - name: [unclosed\n"))
    assert len(problems) == 1
    assert "plant.yaml:10" in problems[0] and "malformed YAML" in problems[0]


def test_section_in_two_files_is_refused(tmp_path: Path) -> None:
    problems = issues_of(write(tmp_path, a=PLANT, b=PLANT))
    assert any("b.yaml:1: sites: section already defined in" in p for p in problems), problems


def test_invalid_subject_token_is_refused() -> None:
    with pytest.raises(ConfigInvalid) as info:
        load_sources([Source("x.yaml", "sites:\n  - name: 'bad.name'\n")])
    (issue,) = info.value.issues
    assert (issue.line, issue.path) == (2, "sites[0].name")
    assert "letters, digits" in issue.message


def test_environment_references_are_expanded() -> None:
    text = DEVICES.replace("memory://plc1", "memory://${PLC_HOST}:${PLC_PORT:-502}")
    environ = {"PLC_HOST": "plc.example"}
    config = load_sources([Source("p.yaml", PLANT), Source("d.yaml", text)], environ=environ)
    assert config.devices[0].endpoint == "memory://plc.example:502"
    with pytest.raises(
        ConfigInvalid,
        match=r"d\.yaml:4: devices\[0\]\.endpoint: environment variable NOPE is not set",
    ):
        load_sources(
            [Source("p.yaml", PLANT), Source("d.yaml", text.replace("PLC_HOST", "NOPE"))],
            environ=environ,
        )
