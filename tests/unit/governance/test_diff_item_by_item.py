"""A section shown whole in a diff (added or removed) is dumped item by item: the lines
are the ones of the whole section's YAML, and a section of 50,000 tags is never all in
YAML at once (the diff stops at its limit)."""

from __future__ import annotations

import tracemalloc
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from plantbus.governance.diff import MAX_LINES, sections_diff

_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=120)
    | st.sampled_from(["yes", "null", "1.0", "- x", "a: b", "x" * 150, "y " * 60])
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=140), inner),
    max_leaves=30,
)


def whole(sign: str, value: Any) -> str:
    """The hunk of ``value`` as one YAML dump marked ``sign`` (what it was before)."""
    text = yaml.dump(value, Dumper=_DUMPER, sort_keys=False, allow_unicode=True)
    return "".join(f"{sign}{line}\n" for line in text.splitlines())


@settings(max_examples=300, deadline=None)
@given(_JSON)
def test_a_section_added_or_removed_reads_as_its_whole_yaml(value: Any) -> None:
    assert (
        sections_diff({}, {"s": value}, "a", "b") == f"--- a\n+++ b\n@@ s @@\n{whole('+', value)}"
    )
    assert (
        sections_diff({"s": value}, {}, "a", "b") == f"--- a\n+++ b\n@@ s @@\n{whole('-', value)}"
    )


def _device(d: int, tags: int) -> dict[str, Any]:
    return {
        "name": f"dev{d}",
        "driver": "memory",
        "endpoint": f"memory://dev{d}",
        "machine": f"s/a/l0/m{d}",
        "tags": [
            {"name": f"t{t}", "address": f"d{d}t{t}", "data_type": "float64", "unit": "degC"}
            for t in range(tags)
        ],
    }


def test_a_big_section_added_is_dumped_only_up_to_the_limit() -> None:
    devices = [_device(d, 1000) for d in range(20)]
    tracemalloc.start()
    try:
        diff = sections_diff({}, {"devices": devices}, "a", "b")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20  # the whole section in YAML at once: about 50 MB
    lines = diff.splitlines()
    assert lines[:3] == ["--- a", "+++ b", "@@ devices @@"]
    assert lines[3:-1] == whole("+", devices[:6]).splitlines()[: MAX_LINES - 1]
    assert lines[-1] == f"@@ diff cut at {MAX_LINES:,} lines: see plantbus config show @@"
