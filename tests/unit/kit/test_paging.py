"""Paging of the List RPCs: pages in order, tokens bound to the list and its filters."""

from __future__ import annotations

import pytest

from plantbus.kit.paging import MAX_PAGE_SIZE, page
from plantbus.sdk.errors import ValidationFailed
from plantbus.v1 import alerting_pb2, device_pb2


def test_pages_cover_the_list_once_in_order() -> None:
    items = list(range(7))
    seen: list[int] = []
    request = alerting_pb2.ListAlarmsRequest(scope_prefix="demo", page_size=3)
    while True:
        got, token = page(items, request)
        seen += got
        if not token:
            break
        request.page_token = token
    assert seen == items


def test_page_size_zero_returns_everything_and_large_sizes_are_capped() -> None:
    assert page(list(range(5)), device_pb2.ListDevicesRequest()) == ([0, 1, 2, 3, 4], "")
    many = list(range(MAX_PAGE_SIZE + 5))
    got, token = page(many, device_pb2.ListDevicesRequest(page_size=MAX_PAGE_SIZE + 5))
    assert len(got) == MAX_PAGE_SIZE and token


def test_a_token_is_refused_with_other_filters_or_on_another_list() -> None:
    _, token = page(list(range(5)), alerting_pb2.ListAlarmsRequest(scope_prefix="a", page_size=2))
    with pytest.raises(ValidationFailed, match="another list or other filters"):
        page([], alerting_pb2.ListAlarmsRequest(scope_prefix="b", page_size=2, page_token=token))
    with pytest.raises(ValidationFailed, match="another list"):
        page([], alerting_pb2.HistoryRequest(scope_prefix="a", page_size=2, page_token=token))


def test_a_made_up_token_names_the_field() -> None:
    with pytest.raises(ValidationFailed, match=r"ListDevicesRequest\.page_token 'nonsense!'"):
        page([1], device_pb2.ListDevicesRequest(page_token="nonsense!"))
