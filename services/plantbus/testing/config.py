"""Write config versions straight into the governance KV bucket, for tests of followers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from nats.js.errors import KeyNotFoundError

from plantbus.config import PlantConfig
from plantbus.kit.bus import Bus
from plantbus.kit.config_watch import CURRENT_KEY, config_kv

__all__ = ["put_config"]


async def put_config(bus: Bus, config: PlantConfig | dict[str, Any], message: str = "test") -> int:
    """Store ``config`` as the next version (as governance would) and return its number."""
    model = config if isinstance(config, PlantConfig) else PlantConfig.model_validate(config)
    kv = await config_kv(bus)
    try:
        current = await kv.get(CURRENT_KEY)
        version = int(json.loads(current.value or b"{}").get("version", 0)) + 1
    except KeyNotFoundError:
        version = 1
    doc = {
        "version": version,
        "author": "pytest",
        "time": datetime.now(UTC).isoformat(),
        "message": message,
        "config": model.model_dump(mode="json"),
    }
    raw = json.dumps(doc).encode()
    await kv.put(f"history.{version}", raw)
    await kv.put(CURRENT_KEY, raw)
    return version
