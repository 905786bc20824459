"""Deployment checks that need no cluster: every overlay renders and validates against the
Kubernetes schemas, the Tiltfile parses and points at what exists, the image runs every
service's entry point, the ConfigMap's plant config is the example's, each service mounts
only its own NATS Secret, and the NATS servers run the permissions `plantbus up` runs."""

from __future__ import annotations

import ast
import filecmp
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import yaml

from plantbus.kit import natsauth
from plantbus.kit.natsserver import find_binary
from plantbus.kit.registry import SERVICES

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"


def tool(name: str) -> str:
    local = Path(sysconfig.get_path("scripts")) / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: pip install -r requirements-dev.txt")
    return found


def render(overlay: str) -> list[dict[str, object]]:
    out = subprocess.run(
        [tool("kubectl"), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlay_renders_and_validates(overlay: str, tmp_path: Path) -> None:
    docs = render(overlay)
    rendered = tmp_path / f"{overlay}.yaml"
    rendered.write_text(yaml.safe_dump_all(docs))
    result = subprocess.run(
        [tool("kubernetes-validate"), "--strict", "--quiet", str(rendered)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}  # type: ignore[index]
    for service in ("governance", "device", "oee", "alerting", "erp", "dashboard"):
        assert ("Deployment", f"plantbus-{service}") in kinds
        assert ("PodDisruptionBudget", f"plantbus-{service}") in kinds


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_container_is_locked_down(overlay: str) -> None:
    for doc in render(overlay):
        if doc["kind"] not in ("Deployment", "StatefulSet"):
            continue
        pod = doc["spec"]["template"]["spec"]  # type: ignore[index]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["limits"]["memory"]


def test_config_map_holds_the_example_plant() -> None:
    base = K8S / "base" / "plant"
    for example in (ROOT / "examples" / "plant").glob("*.yaml"):
        assert filecmp.cmp(example, base / example.name, shallow=False), (
            f"deploy/k8s/base/plant/{example.name} differs from examples/plant: copy it again"
        )


def test_tiltfile_parses_and_references_what_exists() -> None:
    source = (ROOT / "Tiltfile").read_text()
    tree = ast.parse(source)  # Starlark is a syntactic subset of Python
    calls = {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    assert {"docker_build", "k8s_yaml", "kustomize", "live_update", "sync"} - calls == {
        "live_update"
    }
    strings = [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]
    assert (ROOT / "deploy/k8s/overlays/dev").is_dir() and "deploy/k8s/overlays/dev" in strings
    for local in ("services/plantbus", "plugins/modbus/plantbus_modbus", "proto/plantbus"):
        assert local in strings and (ROOT / local).is_dir()


def test_dockerfile_is_multi_stage_non_root_and_without_compilers() -> None:
    text = (ROOT / "Dockerfile").read_text()
    froms = [line for line in text.splitlines() if line.startswith("FROM ")]
    assert len(froms) == 2, "expected a build stage and a final stage"
    final = text.rsplit("\nFROM ", 1)[1]
    assert "USER 10001" in final and 'ENTRYPOINT ["plantbus", "run"]' in final
    assert "gcc" not in final and "build-essential" not in final


@pytest.mark.parametrize("service", [*list(SERVICES), "all"])
def test_entry_point_works_for_every_service(service: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "plantbus.cli", "run", service, "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Run one SERVICE" in result.stdout


def _deployments(overlay: str) -> dict[str, dict[str, Any]]:
    return {
        str(d["metadata"]["name"]).removeprefix("plantbus-"): d["spec"]["template"]["spec"]  # type: ignore[index]
        for d in render(overlay)
        if d["kind"] == "Deployment" and str(d["metadata"]["name"]) in _SERVICE_DEPLOYMENTS  # type: ignore[index]
    }


_SERVICE_DEPLOYMENTS = {f"plantbus-{name}" for name in SERVICES}


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_each_service_mounts_only_its_own_nats_secret(overlay: str) -> None:
    pods = _deployments(overlay)
    assert set(pods) == set(SERVICES)
    for service, pod in pods.items():
        secrets = {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
        nats = {s for s in secrets if s.startswith("plantbus-nats-")}
        assert nats == {f"plantbus-nats-{service}"}, (service, secrets)
        assert ("plantbus-config-signing" in secrets) == (service == "governance"), service
        (container,) = pod["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["PLANTBUS_NATS_USER"]["value"] == service
        assert env["PLANTBUS_NATS_PASSWORD_FILE"]["value"] == "/etc/plantbus/nats/password"
        assert "PLANTBUS_NATS_PASSWORD" not in env and "PLANTBUS_NATS_CREDS" not in env
        assert env["PLANTBUS_CONFIG_PUBKEY"]["value"].endswith("config-signing.pub")


def test_dev_nats_runs_the_generated_permissions() -> None:
    committed = (K8S / "overlays" / "dev" / "nats-server.conf").read_text()
    assert committed == natsauth.server_config(natsauth.grants(), None, "/data"), (
        "deploy/k8s/overlays/dev/nats-server.conf is stale: plantbus security nats-config "
        "--password-env --store-dir /data --out deploy/k8s/overlays/dev/nats-server.conf"
    )
    env = {natsauth.password_variable(user): "x" for user in natsauth.grants()}
    checked = subprocess.run(
        [str(find_binary()), "-c", str(K8S / "overlays" / "dev" / "nats-server.conf"), "-t"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert checked.returncode == 0, checked.stderr
    (server,) = [d for d in render("dev") if d["kind"] == "StatefulSet"]
    (container,) = server["spec"]["template"]["spec"]["containers"]  # type: ignore[index]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"]}
    assert refs == {
        natsauth.password_variable(user): f"plantbus-nats-{user}" for user in natsauth.grants()
    }


def test_prod_nats_values_carry_the_generated_permissions() -> None:
    values = yaml.safe_load((ROOT / "deploy" / "nats" / "values-prod.yaml").read_text())
    wanted = natsauth.chart_values(natsauth.grants())
    assert values["config"]["merge"] == wanted["config"]["merge"]
    assert values["container"]["env"] == wanted["container"]["env"]
    assert values["config"]["jetstream"]["enabled"] and values["config"]["cluster"]["enabled"]
