"""Secrets stay out of the store: a real `plantbus up` whose Tryton password comes from a
mounted Secret (``secret:tryton/password``) and whose webhook secret from the environment
(``env:...``). Both are used (the ERP service logs in to Tryton, alerting signs its posts)
and neither value appears in GetConfig, config show/diff/history, heartbeats, the audit,
any log, or anywhere in the data dir, the JetStream store included."""

from __future__ import annotations

import base64
import contextlib
import secrets
import shutil
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from plantbus_tryton.pytest_plugin import TrytonErp
from plantbus_tryton.sample import release_order
from plantbus_webhook.notifier import sign, signing_key

from plantbus.testing.waiting import wait_until
from tests.hub import EXAMPLES, demo_plant, plantbus, running_hub

HOOK_ENV = "PLANTBUS_TEST_HOOK_SECRET"
ZLIB_FAST = b"\x78\x01"  # the header of zlib level 1, what config pieces use


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[tuple[bytes, dict[str, str]]]]]:
    """A receiver on a free port in a thread of its own: its URL and the body and headers
    of every POST."""
    posts: list[tuple[bytes, dict[str, str]]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posts.append((body, {k.lower(): v for k, v in self.headers.items()}))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", posts
    finally:
        server.shutdown()
        server.server_close()


def plant_with_secrets(tmp_path: Path, tryton_url: str, hook_url: str, hook_env: str) -> Path:
    """The demo plant with the Tryton connection and a webhook, their secrets by reference."""
    plant = demo_plant(tmp_path)
    erp = yaml.safe_load((EXAMPLES / "tryton" / "erp.yaml").read_text())
    erp["erp"][0].update(poll_interval_s=1)
    erp["erp"][0]["settings"].update(url=tryton_url, password="secret:tryton/password")
    (plant / "erp.yaml").write_text(yaml.safe_dump(erp))
    alerts = yaml.safe_load((plant / "alerts.yaml").read_text())
    alerts["notifiers"] = [
        {
            "name": "hook",
            "plugin": "webhook",
            "min_priority": "low",
            "settings": {"url": hook_url, "secret": f"env:{hook_env}"},
        }
    ]
    (plant / "alerts.yaml").write_text(yaml.safe_dump(alerts))
    return plant


def inflated(raw: bytes) -> bytes:
    """``raw`` followed by every zlib stream found in it, inflated: config pieces are
    stored compressed (``plantbus.kit.config_pieces``) inside JetStream's blocks."""
    out, at, view = [raw], raw.find(ZLIB_FAST), memoryview(raw)
    while at >= 0:
        with contextlib.suppress(zlib.error):
            out.append(zlib.decompressobj().decompress(view[at:], 64 * 1024 * 1024))
        at = raw.find(ZLIB_FAST, at + 1)
    return b"".join(out)


def files_holding(root: Path, *needles: str) -> list[str]:
    """Every file under ``root`` that contains one of ``needles``, also compressed."""
    return [
        str(path)
        for path in root.rglob("*")
        if path.is_file() and any(n.encode() in inflated(path.read_bytes()) for n in needles)
    ]


@pytest.mark.slow
async def test_secrets_are_used_by_their_service_and_shown_nowhere(
    tryton: TrytonErp,
    webhook: tuple[str, list[tuple[bytes, dict[str, str]]]],
    tmp_path: Path,
) -> None:
    password = "Planted-" + secrets.token_urlsafe(12)
    hook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    admin = tryton.rpc()
    await release_order(admin, tryton.plant, "WO-SECRET", 3)
    (uid,) = await admin.call("res.user", "search", [("login", "=", "admin")])
    await admin.call("res.user", "write", [uid], {"password": password})
    await admin.close()
    mounted = tmp_path / "secrets"  # what Kubernetes mounts at /var/run/secrets/plantbus
    (mounted / "tryton").mkdir(parents=True)
    (mounted / "tryton" / "password").write_text(password)
    hook_url, posts = webhook
    plant = plant_with_secrets(tmp_path, tryton.server.url, hook_url, HOOK_ENV)
    changed = tmp_path / "changed"
    shutil.copytree(plant, changed)
    alerts = (changed / "alerts.yaml").read_text()
    (changed / "alerts.yaml").write_text(alerts.replace(HOOK_ENV, "PLANTBUS_TEST_OTHER_SECRET"))
    data = tmp_path / "hub"
    env = {"PLANTBUS_SECRETS_DIR": str(mounted), HOOK_ENV: hook_secret}

    with running_hub(data, "--config", str(plant), env=env):
        # the ERP service logged in with the password: Tryton's order is in the hub
        def order_arrived() -> bool:
            return "WO-SECRET" in plantbus("erp", "orders", data_dir=data).stdout

        await wait_until(order_arrived, timeout=60, interval=0.5, message="Tryton order")
        # alerting signs with the webhook secret (the demo line raises alarms within a minute)
        await wait_until(lambda: posts, timeout=90, interval=0.5, message="a webhook post")
        body, headers = posts[0]
        key = signing_key(hook_secret)
        signed = sign(key, headers["webhook-id"], int(headers["webhook-timestamp"]), body)
        assert headers["webhook-signature"] == signed
        outputs = {
            "config show (GetConfig)": plantbus("config", "show", data_dir=data),
            "config diff": plantbus("config", "diff", str(changed), data_dir=data),
            "config apply": plantbus("config", "apply", str(changed), "-m", "x", data_dir=data),
            "config history": plantbus("config", "history", data_dir=data),
            "config show 1": plantbus("config", "show", "1", data_dir=data),
            "status (heartbeats)": plantbus("status", "--json", data_dir=data),
            "heartbeats on the bus": plantbus(
                "tail", "plantbus.v1.svc.>", "--count", "12", "--timeout", "10", data_dir=data
            ),
            "audit": plantbus("audit", "--json", data_dir=data),
            "erp status": plantbus("erp", "status", data_dir=data),
            "alarms": plantbus("alarms", "list", data_dir=data),
        }
        show = outputs["config show (GetConfig)"].stdout
        assert "secret:tryton/password" in show and f"env:{HOOK_ENV}" in show, show
        assert "PLANTBUS_TEST_OTHER_SECRET" in outputs["config diff"].stdout
        assert "config.apply" in plantbus("audit", "--json", data_dir=data).stdout
        for what, out in outputs.items():
            assert out.returncode == 0, f"{what}: {out.stderr}"
            text = out.stdout + out.stderr
            assert password not in text and hook_secret not in text, what

        # the applied version refers to a variable that is not set: one message, no value
        def reported() -> list[str]:
            return files_holding(data / "logs", "secret env:PLANTBUS_TEST_OTHER_SECRET")

        await wait_until(reported, timeout=20, interval=0.5, message="the unresolved reference")

    # the grep sees the store, the compressed config pieces included
    assert files_holding(data / "nats", "secret:tryton/password"), "the grep sees the store"
    assert files_holding(data, password, hook_secret) == []
