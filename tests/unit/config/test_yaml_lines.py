"""The line reader reads exactly what yaml.safe_load (and the event reader that tracks
lines) reads, or gives up: on generated documents of the block layout plant configs use,
with hostile-looking scalars, and with noise that leaves the subset it understands."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plantbus.config.issues import ConfigIssue
from plantbus.config.loader import read_sources
from plantbus.config.yaml_items import cut
from plantbus.config.yaml_lines import NotPlain, PlainScalars, line_data
from plantbus.config.yaml_reader import Limits, read_yaml
from tests.big_plant import big_plant

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "plant"
HOSTILE = [
    "0o17", "0x1F", "0b101", "017", "08", "1_000", "+12", "-0", "1:20", "190:20:30.15",
    "1.5", "-.5", "1e3", "1.0e+3", "6.8523015e+5", ".inf", "-.Inf", ".NaN", ".nan",
    "yes", "No", "ON", "off", "True", "FALSE", "y", "n", "~", "null", "Null", "NULL", "",
    "2024-01-02", "2024-13-45", "2001-12-14t21:59:43.10-05:00", "<<", "=", "-", "--", "a b",
    "a  b", "a #b", "a#b", "a: b", "a:", ":a", "?a", "@a", "`a", "%a", "!a", "&a", "*a",
    "|", ">", "a,b", "a[1]", "{a}", "[a]", "it's", 'say "x"', "\\", "é", "Süd", "\u2028",
    "\xa0", "\ufeff", "${X}", "$5", "memory://dev0", "ns=2;s=T", "a\tb",
]  # fmt: skip
QUOTED = [
    "'it''s'", "''", "'a: b'", "'#x'", "'${X}'", '"\\x41"', '"\\u00e9"', '"\\U0001F600"',
    '"\\N\\_\\L\\P"', '"\\t\\n\\0\\e"', '"\\/"', '"a\\"b"', '"\\\\"', '"\\ud800"', '"\\x24{X}"',
    '"\\q"', '"a', "'a", '"tab\there"',
]  # fmt: skip
KEYS = ["a", "b", "name", "tags", "x.y", "x-y", "a/b", "yes", "on", "1", "1.5", "null", "~",
        "<<", "a b", "'q'", "k:", "2024-01-02", "_"]  # fmt: skip
CHARS = "aZ09 _-.:#'\"\\,[]{}~+/!&*|>%@`?=<é\xa0"
NOISE = ["", "# a comment", "  # indented comment", "   ", "\t", "---", "...", "%YAML 1.1"]


def same(a: Any, b: Any) -> bool:
    """Equal, with the types of scalars (True is not 1) and NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def check(text: str) -> bool:
    """The line reader gives up on ``text`` or reads what the others read; whether it read."""
    try:
        got = line_data(text, Limits(), PlainScalars())
    except NotPlain:
        return False
    expected = yaml.safe_load(text)  # raises if the line reader read something invalid
    issues: list[ConfigIssue] = []
    doc = read_yaml("f.yaml", text, Limits(), issues)
    assert doc is not None and not issues, issues
    assert same(got, expected) and same(got, doc.data), (text, got, expected)
    return True


scalar_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.sampled_from(QUOTED),
    st.text(alphabet=CHARS, max_size=6),
    st.text(alphabet=CHARS, max_size=6).map(lambda t: "'" + t.replace("'", "''") + "'"),
)
tame_text = st.sampled_from(HOSTILE[:33]) | st.text(alphabet="aZ09_.-+~/:é", max_size=6)
"""Scalars that mostly read (the first of HOSTILE are numbers, booleans and nulls)."""


@dataclass(frozen=True)
class Style:
    """What the documents of one example are written with: anything, or what mostly reads."""

    values: st.SearchStrategy[str]
    keys: st.SearchStrategy[str]
    unique: bool
    after: st.SearchStrategy[str]
    """What follows a value on its line."""


def style(scalars: st.SearchStrategy[str], keys: list[str], tame: bool) -> Style:
    flow_map = st.lists(
        st.tuples(st.sampled_from(keys), scalars),
        max_size=4,
        unique_by=((lambda pair: pair[0]) if tame else (lambda pair: pair)),
    ).map(lambda pairs: "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}")
    flow_list = st.lists(scalars, max_size=4).map(lambda items: "[" + ", ".join(items) + "]")
    after = st.sampled_from(["", "  "] if tame else ["", "  ", " # c"])
    return Style(scalars | flow_map | flow_list, st.sampled_from(keys), tame, after)


STYLES = [style(scalar_text, KEYS, False), style(tame_text, KEYS[:7], True)]


@st.composite
def mapping(draw: st.DrawFn, indent: int, depth: int, how: Style) -> list[str]:
    lines: list[str] = []
    for key in draw(st.lists(how.keys, min_size=1, max_size=4, unique=how.unique)):
        head = " " * indent + key + ":"
        kinds = ["value", "empty", "map", "list", "compact"] if depth < 3 else ["value", "empty"]
        kind = draw(st.sampled_from(kinds))
        if kind == "value":
            lines.append(f"{head} {draw(how.values)}{draw(how.after)}")
            continue
        lines.append(head)
        if kind == "map":
            lines += draw(mapping(indent + draw(st.sampled_from([1, 2, 4])), depth + 1, how))
        elif kind in {"list", "compact"}:
            lines += draw(sequence(indent + (2 if kind == "list" else 0), depth + 1, how))
    return lines


@st.composite
def sequence(draw: st.DrawFn, indent: int, depth: int, how: Style) -> list[str]:
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        if depth < 3 and draw(st.booleans()):
            inner = draw(mapping(indent + 2, depth + 1, how))
            lines += [" " * indent + "- " + inner[0][indent + 2 :], *inner[1:]]
        else:
            lines.append(" " * indent + "- " + draw(how.values))
    return lines


@st.composite
def document(draw: st.DrawFn) -> str:
    how = draw(st.sampled_from(STYLES))
    indent = draw(st.sampled_from([0, 0, 2]))
    top = mapping if draw(st.booleans()) else sequence
    lines = draw(top(indent, 0, how))
    noise = 0 if how.unique else draw(st.integers(0, 2))
    for _ in range(noise):  # comments, odd lines, shifted lines
        at = draw(st.integers(0, len(lines)))
        if draw(st.booleans()):
            lines.insert(at, draw(st.sampled_from(NOISE)))
        elif at < len(lines):
            lines[at] = draw(st.sampled_from([" ", "  ", "- "])) + lines[at]
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document())
def test_generated_documents_read_as_safe_load_reads_them_or_are_given_up(text: str) -> None:
    check(text)


@pytest.mark.parametrize("raw", HOSTILE + QUOTED)
@pytest.mark.parametrize("shape", ["k: {}\n", "- {}\n", "k: [{}]\n", "k: {{x: {}}}\n"])
def test_hostile_scalars_read_as_safe_load_reads_them_or_are_given_up(raw: str, shape: str) -> None:
    check(shape.format(raw))


@pytest.mark.parametrize(
    ("raw", "value"),
    [("0o17", "0o17"), ("1_000", 1000), ("1:20", 80), ("yes", True), ("~", None),
     (".NaN", math.nan), ("'it''s'", "it's"), ('"\\x41"', "A"), ("0x1F", 31), ("", None)],
)  # fmt: skip
def test_yaml_1_1_typing_is_read_not_given_up(raw: str, value: object) -> None:
    assert check(f"k: {raw}\n")
    assert same(line_data(f"k: {raw}\n", Limits(), PlainScalars())["k"], value)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",  # a duplicate key: the event reader reports it
        "- {a: 1, a: 2}\n",
        "a: &x 1\nb: *x\n",
        "a: !!int 3\n",
        "a: 1\n---\nb: 2\n",
        "a: 2024-13-45\n",
        "a: ${HOME}\n",
        'a: "\\x24{HOME}"\n',
        "a: |\n  text\n",
        "a: one\n  two\n",  # a plain scalar on two lines
        "a: 1 # after a value\n",
        "a:\n\tb: 1\n",
        "3: int key\n",
        "a: {b: {c: 1}}\n",
        "<<: {a: 1}\n",
    ],
)
def test_what_it_does_not_understand_is_given_up(text: str) -> None:
    with pytest.raises(NotPlain):
        line_data(text, Limits(), PlainScalars())


def test_nesting_deeper_than_the_limit_is_given_up() -> None:
    text = "".join(" " * i + "a:\n" for i in range(9)) + " " * 9 + "a: 1\n"
    assert check(text)
    with pytest.raises(NotPlain):
        line_data(text, Limits(max_depth=9), PlainScalars())


def test_a_generated_plant_is_read_line_by_line() -> None:
    """Whole (validation) and item by item as governance cuts it (an apply)."""
    for source in big_plant(3, 20):
        layout = cut(source.text)
        items = [text for texts in layout.items.values() for text in texts]
        for text in [source.text, layout.skeleton, *items]:
            assert check(text), text


def test_the_example_plant_reads_the_same_or_is_given_up() -> None:
    """Its flow mappings go on over lines, and it has ${VAR}s and integer keys: the
    event reader reads those."""
    for source in read_sources(EXAMPLE):
        check(source.text)
