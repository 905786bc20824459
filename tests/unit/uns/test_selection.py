"""Which cycles and tags a ``uns:`` section publishes values of, judged once each, as
``UnsConfig.selects`` judges them."""

from __future__ import annotations

from plantbus.config.uns import UnsConfig
from plantbus.uns.selection import ValuesSelection

SECTION = UnsConfig.model_validate(
    {
        "prefix": "uns/acme",
        "publish": [
            {"path": "s/a/l1"},
            {"path": "s/a/l2/m1/temp"},
            {"path": "s/a/l3", "values": False},
        ],
    }
)


def test_a_cycle_is_read_when_its_machine_or_a_tag_of_it_is_selected() -> None:
    values = ValuesSelection(SECTION)
    assert values.reads("plantbus.v1.cycle.s.a.l1.m9.plc")
    assert values.reads("plantbus.v1.cycle.s.a.l2.m1.plc")
    assert not values.reads("plantbus.v1.cycle.s.a.l2.m2.plc")
    assert not values.reads("plantbus.v1.cycle.s.a.l3.m1.plc")  # values off
    assert not values.reads("plantbus.v1.cycle.s.a.l10.m1.plc")  # not below l1


def test_a_selected_tag_has_its_topic_and_every_path_agrees_with_selects() -> None:
    values = ValuesSelection(SECTION)
    paths = ["s/a/l1/m9/x", "s/a/l2/m1/temp", "s/a/l2/m1/tempo", "s/a/l3/m1/x", "s/a/l10/m/x"]
    for _ in range(2):  # the second time from the cache
        topics = {p: values.topic(p) for p in paths}
        assert topics == {
            p: f"uns/acme/{p}" if SECTION.selects(p, "values") else None for p in paths
        }
    assert topics["s/a/l1/m9/x"] == "uns/acme/s/a/l1/m9/x"
    assert topics["s/a/l2/m1/tempo"] is None
