"""The HTTPS/JSON API of a running `plantbus up`, driven by clients the project did not
write: curl, and a client that openapi-python-client generates from the committed OpenAPI
document. Each reads live values and makes a write a policy allows (it reaches the
simulated PLC) and one it refuses; an anonymous caller gets 401, a malformed request 400
with a message naming what is wrong."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plantbus.gateway.openapi import DOCUMENT
from plantbus.testing.waiting import wait_until
from tests.hub import demo_plant, plantbus, running_hub

pytestmark = pytest.mark.slow

CURL = shutil.which("curl")
WRITE = "v1/devices/m1-plc/tags/speed_setpoint:write"


class Api:
    """The hub's data dir, its HTTP API's base URL and the operator's certificate."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.runtime: dict[str, Any] = json.loads((data / "runtime.json").read_text())
        self.url: str = self.runtime["http_api"]
        pki = data / "pki"
        self.ca, self.cert, self.key = pki / "ca.crt", pki / "operator.crt", pki / "operator.key"

    def curl(
        self, path: str, *args: str, cert: bool = False, lines: bool = False
    ) -> tuple[int, Any]:
        """(status, JSON body) of ``curl [ARGS] URL/path``, with the operator's
        certificate when ``cert``; with ``lines``, the list of JSON Lines of a stream."""
        assert CURL
        command = [CURL, "-sS", "--cacert", str(self.ca), "-w", "\n%{http_code}"]
        if cert:
            command += ["--cert", str(self.cert), "--key", str(self.key)]
        out = subprocess.run(
            [*command, *args, self.url + path],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        body, _, status = out.stdout.rpartition("\n")
        if lines:
            return int(status), [json.loads(line) for line in body.splitlines() if line]
        return int(status), json.loads(body) if body else None

    def setpoint(self) -> str:
        """m1's speed setpoint read fresh from the simulated PLC (ReadTags bypasses the
        deadband and every cache), as the operator."""
        status, body = self.curl("v1/devices/m1-plc/values?tags=speed_setpoint", cert=True)
        assert status == 200, body
        return str(body["samples"][0]["value"]["int_value"])


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp("api")
    with running_hub(tmp / "hub", "--config", str(demo_plant(tmp))):
        yield Api(tmp / "hub")


def token_for(api: Api, user: str) -> str:
    """A bearer token for ``user``, created over the API with the operator's certificate."""
    status, body = api.curl("v1/tokens", "-X", "POST", "-H", "Content-Type: application/json",
                            "-d", json.dumps({"user": user}), cert=True)  # fmt: skip
    assert status == 200, body
    token: str = body["token"]
    assert token.startswith("pbt_") and body["info"]["user"] == user
    return token


@pytest.mark.skipif(CURL is None, reason="needs curl")
async def test_curl_reads_live_values_writes_under_policy_and_is_refused(api: Api) -> None:
    status, body = api.curl("v1/devices")
    assert status == 401 and body["error"]["status"] == "UNAUTHENTICATED"
    assert "no credentials" in body["error"]["message"]

    engineer = ["-H", f"Authorization: Bearer {token_for(api, 'engineer')}"]

    def connected() -> dict[str, Any] | None:
        status, body = api.curl("v1/devices/m1-plc/values?tags=spindle_temp", *engineer)
        return body if status == 200 else None

    live = await wait_until(connected, timeout=60, interval=1, message="m1-plc reads over HTTP")
    (sample,) = live["samples"]
    assert sample["path"] == "demo/machining/line1/m1/spindle_temp"
    assert sample["quality"] == "QUALITY_GOOD" and sample["value"]["double_value"] > 0

    json_body = ["-H", "Content-Type: application/json", "-X", "POST", "-d"]
    write = json.dumps({"value": {"int_value": 4200}, "reason": "over HTTP with curl"})
    status, body = api.curl(WRITE, *engineer, *json_body, write)
    assert status == 200, body
    assert body["policy"] == "m1-speed" and body["read_back"]["value"]["int_value"] == "4200"
    assert api.setpoint() == "4200"  # the PLC itself has it

    refused = json.dumps({"value": {"int_value": 9000}, "reason": "too fast"})
    status, body = api.curl(WRITE, *engineer, *json_body, refused)
    assert status == 403 and "outside the limits" in body["error"]["message"], body
    status, body = api.curl(WRITE, *json_body, write, cert=True)  # the operator, for nobody
    assert status == 403 and "only as a configured user" in body["error"]["message"], body
    assert api.setpoint() == "4200"

    status, body = api.curl("v1/devices?page_size=2", cert=True)
    assert status == 200 and len(body["devices"]) == 2 and body["next_page_token"]
    status, rest = api.curl(f"v1/devices?page_size=2&page_token={body['next_page_token']}",
                            cert=True)  # fmt: skip
    assert status == 200 and [d["name"] for d in rest["devices"]] == ["m3-plc"]
    assert rest["next_page_token"] == ""

    # a stream: JSON Lines, as the historian sends them (it stored the live samples)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    export = json.dumps(
        {"paths": ["demo/machining/line1/m1/spindle_temp"], "start": since.isoformat()}
    )

    def exported() -> list[Any] | None:
        status, chunks = api.curl("v1/history:export", *json_body, export, cert=True, lines=True)
        if status == 404:  # the historian has not stored the tag yet
            return None
        assert status == 200, chunks
        return chunks if any(c["samples"] for c in chunks) else None

    chunks = await wait_until(exported, timeout=60, interval=1, message="the historian exports")
    assert chunks[-1]["tags_done"] == chunks[-1]["tags_total"] == 1
    assert all(s["path"].endswith("/spindle_temp") for c in chunks for s in c["samples"])

    for path, args, status_wanted, names in [
        ("v1/devices?pagesize=2", (), 400, "'pagesize'"),
        ("v1/alarms?include_normal=maybe", (), 400, "include_normal='maybe'"),
        ("v1/devices?page_token=forged", (), 400, "page_token"),
        (WRITE, (*json_body, "{not json"), 400, "not valid JSON"),
        (WRITE, (*json_body, '{"value": {"int_value": "many"}}'), 400, "int_value"),
        (WRITE, ("-X", "POST", "-d", write), 415, "Content-Type: application/json"),
        ("v1/devices", ("-X", "DELETE"), 405, "use GET"),
        ("v1/nothing-here", (), 404, "/v1/openapi.json"),
        ("v1/devices/m1-plc/values?tags=nope", (), 404, "nope"),
    ]:
        status, body = api.curl(path, *args, cert=True)
        assert status == status_wanted and names in body["error"]["message"], (path, body)

    # the service that acted audited the writes, naming the caller, the gateway and how
    # the caller authenticated; the gateway audited the anonymous call it refused
    out = plantbus("audit", "--json", data_dir=api.data)
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    writes = [r for r in records if r["action"] == "tag.write" and r["actor"] == "engineer"]
    by_gateway = {"auth": "token", "via": "gateway"}
    assert writes and all(by_gateway.items() <= r["attributes"].items() for r in writes)
    assert all(r["source"].startswith("ipv4:127.0.0.1:") for r in writes)
    assert any(
        r["service"] == "gateway" and r["actor"] == "anonymous" and r["action"] == "authenticate"
        for r in records
    )


def generated_client(tmp: Path) -> Any:
    """The package openapi-python-client generates from the committed document."""
    out = tmp / "plantbus_http"
    generate = [sys.executable, "-m", "openapi_python_client", "generate", "--path",
                str(DOCUMENT), "--meta", "none", "--output-path", str(out)]  # fmt: skip
    done = subprocess.run(generate, check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(tmp))
    return importlib.import_module("plantbus_http")


async def test_a_client_generated_from_the_openapi_document(api: Api, tmp_path: Path) -> None:
    pytest.importorskip("openapi_python_client")
    generated_client(tmp_path)
    from plantbus_http import AuthenticatedClient, Client  # type: ignore[import-not-found]
    from plantbus_http.api.device_service import (  # type: ignore[import-not-found]
        list_devices,
        read_tags,
        write_tag,
    )
    from plantbus_http.models import Error, TagValue, WriteTagBody  # type: ignore[import-not-found]

    verify = ssl.create_default_context(cafile=str(api.ca))
    anonymous = Client(base_url=api.url.rstrip("/"), verify_ssl=verify)
    refused = list_devices.sync_detailed(client=anonymous)
    assert refused.status_code == 401 and isinstance(refused.parsed, Error)

    mtls = ssl.create_default_context(cafile=str(api.ca))
    mtls.load_cert_chain(api.cert, api.key)
    operator = Client(base_url=api.url.rstrip("/"), verify_ssl=mtls)
    devices = list_devices.sync(client=operator)
    assert [d.name for d in devices.devices] == ["m1-plc", "m2-plc", "m3-plc"]

    engineer = AuthenticatedClient(
        base_url=api.url.rstrip("/"), token=token_for(api, "engineer"), verify_ssl=verify
    )

    def live() -> Any:
        reply = read_tags.sync(device="m1-plc", client=engineer, tags=["spindle_temp", "power"])
        return reply if not isinstance(reply, Error) else None

    values = await wait_until(live, timeout=60, interval=1, message="m1-plc reads")
    assert {s.path.rsplit("/", 1)[1] for s in values.samples} == {"spindle_temp", "power"}
    assert all(s.value.double_value > 0 for s in values.samples)

    body = WriteTagBody(value=TagValue(int_value="4300"), reason="generated client")
    written = write_tag.sync(device="m1-plc", tag="speed_setpoint", client=engineer, body=body)
    assert not isinstance(written, Error), written
    assert written.policy == "m1-speed" and written.read_back.value.int_value == "4300"
    assert api.setpoint() == "4300"

    too_fast = WriteTagBody(value=TagValue(int_value="9000"), reason="generated client")
    no = write_tag.sync_detailed(device="m1-plc", tag="speed_setpoint", client=engineer,
                                 body=too_fast)  # fmt: skip
    assert no.status_code == 403 and isinstance(no.parsed, Error)
    assert "outside the limits" in no.parsed.error.message
    assert api.setpoint() == "4300"
