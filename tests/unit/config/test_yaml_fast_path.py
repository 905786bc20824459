"""The fast way of reading YAML (no line per value) reads the same data as the reader that
tracks lines, and leaves to it everything that has to be reported with a line."""

from __future__ import annotations

from pathlib import Path

import pytest

from plantbus.config.issues import ConfigIssue
from plantbus.config.loader import read_sources
from plantbus.config.yaml_reader import Limits, read_yaml

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "plant"
TRICKY = """\
a: 1
"quoted key": 'text: with colon'
3: int key
yes: [1.5, .5e1, 0x10, ~, null, true, 2024-01-02, "2024-01-02"]
nested: {x: [{y: z}, [], {}], empty: ""}
blank:
multi: |
  line one
  line two
"""


def both(text: str) -> tuple[object, object, list[ConfigIssue], list[ConfigIssue]]:
    slow_issues: list[ConfigIssue] = []
    fast_issues: list[ConfigIssue] = []
    slow = read_yaml("f.yaml", text, Limits(), slow_issues)
    fast = read_yaml("f.yaml", text, Limits(), fast_issues, lines=False)
    return (slow.data if slow else None), (fast.data if fast else None), slow_issues, fast_issues


@pytest.mark.parametrize("text", [TRICKY, "", "just a scalar\n", "- [a, b]\n- c\n"])
def test_the_fast_way_reads_the_same_data(text: str) -> None:
    slow, fast, slow_issues, fast_issues = both(text)
    assert fast == slow and slow_issues == fast_issues == []


def test_the_example_plant_reads_the_same_both_ways() -> None:
    for source in read_sources(EXAMPLE):
        slow, fast, _, _ = both(source.text)
        assert fast == slow


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("a: 1\na: 2\n", "duplicate key 'a': also at line 1"),
        ("a: &x 1\nb: *x\n", "anchors and aliases"),
        ("a: !!int 3\n", "explicit YAML tags"),
        ("a: 1\n---\nb: 2\n", "a second YAML document"),
        ("a: 2024-13-45\n", "cannot read '2024-13-45' as a timestamp"),
        ("[a]: 1\n", "a key must be a plain name"),
        ("a: ${HOME}\n", ""),
    ],
)
def test_what_must_be_reported_is_read_with_lines(text: str, found: str) -> None:
    issues: list[ConfigIssue] = []
    doc = read_yaml("f.yaml", text, Limits(), issues, lines=False)
    if found:
        assert any(found in i.message and i.line > 0 for i in issues), issues
    else:  # a ${VAR}: read with lines, so that it can be expanded in place
        assert doc is not None and doc.variables and doc.lines
