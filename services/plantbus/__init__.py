"""Plantbus: an IT/OT integration hub for manufacturing."""

import pkgutil
import sys
from importlib.metadata import PackageNotFoundError, version

# plantbus.v1 comes from another distribution, plantbus-api, which pip may have put in
# another sys.path entry (a --user or --target install beside a system one)
__path__ = pkgutil.extend_path(__path__, __name__)


def _nats_without_aiohttp() -> None:
    """Import nats-py without the aiohttp it imports for its WebSocket transport (about
    12 MB of every hub process, docs/benchmarks.md): Plantbus speaks ``nats://`` and
    ``tls://`` only. ``import aiohttp`` works as before afterwards (the dashboard's)."""
    if "nats" in sys.modules or "aiohttp" in sys.modules:
        return
    sys.modules["aiohttp"] = None  # type: ignore[assignment]  # import aiohttp -> ImportError
    try:
        import nats.aio.transport  # noqa: F401
    except ModuleNotFoundError:  # plantbus-api alone (no nats-py): nothing to keep lean
        pass
    finally:
        del sys.modules["aiohttp"]


_nats_without_aiohttp()

try:
    __version__ = version("plantbus")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
