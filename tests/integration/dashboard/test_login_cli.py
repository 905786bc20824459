"""``plantbus dashboard login`` against a real dashboard: it reads the hub's 0600 token file
and prints a link that signs in once; without the token it says where the token should be.
The token file is never readable by others, not even a leftover one."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import stat
import sys
from pathlib import Path
from typing import Any

from plantbus.cli.dashboard import remove_token, write_token
from tests.integration.dashboard.client import TOKEN, serving


async def plantbus(*args: str, data_dir: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "plantbus.cli",
        *args,
        "--data-dir",
        str(data_dir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "PLANTBUS_DASHBOARD_TOKEN"},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return int(proc.returncode or 0), out.decode(), err.decode()


def test_token_file_is_0600_from_the_start(tmp_path: Path) -> None:
    leftover = tmp_path / "dashboard-token"
    leftover.write_text("old")
    leftover.chmod(0o644)
    umask = os.umask(0)
    try:
        path = write_token(tmp_path, "s3cret")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "s3cret"
    remove_token(tmp_path)
    assert not path.exists()


async def test_login_prints_a_link_that_signs_in_once(nats_url: str, tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    hub.mkdir()
    async with serving(nats_url, tmp_path / "services") as dash:
        (hub / "runtime.json").write_text(json.dumps({"dashboard": f"{dash.base}/"}))
        code, _, err = await plantbus("dashboard", "login", data_dir=hub)
        assert code == 4, "refused: no token"
        assert "dashboard-token is missing" in err and "Traceback" not in err

        write_token(hub, TOKEN)
        code, out, err = await plantbus("dashboard", "login", data_dir=hub)
        assert code == 0, err
        link = out.strip()
        assert link.startswith(f"{dash.base}/login#")
        assert "valid once, for 10 min" in err
        assert (await dash.redeem(link)).status == 200
        assert (await dash.redeem(link)).status == 401

        write_token(hub, "not-the-token")
        code, _, err = await plantbus("dashboard", "login", data_dir=hub)
        assert code == 4, "refused"
        assert "refused a login link: wrong or missing dashboard token" in err


async def test_login_over_https_checks_the_certificate(
    nats_url: str, tmp_path: Path, pki: Path
) -> None:
    client = ssl.create_default_context(cafile=pki / "ca.crt")
    options: dict[str, Any] = {
        "tls_cert": str(pki / "localhost.crt"),
        "tls_key": str(pki / "localhost.key"),
    }
    hub = tmp_path / "hub"
    hub.mkdir()
    write_token(hub, TOKEN)
    async with serving(nats_url, tmp_path / "services", tls=client, **options) as dash:
        url = ("--url", dash.base)
        code, _, err = await plantbus("dashboard", "login", *url, data_dir=hub)
        assert code == 5, "not reachable over trusted TLS"
        assert "CERTIFICATE_VERIFY_FAILED" in err  # the hub's CA is not a system CA
        cafile = ("--cafile", str(pki / "ca.crt"))
        code, out, err = await plantbus("dashboard", "login", *url, *cafile, data_dir=hub)
        assert code == 0, err
        assert (await dash.redeem(out.strip())).status == 200
