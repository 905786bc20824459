"""proto/ compiles for the other languages docs/subscribing.md names: Java with protoc's own
generator, and Go options that protoc-gen-go accepts (that plugin is not installed here, so
its options are checked in the descriptor protoc produces)."""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
PROTO = ROOT / "proto"
SOURCES = sorted(PROTO.glob("plantbus/**/*.proto"))
WELL_KNOWN = str(resources.files("grpc_tools") / "_proto")
# protoc-gen-go's form: an import path whose last element is the proto package's directory,
# then ';' and a Go package name (lower case, no underscore: the Go style buf recommends)
GO_PACKAGE = re.compile(
    r"^(?P<path>[a-z0-9.-]+\.[a-z]+(/[A-Za-z0-9._-]+)+);(?P<name>[a-z][a-z0-9]*)$"
)
JAVA_PACKAGE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


def descriptors(tmp_path: Path) -> list[descriptor_pb2.FileDescriptorProto]:
    """Every plantbus file as protoc compiles it from proto/."""
    out = tmp_path / "plantbus.binpb"
    args = ["protoc", f"-I{PROTO}", f"-I{WELL_KNOWN}", f"--descriptor_set_out={out}"]
    assert protoc.main([*args, *map(str, SOURCES)]) == 0
    files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    return [f for f in files if f.package.startswith("plantbus.")]


def test_every_file_has_one_valid_go_package(tmp_path: Path) -> None:
    files = descriptors(tmp_path)
    assert len(files) == len(SOURCES)
    by_package: dict[str, set[str]] = {}
    for file in files:
        match = GO_PACKAGE.match(file.options.go_package)
        assert match, f"{file.name}: go_package {file.options.go_package!r} is not path;name"
        directory = file.package.replace(".", "/")
        assert match["path"].endswith("/" + directory), f"{file.name}: not under {directory}"
        assert match["name"] == file.package.replace(".", ""), file.name
        by_package.setdefault(file.package, set()).add(file.options.go_package)
    # protoc-gen-go refuses one proto package spread over several Go packages
    assert all(len(go) == 1 for go in by_package.values()), by_package


def test_every_file_has_java_options(tmp_path: Path) -> None:
    outer_names = set()
    for file in descriptors(tmp_path):
        options = file.options
        assert JAVA_PACKAGE.match(options.java_package), file.name
        assert options.java_package.endswith("." + file.package.split(".")[-1]), file.name
        assert options.java_multiple_files, file.name
        declared = {t.name for t in (*file.message_type, *file.enum_type, *file.service)}
        assert options.java_outer_classname not in declared, f"{file.name}: class clash"
        outer_names.add(options.java_outer_classname)
    assert len(outer_names) == len(SOURCES), "two files share an outer class name"


@pytest.mark.skipif(
    shutil.which("protoc") is None,
    reason="needs protoc with its Java generator (Debian: protobuf-compiler)",
)
def test_protoc_generates_java(tmp_path: Path) -> None:
    out = tmp_path / "java"
    out.mkdir()
    subprocess.run(
        ["protoc", f"-I{PROTO}", f"-I{WELL_KNOWN}", f"--java_out={out}", *map(str, SOURCES)],
        check=True,
        capture_output=True,
    )
    files = descriptors(tmp_path)
    package_dir = out / files[0].options.java_package.replace(".", "/")
    produced = {p.stem for p in package_dir.glob("*.java")}
    for file in files:
        expected = {file.options.java_outer_classname}
        expected |= {t.name for t in (*file.message_type, *file.enum_type)}
        assert expected <= produced, f"{file.name}: missing {sorted(expected - produced)}"
    batch = (package_dir / "TagSampleBatch.java").read_text()
    assert "package io.github.plantbus.v1;" in batch
