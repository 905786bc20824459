"""Whatever a stranger writes in a config file, loading answers with a config or with
ConfigInvalid listing located problems: never a crash."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from plantbus.config.issues import ConfigInvalid
from plantbus.config.loader import Source, load_sources

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


def check(text: str) -> None:
    try:
        load_sources([Source("fuzz.yaml", text)])
    except ConfigInvalid as err:
        assert err.issues
        for issue in err.issues:
            assert issue.file == "fuzz.yaml" and issue.message


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(SECTIONS), values, max_size=4))
def test_structured_garbage(doc: dict[str, object]) -> None:
    check(yaml.safe_dump(doc))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    check(text)
