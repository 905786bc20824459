"""Whatever a stranger writes in a config file, loading answers with a config or with
ConfigInvalid listing located problems: never a crash, never a blow-up (aliases, deep
nesting, duplicate keys, long documents); and expanding ``${VAR}`` keeps the structure."""

from __future__ import annotations

import time
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from plantbus.config.issues import ConfigInvalid
from plantbus.config.loader import Limits, Source, expand_variables, load_sources
from plantbus.config.yaml_reader import VARIABLE, read_yaml

SECTIONS = [
    "sites",
    "devices",
    "oee",
    "shift_calendars",
    "alert_rules",
    "notifiers",
    "erp",
    "users",
    "roles",
    "write_policies",
    "bogus",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70000),
    st.floats(allow_nan=False),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "driver",
                    "machine",
                    "tags",
                    "address",
                    "kind",
                    "data_type",
                    "areas",
                    "lines",
                    "machines",
                    "limit",
                ]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


def check(text: str) -> list[str]:
    """The problems found, each located in fuzz.yaml (none when the config is valid), in
    under a second of this process's CPU (not of the wall clock, which a loaded CI
    machine stretched past a second once)."""
    began = time.process_time()
    try:
        load_sources([Source("fuzz.yaml", text)], environ={}, limits=Limits(max_bytes=20_000))
    except ConfigInvalid as err:
        assert err.issues
        for issue in err.issues:
            assert issue.file == "fuzz.yaml" and issue.message
            assert issue.line <= text.count("\n") + 2, (issue, text)
        return [issue.message for issue in err.issues]
    finally:
        assert time.process_time() - began < 1.0
    return []


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(SECTIONS), values, max_size=4))
def test_structured_garbage(doc: dict[str, object]) -> None:
    check(yaml.safe_dump(doc))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    check(text)


yaml_ish = st.text(alphabet=st.sampled_from(list("[]{}:,-?#&*!|>'\"\n \t${}<ab01.")), max_size=2000)


@settings(max_examples=100, deadline=None)
@given(yaml_ish)
def test_longer_text_made_of_yaml_syntax(text: str) -> None:
    check(text)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(SECTIONS), values, st.integers(1, 4))
def test_shared_values_are_refused_as_aliases(section: str, shared: Any, uses: int) -> None:
    # safe_dump writes an object used twice as &id001 ... *id001
    text = yaml.safe_dump({section: [shared] * uses, "roles": shared})
    problems = check(text)
    if "&id" in text:
        assert any("anchors and aliases" in p for p in problems), (text, problems)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 130), st.sampled_from(["[", "{a: ", "- ", "a:"]), st.booleans())
def test_deep_nesting_is_bounded(depth: int, opener: str, closed: bool) -> None:
    if opener in ("- ", "a:"):  # block collections nest by indentation
        text = "sites:\n" + "".join(" " * (i + 1) + opener + "\n" for i in range(depth))
    else:
        closer = {"[": "]", "{a: ": "}"}[opener]
        text = "sites: " + opener * depth + (closer * depth if closed else "") + "\n"
    problems = check(text)
    if depth >= 64 and (closed or opener in ("- ", "a:")):
        assert any("nested more than 64 levels" in p for p in problems), problems


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(SECTIONS), values, min_size=1, max_size=4), st.data())
def test_duplicate_keys_are_reported(doc: dict[str, object], data: st.DataObject) -> None:
    again = data.draw(st.sampled_from(sorted(doc)))
    text = yaml.safe_dump(doc) + yaml.safe_dump({again: doc[again]})
    problems = check(text)
    if "&id" not in text:
        assert any(p.startswith(f"duplicate key {again!r}: also at line") for p in problems)


strings = st.lists(
    st.one_of(st.text(max_size=6), st.sampled_from(["${V}", "${W:-dflt}", "${V}${V}"])),
    max_size=4,
).map("".join)
string_docs = st.recursive(
    strings,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


def substituted(data: Any, environ: dict[str, str]) -> Any:
    if isinstance(data, dict):
        return {key: substituted(value, environ) for key, value in data.items()}
    if isinstance(data, list):
        return [substituted(item, environ) for item in data]
    return VARIABLE.sub(lambda m: environ.get(m.group(1), m.group(2) or ""), data)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.text(max_size=5), string_docs, min_size=1, max_size=4),
    st.dictionaries(st.sampled_from(["V", "W"]), st.text(max_size=20), min_size=1),
    st.sampled_from([None, '"', "'"]),
    st.sampled_from([False, True, None]),
    st.sampled_from([12, 80]),
    st.booleans(),
)
def test_expansion_keeps_structure_and_lines(
    doc: dict[str, Any],
    environ: dict[str, str],
    style: str | None,
    flow: bool | None,
    width: int,
    unicode: bool,
) -> None:
    environ.setdefault("V", "")
    text = yaml.safe_dump(
        doc, default_style=style, default_flow_style=flow, width=width, allow_unicode=unicode
    )
    expanded = expand_variables(Source("fuzz.yaml", text), environ)
    issues: list[Any] = []
    before = read_yaml("fuzz.yaml", text, Limits(), issues)
    after = read_yaml("fuzz.yaml", expanded.text, Limits(), issues)
    assert before is not None and after is not None and not issues, (text, expanded.text)
    # (compared with what is read, not with doc: PyYAML's dump does not round-trip U+0085)
    assert after.data == substituted(before.data, environ), (text, expanded.text)
    assert after.lines == before.lines, (text, expanded.text)
