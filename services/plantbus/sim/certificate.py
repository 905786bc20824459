"""The simulator's own OPC UA certificate, kept in the data dir so that it stays the same
across restarts (and ``plantbus up``, which makes it, trusts it)."""

from __future__ import annotations

import socket
from pathlib import Path

from plantbus.sdk.certificates import ensure_self_signed

__all__ = ["SIM_URI", "sim_certificate"]

SIM_URI = "urn:plantbus:sim:line1"


def sim_certificate(data_dir: Path) -> tuple[Path, Path]:
    """The certificate (DER) and key files of the simulated line's OPC UA server, made on
    first use under ``<data_dir>/sim/opcua/``."""
    folder = data_dir / "sim" / "opcua"
    cert, key = folder / "cert.der", folder / "key.pem"
    hosts = ["localhost", "127.0.0.1", socket.gethostname()]
    ensure_self_signed(cert, key, name="Plantbus simulated line", uri=SIM_URI, hosts=hosts)
    return cert, key
