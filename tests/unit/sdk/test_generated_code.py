"""The committed generated code matches proto/ (regenerate with python proto/generate.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("generate", ROOT / "proto" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in module.generate(tmp_path)}
    committed_dir = ROOT / "services" / "plantbus" / "v1"
    committed = {
        p.relative_to(ROOT / "services"): p.read_bytes() for p in committed_dir.glob("*.py*")
    }
    stale = sorted(
        str(p) for p in fresh.keys() | committed.keys() if fresh.get(p) != committed.get(p)
    )
    assert not stale, f"generated code is stale, run: python proto/generate.py ({stale})"
