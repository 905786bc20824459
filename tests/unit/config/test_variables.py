"""``${VAR}`` is expanded inside parsed string values only: what a variable holds stays a
value, keys and structure are never expanded, lines stay put, and config received from
elsewhere (environ=None, what governance gets over gRPC) is refused, not expanded."""

from __future__ import annotations

import pytest

from plantbus.config.issues import ConfigInvalid
from plantbus.config.loader import (
    Source,
    VariablesNotExpanded,
    expand_variables,
    load_sources,
)

PLANT = """\
sites:
  - name: demo
    areas:
      - name: machining
        lines:
          - name: line1
            machines: [{name: m1}]
"""
DEVICE = """\
devices:
  - name: plc1
    driver: memory
    endpoint: {endpoint}
    machine: demo/machining/line1/m1
    tags: [{{name: temp, address: t, data_type: float32}}]
"""


def endpoint(value: str, written: str = "${EP}") -> str:
    config = load_sources(
        [Source("p.yaml", PLANT), Source("d.yaml", DEVICE.format(endpoint=written))],
        environ={"EP": value},
    )
    return config.devices[0].endpoint


@pytest.mark.parametrize(
    "value",
    [
        "memory://a: b",
        "memory://a # not a comment",
        "memory://a\n    driver: evil\nroles: [{name: x}]",
        "memory://\"quoted\" and \\backslash\\ and 'single'",
        "memory://é😀\u2028\x85\t",
    ],
    ids=["colon", "hash", "newline", "quotes", "unicode and line separators"],
)
def test_what_a_variable_holds_stays_one_value(value: str) -> None:
    assert endpoint(value) == value
    assert endpoint(value, "'memory://${EP}'") == f"memory://{value}"  # quoted, in a longer value


def test_a_whole_value_variable_stays_a_string() -> None:
    # substituted in the raw text, "true" became a boolean and failed the string field
    assert endpoint("true") == "true"
    assert endpoint("502", "${EP}") == "502"


def test_defaults_and_several_variables_in_one_value() -> None:
    assert endpoint("h", "memory://${EP}:${PORT:-502}/${EP}") == "memory://h:502/h"


def test_an_unset_variable_names_file_line_path_and_variable() -> None:
    with pytest.raises(ConfigInvalid) as info:
        load_sources(
            [Source("p.yaml", PLANT), Source("d.yaml", DEVICE.format(endpoint="${NOPE}"))],
            environ={},
        )
    assert [str(i) for i in info.value.issues] == [
        "d.yaml:4: devices[0].endpoint: environment variable NOPE is not set and has no "
        "default (set it, or write ${NOPE:-default})"
    ]


def test_keys_are_never_expanded() -> None:
    text = DEVICE.format(endpoint="memory://x").replace("    driver:", "    ${K}: 1\n    driver:")
    with pytest.raises(ConfigInvalid) as info:
        load_sources([Source("p.yaml", PLANT), Source("d.yaml", text)], environ={"K": "name"})
    assert any("d.yaml:3: devices[0].${K}: unknown key '${K}'" in str(i) for i in info.value.issues)


def test_every_line_stays_where_it_was() -> None:
    text = """\
devices:
  - name: plc1
    driver: memory
    endpoint: |
      ${EP}
      memory://x
    machine: demo/machining/line1/m9
    tags: []
"""
    expanded = expand_variables(Source("d.yaml", text), {"EP": "a\nb\nc"})
    assert expanded.text.count("\n") == text.count("\n")
    with pytest.raises(ConfigInvalid) as info:
        load_sources([Source("p.yaml", PLANT), expanded])
    (issue,) = info.value.issues
    assert (issue.line, issue.path) == (7, "devices[0].machine")


def test_config_from_elsewhere_is_refused_not_expanded() -> None:
    text = DEVICE.format(endpoint="memory://${PLANTBUS_DASHBOARD_TOKEN}")
    with pytest.raises(VariablesNotExpanded) as info:
        load_sources([Source("p.yaml", PLANT), Source("d.yaml", text)])
    (issue,) = info.value.issues
    assert str(issue) == (
        "d.yaml:4: devices[0].endpoint: ${PLANTBUS_DASHBOARD_TOKEN} is not expanded: governance "
        "never expands variables in config it receives; expand variables on the client: "
        "plantbus config apply does this"
    )


def test_expanded_text_is_accepted_where_variables_are_refused() -> None:
    text = DEVICE.format(endpoint="memory://${EP}")
    sources = [Source("p.yaml", PLANT), expand_variables(Source("d.yaml", text), {"EP": "h: 1"})]
    assert load_sources(sources).devices[0].endpoint == "memory://h: 1"
