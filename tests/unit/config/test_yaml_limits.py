"""Hostile and broken YAML: aliases, deep nesting, duplicate keys, oversized documents and
unreadable values are refused with file:line, fast and in bounded memory."""

from __future__ import annotations

import tracemalloc

import pytest

from plantbus.config.issues import ConfigInvalid
from plantbus.config.loader import Limits, Source, load_sources


def issues(text: str, limits: Limits | None = None) -> list[str]:
    with pytest.raises(ConfigInvalid) as info:
        load_sources([Source("x.yaml", text)], limits=limits)
    return [str(i) for i in info.value.issues]


def alias_bomb() -> str:
    """Six levels of nine aliases each: 9**6 = 531,441 'lol's from 249 bytes."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcde", "bcdef", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines.append("sites: [*f]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_in_bounded_memory() -> None:
    bomb = alias_bomb()
    assert len(bomb) < 345
    load_sources([Source("empty.yaml", "")])  # plugin discovery: once, not per document
    tracemalloc.start()
    try:
        problems = issues(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the old loader expanded it to 313 MiB (memory, unlike time, does not vary with load)
    assert peak < 2 * 2**20, peak
    assert problems == [
        "x.yaml:1: a: anchors and aliases (&name, *name, <<: *name) are not allowed in plant "
        "config: write the repeated part out in full where it is used"
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("sites:\n  - name: m1\n    areas: *base\n", 3),
        ("sites:\n  - &m {name: m1}\n", 2),
        ("sites:\n  - name: m1\n    <<: {areas: []}\n", 3),
    ],
    ids=["alias", "anchor", "merge key"],
)
def test_anchors_aliases_and_merge_keys_are_refused_at_their_line(text: str, line: int) -> None:
    (problem,) = issues(text)
    assert problem.startswith(f"x.yaml:{line}: sites[0]") and "write the repeated part" in problem


def test_thousands_of_nested_brackets_are_refused_with_the_line() -> None:
    text = "sites:\n  - name: m1\n    areas: " + "[" * 3000 + "]" * 3000 + "\n"
    (problem,) = issues(text)  # the old loader raised RecursionError
    assert problem.startswith("x.yaml:3: sites: nested more than 64 levels deep"), problem


def test_nesting_up_to_the_bound_is_read() -> None:
    # the top mapping, sites, and the rest: 64 levels exactly
    text = "sites: " + "[" * 63 + "]" * 63 + "\n"
    assert not any("nested" in p for p in issues(text))
    assert "nested more than 5 levels" in issues(text, Limits(max_depth=5))[0]


def test_duplicate_keys_are_reported_with_both_lines() -> None:
    text = """\
sites:
  - name: demo
    areas: []
    name: other
roles: []
roles: [{name: x}]
"""
    problems = issues(text)
    assert (
        "x.yaml:4: sites[0].name: duplicate key 'name': also at line 2; keep one of them"
        in problems
    )
    assert "x.yaml:6: roles: duplicate key 'roles': also at line 5; keep one of them" in problems


def test_a_document_over_the_size_bound_is_refused_before_it_is_read() -> None:
    text = "sites: []\n" + "# padding\n" * 200
    (problem,) = issues(text, Limits(max_bytes=1000))
    assert problem == (
        "x.yaml:1: <root>: document is 2,010 bytes, more than the limit of 1,000 "
        "(governance option max_config_bytes)"
    )
    assert Limits().max_bytes == 32 * 2**20


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sites: [\n  {name: m1\n", "x.yaml:2: <root>: malformed YAML: did not find expected"),
        ("sites: []\nroles: \x07\n", "x.yaml:2: <root>: malformed YAML: unacceptable character"),
        ("sites: []\n---\nroles: []\n", "x.yaml:2: <root>: a second YAML document"),
        ("sites: []\nroles: !!int x\n", "x.yaml:2: roles: explicit YAML tags"),
        ("sites:\n  - name: 2024-13-45\n", "x.yaml:2: sites[0].name: cannot read '2024-13-45'"),
        ("sites:\n  ? [a, b]\n  : 1\n", "x.yaml:2: sites: a key must be a plain name"),
    ],
    ids=["unclosed", "control character", "two documents", "tag", "bad date", "list as key"],
)
def test_unreadable_yaml_names_file_and_line(text: str, expected: str) -> None:
    (problem,) = issues(text)
    assert problem.startswith(expected), problem
