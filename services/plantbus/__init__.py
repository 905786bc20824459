"""Plantbus: an IT/OT integration hub for manufacturing."""

import pkgutil
from importlib.metadata import PackageNotFoundError, version

# plantbus.v1 comes from another distribution, plantbus-api, which pip may have put in
# another sys.path entry (a --user or --target install beside a system one)
__path__ = pkgutil.extend_path(__path__, __name__)

try:
    __version__ = version("plantbus")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
