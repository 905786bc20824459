"""The committed OpenAPI document is the one the protos make (regenerate with
``python -m plantbus.gateway.openapi``), valid OpenAPI 3.1, and has every route."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from plantbus.gateway.openapi import DOCUMENT, document, render
from plantbus.gateway.proto_comments import comments
from plantbus.gateway.routes import routes


def test_the_committed_document_matches_the_protos() -> None:
    fresh = render(document(comments()))
    assert DOCUMENT.read_text() == fresh, (
        "services/plantbus/gateway/openapi.json is stale: run python -m plantbus.gateway.openapi"
    )


def test_the_document_is_valid_and_names_every_route() -> None:
    doc = json.loads(DOCUMENT.read_text())
    validate(doc)
    operations = {(path, verb) for path, item in doc["paths"].items() for verb in item}
    assert operations == {(r.template, r.verb) for r in routes()}
    write = doc["paths"]["/v1/devices/{device}/tags/{tag}:write"]["post"]
    assert write["summary"].startswith("WriteTag writes one value when policy allows it")
    body = doc["components"]["schemas"]["WriteTagBody"]["properties"]
    assert set(body) == {"value", "reason"}  # device and tag are in the path
    listed = doc["paths"]["/v1/alarms"]["get"]["parameters"]
    assert {"page_size", "page_token"} <= {p["name"] for p in listed}
