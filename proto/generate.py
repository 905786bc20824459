"""Regenerate the Python code for proto/plantbus/v1 into services/plantbus/v1, and for the
Sparkplug B payload (services/plantbus/sparkplug/sparkplug_b.proto) beside its .proto.

Run from anywhere: ``python proto/generate.py``. ``--out DIR`` writes elsewhere
(the staleness tests use it to compare against the committed files). Into the tree it also
rewrites the HTTP API's OpenAPI document (``python -m plantbus.gateway.openapi``), which
follows the same protos.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent
DEFAULT_OUT = PROTO_ROOT.parent / "services"
SPARKPLUG = DEFAULT_OUT / "plantbus" / "sparkplug"
"""Not part of the contract (not plantbus.v1, not linted by buf): the Sparkplug
specification's own schema, compiled into the service that speaks it."""


def generate(out: Path) -> list[Path]:
    """Compile every .proto under proto/plantbus into ``out`` and return the written files."""
    sources = sorted(PROTO_ROOT.glob("plantbus/**/*.proto"))
    well_known = str(resources.files("grpc_tools") / "_proto")
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *[str(p) for p in sources],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed; see the messages above")
    package_dirs = {out / p.parent.relative_to(PROTO_ROOT) for p in sources}
    for pkg in package_dirs:
        (pkg / "__init__.py").touch()
        (pkg / "py.typed").touch()  # PEP 561: plantbus-api ships the .pyi stubs
    return sorted(p for d in package_dirs for p in d.glob("*.py*"))


def generate_sparkplug(out: Path) -> list[Path]:
    """Compile the Sparkplug B payload into ``out`` (sparkplug_b_pb2.py and .pyi)."""
    args = ["protoc", f"-I{SPARKPLUG}", f"--python_out={out}", f"--pyi_out={out}"]
    if protoc.main([*args, str(SPARKPLUG / "sparkplug_b.proto")]) != 0:
        raise SystemExit("protoc failed on sparkplug_b.proto; see the messages above")
    return sorted(out.glob("sparkplug_b_pb2.py*"))


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    written = generate(args.out)
    written += generate_sparkplug(
        SPARKPLUG if args.out == DEFAULT_OUT else args.out / "plantbus" / "sparkplug"
    )
    print(f"wrote {len(written)} files under {args.out}", file=sys.stderr)
    if args.out.resolve() == DEFAULT_OUT.resolve():
        path = os.pathsep.join([str(DEFAULT_OUT), os.environ.get("PYTHONPATH", "")])
        command = [sys.executable, "-m", "plantbus.gateway.openapi"]
        subprocess.run(command, check=True, env={**os.environ, "PYTHONPATH": path})


if __name__ == "__main__":
    main()
