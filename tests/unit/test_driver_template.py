"""The copier driver template: a plugin made from it passes its own tests, and the
built-in linetag plugin is exactly what the template makes (no drift)."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest

copier = pytest.importorskip("copier", reason="the copier package (pip install copier)")

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = "templates/driver"


def _generate(dest: Path, **answers: str) -> None:
    cwd = Path.cwd()
    os.chdir(ROOT)  # the answers file records the template's path relative to the repo
    try:
        copier.run_copy(TEMPLATE, dest, data=answers, defaults=True, unsafe=True, quiet=True)
    finally:
        os.chdir(cwd)


def _differences(left: Path, right: Path) -> list[str]:
    cmp = filecmp.dircmp(left, right, ignore=["__pycache__", ".pytest_cache", ".ruff_cache"])
    out = [*cmp.left_only, *cmp.right_only, *cmp.diff_files, *cmp.funny_files]
    out = [name for name in out if not name.endswith(".egg-info")]  # an editable install's
    for name in cmp.subdirs:
        out += [f"{name}/{d}" for d in _differences(left / name, right / name)]
    return out


def test_the_built_in_linetag_plugin_is_what_the_template_makes(tmp_path: Path) -> None:
    script = (ROOT / TEMPLATE / "regenerate-linetag").read_text()
    description = script.split('"description=', 1)[1].split('"', 1)[0]
    _generate(tmp_path / "linetag", name="linetag", class_prefix="LineTag", description=description)
    assert _differences(tmp_path / "linetag", ROOT / "plugins" / "linetag") == [], (
        "plugins/linetag differs from templates/driver: run templates/driver/regenerate-linetag"
    )


def test_a_generated_plugin_has_its_names_and_passes_its_tests(tmp_path: Path) -> None:
    dest = tmp_path / "acme"
    _generate(dest, name="acme_press", description="Acme press controllers")
    pyproject = (dest / "pyproject.toml").read_text()
    assert 'name = "plantbus-driver-acme-press"' in pyproject
    assert 'acme_press = "plantbus_acme_press.driver:AcmePressDriver"' in pyproject
    assert (dest / "plantbus_acme_press" / "py.typed").exists()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(dest), str(ROOT / "services")])}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(dest / "tests")],
        cwd=dest,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout and "failed" not in run.stdout
