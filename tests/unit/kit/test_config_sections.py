"""What each service declares it reads of the plant config names real sections, and a
withheld section refuses every use."""

from __future__ import annotations

import pytest

from plantbus.kit.config_sections import ALL, SectionNotRead, Withheld, sections_of
from plantbus.kit.identity import GATE_SECTIONS
from plantbus.kit.registry import SERVICES, load_service_class


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_declares_known_sections(name: str) -> None:
    declared = load_service_class(name).config_sections
    assert declared is None or declared <= ALL, declared - ALL if declared else None


def test_the_gate_reads_known_sections_and_every_union_holds_them() -> None:
    assert GATE_SECTIONS <= ALL
    assert sections_of([GATE_SECTIONS, frozenset({"oee"})]) == GATE_SECTIONS | {"oee"}
    assert sections_of([GATE_SECTIONS, None]) == ALL


def test_a_withheld_section_refuses_every_use_and_names_itself() -> None:
    devices = Withheld("devices")
    for use in (len, bool, iter, list, lambda d: d[0], lambda d: "x" in d, lambda d: d.tags):
        with pytest.raises(SectionNotRead, match="'devices' is not read by this process"):
            use(devices)
    assert getattr(devices, "__deepcopy__", None) is None
    assert devices == Withheld("devices") != Withheld("oee")
    assert "devices" in repr(devices)
