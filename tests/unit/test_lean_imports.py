"""Importing plantbus loads nats-py without the aiohttp of its WebSocket transport (about
12 MB of every hub process; the CLI, which every `plantbus run` process imports, imports it
only in the command that uses it), and aiohttp still imports for those that use it."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
import plantbus.cli.main  # what every `plantbus run SERVICE` process imports
import plantbus.device.service
import nats.aio.transport
before = "aiohttp" in sys.modules
from aiohttp import web
print(json.dumps([before, nats.aio.transport.aiohttp is None, web.Application.__name__]))
"""


def test_hub_processes_import_nats_without_aiohttp() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], check=True, capture_output=True, text=True, timeout=60
    )
    assert json.loads(done.stdout) == [False, True, "Application"]
