"""Validated tags share what they repeat (the set of fields given, names, addresses)
without one tag's copy changing another."""

from __future__ import annotations

from plantbus.config.devices import Device, Tag


def tags_of(*machines: str) -> list[Device]:
    return [
        Device.model_validate(
            {
                "name": machine,
                "driver": "memory",
                "endpoint": f"memory://{machine}",
                "machine": f"s/a/l/{machine}",
                "tags": [{"name": "temp", "address": "holding:0", "data_type": "uint16"}],
            }
        )
        for machine in machines
    ]


def test_tags_of_two_machines_share_their_repeats() -> None:
    one, two = (d.tags[0] for d in tags_of("m1", "m2"))
    assert one.model_fields_set is two.model_fields_set
    assert one.name is two.name and one.address is two.address


def test_a_copy_of_a_tag_with_changes_leaves_the_others_alone() -> None:
    one, two = (d.tags[0] for d in tags_of("m1", "m2"))
    changed = one.model_copy(update={"unit": "degC"})
    assert changed.model_fields_set == {"name", "address", "data_type", "unit"}
    assert one.model_fields_set == two.model_fields_set == {"name", "address", "data_type"}
    assert one.model_dump(exclude_unset=True) == {
        "name": "temp",
        "address": "holding:0",
        "data_type": "uint16",
    }
    assert Tag.model_validate(one.model_dump()) == one
