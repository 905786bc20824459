"""Reading a config item by item (the items of its top-level lists, by their text) gives
what reading it whole gives, reuses the validated items whose text did not change, and
leaves every layout it cannot cut, and every problem, to the whole reading."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from plantbus.config.issues import ConfigInvalid
from plantbus.config.loader import ItemCache, Source, load_sources
from plantbus.config.yaml_fast import Unusual, fast_data
from plantbus.config.yaml_items import NotCut, cut, read_items
from plantbus.config.yaml_reader import Limits
from tests.big_plant import big_plant, tag_line


def as_read(section: str, item: object) -> object:
    """No validation: the item as it was read."""
    return item


CUT = [
    "devices:\n  - name: a\n    tags:\n      - {name: t}\n  - name: b\n",
    "devices:  # all of them\n\n  # the first\n  - name: a\n\n# between\n  - name: b\n"
    "users:\n- name: u\n",
    "sites:\n- name: s\n  areas: []\n- name: t\nuns:\n  enabled: true\n",
    "devices:\n  - name: a\n    doc: |\n      text\n\n  - name: b",  # no newline at the end
    "devices:\n  - name: a\n    doc: |+\n      kept\n\n\n  - name: b\n",
    "oee_settings:\n  tick_s: 1\ndevices:\n  - name: a\n",
]
NOT_CUT = [
    "devices:\n  - name: a\n\t- name: b\n",
    "devices:\r\n  - name: a\r\n",
    "devices:\n    - name: a\n  - name: b\n",  # a line between the two indentations
    "devices:\n  - name: a\n---\nb: 1\n",
    "devices:\n  - name: a\n  -\n    name: b\n",
    "devices:\n  - name: a\ndevices:\n  - name: b\n",
]


@pytest.mark.parametrize("text", CUT)
def test_a_document_read_item_by_item_is_the_document(text: str) -> None:
    data, keys = read_items(cut(text), Limits(), ItemCache(), as_read)
    assert data == fast_data(text, Limits()) == yaml.safe_load(text)
    assert keys and all(section in data for section, _ in keys)


@pytest.mark.parametrize("text", NOT_CUT)
def test_a_layout_it_cannot_cut_is_left_to_the_whole_reading(text: str) -> None:
    with pytest.raises(NotCut):
        cut(text)


def test_an_item_left_open_fails_alone_and_the_document_is_read_whole() -> None:
    text = 'devices:\n  - name: "a\n  - b"\n'
    with pytest.raises(yaml.YAMLError):
        read_items(cut(text), Limits(), ItemCache(), as_read)
    assert yaml.safe_load(text) == {"devices": [{"name": "a - b"}]}


def changed(sources: list[Source], device: int, tag: int, scale: float) -> list[Source]:
    text = sources[1].text.replace(tag_line(device, tag), tag_line(device, tag, scale), 1)
    return [sources[0], Source(sources[1].name, text)]


def test_only_the_items_whose_text_changed_are_read_and_validated_again() -> None:
    cache = ItemCache()
    plant = big_plant(5, 20)
    first = load_sources(plant, cache=cache)
    assert first == load_sources(plant)
    second = load_sources(changed(plant, 3, 7, 2.0), cache=cache)
    assert second == load_sources(changed(plant, 3, 7, 2.0))
    assert second.devices[3].tags[7].scale == 2.0 and second.devices[3] is not first.devices[3]
    assert all(second.devices[d] is first.devices[d] for d in (0, 1, 2, 4))
    assert second.sites[0] is first.sites[0]


def test_a_changed_device_keeps_the_tags_it_did_not_change() -> None:
    cache = ItemCache()
    plant = big_plant(3, 5)
    first = load_sources(plant, cache=cache)
    slower = plant[1].text.replace("poll_interval_s: 3600.0", "poll_interval_s: 60.0")
    sources = changed([plant[0], Source("devices.yaml", slower)], 1, 2, 2.0)
    second = load_sources(sources, cache=cache)
    assert second == load_sources(sources)
    assert all(d.poll_interval_s == 60.0 for d in second.devices)
    old, new = first.devices[1], second.devices[1]
    assert new.tags[2].scale == 2.0 and new.tags[2] is not old.tags[2]
    assert all(new.tags[t] is old.tags[t] for t in (0, 1, 3, 4))
    assert all(second.devices[0].tags[t] is first.devices[0].tags[t] for t in range(5))


def test_a_device_written_otherwise_with_the_same_values_is_the_one_kept() -> None:
    cache = ItemCache()
    plant = big_plant(2, 3)
    first = load_sources(plant, cache=cache)
    commented = plant[1].text.replace("driver: memory\n", "driver: memory  # the same\n")
    second = load_sources([plant[0], Source("devices.yaml", commented)], cache=cache)
    assert second.devices[0] is first.devices[0] and second.devices[1] is first.devices[1]


def test_keys_kept_again_stay_the_objects_kept_first() -> None:
    cache = ItemCache()
    key, again = ItemCache.key("devices", "- name: a\n"), ItemCache.key("devices", "- name: a\n")
    other = ItemCache.key("devices", "- name: b\n")
    cache.keep({key: 1, other: 2})
    cache.keep({again: 3})
    assert cache.get(again) == 3 and cache.get(other) is None
    assert next(iter(cache._items)) is key
    assert cache.section("devices") == [3] and cache.section("alert_rules") == []


def test_a_bad_item_is_still_located_and_the_valid_items_stay_kept() -> None:
    cache = ItemCache()
    plant = big_plant(3, 5)
    first = load_sources(plant, cache=cache)
    bad = plant[1].text.replace("data_type: float64", "data_type: float65", 1)
    with pytest.raises(ConfigInvalid) as caught:
        load_sources([plant[0], Source("devices.yaml", bad)], cache=cache)
    (issue,) = caught.value.issues
    assert (issue.file, issue.line, issue.path) == (
        "devices.yaml",
        8,
        "devices[0].tags[0].data_type",
    )
    again = load_sources(plant, cache=cache)
    assert again.devices[1] is first.devices[1]


@pytest.mark.parametrize(
    "text",
    [
        "devices:\n  - name: a\n    name: b\n",  # a duplicate key inside an item
        "devices:\n  - name: ${HOME}\n",
        "devices:\n  - name: a\n    tags: " + "[" * 70 + "]" * 70 + "\n",  # too deep
        "devices:\n  - &x {name: a}\n  - *x\n",
    ],
)
def test_what_an_item_holds_is_refused_as_when_read_whole(text: str) -> None:
    source = [Source("devices.yaml", text)]
    with pytest.raises(ConfigInvalid) as whole:
        load_sources(source)
    with pytest.raises(ConfigInvalid) as by_items:
        load_sources(source, cache=ItemCache())
    assert by_items.value.issues == whole.value.issues


_ITEM = st.dictionaries(
    st.sampled_from(["name", "doc", "tags", "n"]),
    st.one_of(
        st.text(alphabet="ab -:#'\"|\n", max_size=8),
        st.integers(),
        st.lists(st.dictionaries(st.sampled_from(["name", "x"]), st.text("ab: -", max_size=4))),
    ),
    min_size=1,
    max_size=3,
)
_NOISE = st.text(alphabet=" -:#'\"|>[]{}\t\nab", max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    sections=st.dictionaries(st.sampled_from(["devices", "sites", "users"]), st.lists(_ITEM)),
    indent=st.sampled_from([2, 4]),
    noise=_NOISE,
    where=st.floats(0, 1),
)
def test_a_document_read_by_items_never_differs_from_it_read_whole(
    sections: dict[str, list[dict[str, object]]], indent: int, noise: str, where: float
) -> None:
    """Whatever a small edit does to a document, reading it item by item either gives up
    (the caller then reads it whole) or gives what reading it whole gives."""
    text = yaml.safe_dump(sections, default_flow_style=False, indent=indent, sort_keys=False)
    at = int(len(text) * where)
    text = text[:at] + noise + text[at:]
    try:
        data, _ = read_items(cut(text), Limits(), ItemCache(), as_read)
    except (NotCut, Unusual, yaml.YAMLError):
        return
    assert data == fast_data(text, Limits())
