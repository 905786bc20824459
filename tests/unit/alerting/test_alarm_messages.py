"""Alarm message templates: checked at config time, rendered without ever failing."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from plantbus.alerting.conditions import Condition
from plantbus.alerting.messages import render
from plantbus.config.rules import parse_rule

BASE = {"name": "hot", "kind": "high", "machine": "s/a/l/m", "tag": "t", "limit": 70.0}


def test_a_template_renders_value_and_limit() -> None:
    text = render("{machine} at {value:.1f} (limit {limit})", "hot", "s/a/l/m", 71.26, 70.0)
    assert text == "s/a/l/m at 71.3 (limit 70.0)"


@pytest.mark.parametrize("value", [None, "text"])
def test_a_value_the_format_spec_does_not_fit_gives_a_plain_message(value: object) -> None:
    text = render("{machine} at {value:.1f}", "hot", "s/a/l/m", value, 70.0)
    assert text.startswith("hot on s/a/l/m: ") and "limit 70" in text


@pytest.mark.parametrize(
    ("template", "error"),
    [("{machin} is hot", "uses machin"), ("{value", "malformed")],
)
def test_unknown_placeholders_are_refused_when_the_config_loads(template: str, error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        parse_rule({**BASE, "message": template})


def test_an_alarm_raised_by_the_on_delay_keeps_the_last_sample() -> None:
    cond = Condition(parse_rule({**BASE, "on_delay_s": 5.0}))
    assert not cond.sample(72.5, 0.0)
    assert cond.recheck(5.0) and cond.last_value == 72.5
