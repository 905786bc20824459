"""The ``uns:`` section: opt-in subtrees, a prefix under the granted root, file:line errors."""

from __future__ import annotations

from pathlib import Path

from plantbus.config.loader import load_path
from tests.unit.config.test_loader import DEVICES, PLANT, issues_of, write

UNS = """\
uns:
  prefix: uns/acme/v1
  publish:
    - path: demo/machining/line1/m1
      alarms: false
    - path: demo/machining/line1/m2
      values: false
"""


def test_subtrees_select_what_they_cover(tmp_path: Path) -> None:
    config = load_path(write(tmp_path, plant=PLANT, devices=DEVICES, uns=UNS)).uns
    assert config.prefix == "uns/acme/v1"
    assert config.selects("demo/machining/line1/m1/temp", "values")
    assert config.selects("demo/machining/line1/m1", "oee")
    assert not config.selects("demo/machining/line1/m1", "alarms")  # turned off
    assert not config.selects("demo/machining/line1", "oee")  # above the subtree
    assert not config.selects("demo/machining/line1/m10/temp", "values")  # a sibling's prefix
    assert config.selects("demo/machining/line1/m2", "downtime")
    assert not config.selects("demo/machining/line1/m2/temp", "values")


def test_without_a_section_nothing_is_published(tmp_path: Path) -> None:
    config = load_path(write(tmp_path, plant=PLANT, devices=DEVICES)).uns
    assert config.prefix == "uns" and not config.publish
    assert not config.selects("demo/machining/line1/m1/temp", "values")


def test_bad_prefixes_and_unknown_paths_name_file_and_line(tmp_path: Path) -> None:
    bad = """\
uns:
  prefix: umh/v1
  publish:
    - path: demo/machining/line9
    - path: demo/+/line1
"""
    issues = issues_of(write(tmp_path, plant=PLANT, devices=DEVICES, uns=bad))
    uns = str(tmp_path / "uns.yaml")
    assert any(i.startswith(f"{uns}:2: uns.prefix:") and "start it with 'uns'" in i for i in issues)
    assert any(i.startswith(f"{uns}:5: uns.publish[1].path:") for i in issues), issues


def test_a_path_outside_the_plant_is_refused(tmp_path: Path) -> None:
    bad = "uns:\n  publish:\n    - path: demo/machining/line9\n"
    (issue,) = issues_of(write(tmp_path, plant=PLANT, devices=DEVICES, uns=bad))
    assert issue.startswith(f"{tmp_path / 'uns.yaml'}:3: uns.publish[0].path: unknown plant path")
