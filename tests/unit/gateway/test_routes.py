"""Every RPC of every service has an HTTP route, every List RPC pages, and a request that
cannot become the RPC's message is refused with a message naming what is wrong."""

from __future__ import annotations

import pytest

from plantbus.gateway.routes import FILES, BadRequest, MethodNotAllowed, Router, routes
from plantbus.v1 import device_pb2, historian_pb2


def test_every_rpc_is_routed_and_every_list_pages() -> None:
    table = routes()
    methods = {m.full_name for f in FILES for s in f.DESCRIPTOR.services_by_name.values()
               for m in s.methods}  # fmt: skip
    assert {r.method.full_name for r in table} == methods
    for route in table:
        if route.method.name.startswith("List") or route.method.name == "History":
            fields = route.method.input_type.fields_by_name
            assert {"page_size", "page_token"} <= set(fields), route.method.full_name
            assert "next_page_token" in route.method.output_type.fields_by_name


def test_path_query_and_body_make_the_request() -> None:
    router = Router(routes())
    write = router.match("POST", "/v1/devices/m1-plc/tags/speed_setpoint:write")
    message = write.route.build(write.path, [], {"value": {"int_value": "42"}, "reason": "x"})
    assert message == device_pb2.WriteTagRequest(
        device="m1-plc", tag="speed_setpoint", value={"int_value": 42}, reason="x"
    )
    read = router.match("GET", "/v1/devices/m1-plc/values")
    assert list(read.route.build(read.path, [("tags", "a"), ("tags", "b")], None).tags) == [
        "a",
        "b",
    ]
    query = router.match("POST", "/v1/history:query")
    built = query.route.build(
        {}, [], {"paths": ["a/b"], "bucket": "60s", "mode": "HISTORY_MODE_RAW"}
    )
    assert isinstance(built, historian_pb2.QueryHistoryRequest) and built.bucket.seconds == 60


@pytest.mark.parametrize(
    ("verb", "path", "query", "body", "names"),
    [
        ("GET", "/v1/alarms", [("include_normal", "perhaps")], None, "not a boolean"),
        ("GET", "/v1/alarms", [("nope", "1")], None, "unknown query parameter 'nope'"),
        ("GET", "/v1/alarm-history", [("limit", "1"), ("limit", "2")], None, "given twice"),
        ("GET", "/v1/config", [("version", "latest")], None, "version"),
        ("POST", "/v1/alarms:acknowledge", [("id", "x")], {}, "in the JSON body"),
        ("POST", "/v1/alarms:acknowledge", [], ["x"], "must be a JSON object"),
        ("POST", "/v1/alarms:acknowledge", [], {"idd": "x"}, 'no field named "idd"'),
        ("POST", "/v1/devices/m1/tags/t:write", [], {"device": "m2"}, "give it once"),
        ("GET", "/v1/devices", [], {"a": 1}, "takes no body"),
    ],
)
def test_malformed_requests_name_what_is_wrong(
    verb: str, path: str, query: list[tuple[str, str]], body: object, names: str
) -> None:
    match = Router(routes()).match(verb, path)
    with pytest.raises(BadRequest, match=names):
        match.route.build(match.path, query, body)


def test_unknown_paths_and_verbs() -> None:
    router = Router(routes())
    with pytest.raises(LookupError):
        router.match("GET", "/v1/devices/m1/unknown")
    with pytest.raises(MethodNotAllowed, match="takes GET"):
        router.match("PUT", "/v1/devices")
