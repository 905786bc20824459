"""The wheels install as promised: the core, plantbus-api and every built-in plugin, built
from this tree and installed in a fresh virtual environment (no system site-packages, the
dependencies from the package index), run the whole hub; plantbus-api alone decodes a bus
message; the core without the ``sim`` extra says how to get the simulator.

Slow (a minute or two: building, installing, a hub start), so marked ``packaging``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import psutil
import pytest

from plantbus.kit.registry import SERVICES
from plantbus.testing.waiting import wait_until
from plantbus.v1 import telemetry_pb2

pytestmark = [pytest.mark.packaging, pytest.mark.slow, pytest.mark.timeout(420)]

ROOT = Path(__file__).resolve().parents[2]
# what the builds read: examples/ because the core's demo plant links to it, api/ because
# plantbus-api is built from there
SOURCES = ("pyproject.toml", "README.md", "services", "examples", "api", "plugins")
PLUGINS = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())
INSTALL_TIMEOUT_S = 240
UP_TIMEOUT_S = 120


def fresh_env() -> dict[str, str]:
    """This environment without what points into this tree or at another hub."""
    drop = ("PYTHONPATH", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PLANTBUS_")}


def run(*cmd: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=fresh_env(),
        check=False,
    )


def checked(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"{result.args}: {result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Distribution name -> wheel, built once per session from a clean copy of this tree (an
    in-tree build would reuse whatever an earlier one left in build/)."""
    base = tmp_path_factory.mktemp("wheels")
    src, out = base / "src", base / "dist"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist", ".*_cache")
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, src / name)
    # --no-build-isolation: the same setuptools backend, without fetching it once per wheel
    projects = ["./api", ".", *(f"./plugins/{p}" for p in PLUGINS)]
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    checked(
        subprocess.run(
            [*pip_wheel, "-w", out, *projects],
            cwd=src,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
    )
    built = {w.name.split("-")[0].replace("_", "-"): w for w in out.glob("*.whl")}
    assert len(built) == len(projects), sorted(built)
    return built


def fresh_venv(where: Path) -> Path:
    """A new virtual environment that sees none of this machine's packages; its bin dir."""
    checked(run(sys.executable, "-m", "venv", where))
    return where / "bin"


def pip_install(bin_dir: Path, *requirements: str | Path) -> None:
    """Install wheel files (named by path, so the package index cannot offer another
    distribution of the same name) and their dependencies from the index."""
    checked(
        run(
            bin_dir / "python",
            "-m",
            "pip",
            "install",
            "-q",
            *requirements,
            timeout=INSTALL_TIMEOUT_S,
        )
    )


def installed(bin_dir: Path) -> set[str]:
    listing = checked(run(bin_dir / "python", "-m", "pip", "list", "--format=json"))
    return {p["name"].lower() for p in json.loads(listing.stdout)}


def test_each_wheel_holds_its_own_files(wheels: dict[str, Path]) -> None:
    api = zipfile.ZipFile(wheels["plantbus-api"]).namelist()
    core = zipfile.ZipFile(wheels["plantbus"]).namelist()
    code = [n for n in api if not n.startswith("plantbus_api-")]
    assert code and all(n.startswith("plantbus/v1/") for n in code), code
    assert "plantbus/v1/py.typed" in code
    assert not [n for n in core if n.startswith("plantbus/v1/")], "the core ships plantbus.v1"
    plant = sorted(n.removeprefix("plantbus/sim/plant/") for n in core if "sim/plant/" in n)
    assert plant == sorted(p.name for p in (ROOT / "examples" / "plant").iterdir())
    version = wheels["plantbus"].name.split("-")[1]
    metadata = zipfile.ZipFile(wheels["plantbus"]).read(f"plantbus-{version}.dist-info/METADATA")
    assert f"Requires-Dist: plantbus-api=={version}".encode() in metadata  # released together
    assert b'extra == "sim"' in metadata


def test_plantbus_api_alone_decodes_a_tag_sample_batch(
    wheels: dict[str, Path], tmp_path: Path
) -> None:
    bin_dir = fresh_venv(tmp_path / "venv")
    pip_install(bin_dir, wheels["plantbus-api"])
    assert not installed(bin_dir) & {"plantbus", "grpcio", "nats-py"}
    batch = telemetry_pb2.TagSampleBatch(device="m1-plc")
    sample = batch.samples.add(path="demo/machining/line1/m1/spindle_temp", unit="degC")
    sample.value.double_value = 71.5
    sample.quality = telemetry_pb2.QUALITY_GOOD
    decode = (
        "import sys; from plantbus.v1 import telemetry_pb2 as t\n"
        "b = t.TagSampleBatch.FromString(sys.stdin.buffer.read()); s = b.samples[0]\n"
        "print(b.device, s.path, s.value.double_value, s.unit, t.Quality.Name(s.quality))"
    )
    result = subprocess.run(
        [bin_dir / "python", "-c", decode],
        input=batch.SerializeToString(),
        capture_output=True,
        timeout=30,
        check=False,
        env=fresh_env(),
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().split() == [
        "m1-plc",
        "demo/machining/line1/m1/spindle_temp",
        "71.5",
        "degC",
        "QUALITY_GOOD",
    ]


def test_the_core_finds_plantbus_api_in_another_sys_path_entry(
    wheels: dict[str, Path], tmp_path: Path
) -> None:
    """As after ``pip install --user plantbus`` beside a system-wide plantbus-api: the core's
    ``plantbus`` package is a regular one, and still finds ``plantbus.v1``."""
    bin_dir = fresh_venv(tmp_path / "venv")
    pip_install(bin_dir, wheels["plantbus-api"])
    core = tmp_path / "core"
    pip_install(bin_dir, "--no-deps", "--target", core, wheels["plantbus"])
    result = subprocess.run(
        [
            bin_dir / "python",
            "-c",
            "import plantbus.v1.telemetry_pb2 as t, plantbus; "
            "print(plantbus.__file__); print(t.__file__)",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**fresh_env(), "PYTHONPATH": str(core)},
    )
    assert result.returncode == 0, result.stderr
    package, generated = map(Path, result.stdout.split())
    assert package.is_relative_to(core)
    assert generated.is_relative_to(tmp_path / "venv")


def test_the_hub_runs_from_wheels_in_a_fresh_venv(wheels: dict[str, Path], tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    bin_dir = fresh_venv(venv)
    data_dir = tmp_path / "hub"

    # the core alone: plantbus up says how to get the simulator, and starts nothing
    pip_install(bin_dir, wheels["plantbus"], wheels["plantbus-api"])
    refused = run(bin_dir / "plantbus", "up", "--random-ports", "--data-dir", data_dir)
    assert refused.returncode == 2, refused.stderr
    assert "pip install 'plantbus[sim]'" in refused.stderr
    assert "--no-sim" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not data_dir.exists()

    # with the sim extra and the built-in plugins: the demo hub, as on a source checkout
    plugins = [wheels[name] for name in wheels if name not in ("plantbus", "plantbus-api")]
    pip_install(bin_dir, f"{wheels['plantbus']}[sim]", wheels["plantbus-api"], *plugins)
    where = checked(
        run(bin_dir / "python", "-c", "from plantbus.sim import demo_plant; print(demo_plant())")
    )
    plant = Path(where.stdout.strip())
    assert plant.is_relative_to(venv), plant
    for example in (ROOT / "examples" / "plant").iterdir():
        assert (plant / example.name).read_bytes() == example.read_bytes(), example.name

    hub = subprocess.Popen(
        [bin_dir / "plantbus", "up", "--random-ports", "--data-dir", data_dir],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=fresh_env(),
    )
    try:

        def serving() -> bool:
            if hub.poll() is not None:
                out = hub.stdout.read() if hub.stdout else ""
                pytest.fail(f"plantbus up exited with {hub.returncode}: {out[-3000:]}")
            status = run(bin_dir / "plantbus", "status", "--json", "--data-dir", data_dir)
            if status.returncode != 0:
                return False
            health = {s["service"]: s["health"] for s in json.loads(status.stdout)["services"]}
            return all(health.get(name) == "serving" for name in SERVICES)

        asyncio.run(wait_until(serving, timeout=UP_TIMEOUT_S, interval=1, message="all serving"))
        children = psutil.Process(hub.pid).children(recursive=True)
        outside = [c.cmdline() for c in children if not c.cmdline()[0].startswith(str(venv))]
        assert not outside, f"run from outside the venv: {outside}"
    finally:
        hub.send_signal(signal.SIGINT)
        try:
            code = hub.wait(60)
        except subprocess.TimeoutExpired:
            hub.kill()
            raise
    assert code == 0, hub.stdout.read() if hub.stdout else ""
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"left behind: {[p.pid for p in alive]}"
