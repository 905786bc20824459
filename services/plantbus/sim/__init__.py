"""The simulated plant: three CNC machines served over Modbus TCP and OPC UA, and the demo
plant config that points the hub at them.

The servers need pymodbus and asyncua, the ``sim`` extra (``pip install 'plantbus[sim]'``);
the rest of the hub does not, so this package imports them only in its server modules.
"""

from __future__ import annotations

from importlib import resources, util
from pathlib import Path

__all__ = ["INSTALL", "demo_plant", "missing_libraries"]

INSTALL = "pip install 'plantbus[sim]'"
_LIBRARIES = ("pymodbus", "asyncua")


def missing_libraries() -> list[str]:
    """The simulator's libraries that are not installed (empty when it can run)."""
    return [name for name in _LIBRARIES if util.find_spec(name) is None]


def demo_plant() -> Path:
    """The demo plant's config directory, shipped in this package (``plant/``; in a source
    checkout a link to ``examples/plant``, the one copy the docs refer to)."""
    return Path(str(resources.files(__name__) / "plant"))
