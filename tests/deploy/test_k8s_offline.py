"""Deployment checks that need no cluster: every overlay renders and validates against the
Kubernetes schemas, carries the security posture (default deny, a `from` on every ingress
rule and a `to` on every egress rule, each Deployment mounting and using its own TLS Secret
and NATS Secret and no other service's), cert-manager issues the TLS Secrets or `plantbus
security certs` writes them, the NATS servers run the permissions `plantbus up` runs, the
Tiltfile parses and points at what exists, the image runs every service's entry point, and
the ConfigMap's plant config is the example's."""

from __future__ import annotations

import ast
import base64
import filecmp
import functools
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from plantbus.kit import natsauth, natsconfig
from plantbus.kit.natsserver import find_binary
from plantbus.kit.registry import SERVICES

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ["dev", "prod", "cert-manager"]
TLS_MOUNT = "/etc/plantbus/tls"
CERTIFICATE_SPEC = {  # cert-manager.io/v1 CertificateSpec: a misspelt field is an error here
    "additionalOutputFormats", "commonName", "dnsNames", "duration", "emailAddresses",
    "encodeUsagesInRequest", "ipAddresses", "isCA", "issuerRef", "keystores", "literalSubject",
    "nameConstraints", "otherNames", "privateKey", "renewBefore", "renewBeforePercentage",
    "revisionHistoryLimit", "secretName", "secretTemplate", "subject", "uris", "usages",
}  # fmt: skip


def tool(name: str) -> str:
    local = Path(sysconfig.get_path("scripts")) / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: pip install -r requirements-dev.txt")
    return found


@functools.cache
def render(overlay: str | Path) -> list[dict[str, Any]]:
    path = overlay if isinstance(overlay, Path) else K8S / "overlays" / overlay
    out = subprocess.run(
        [tool("kubectl"), "kustomize", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def workloads(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every Plantbus service's Deployment or StatefulSet (the device service's), by service."""
    found = of_kind(docs, "Deployment") | of_kind(docs, "StatefulSet")
    return {
        service: doc
        for name, doc in found.items()
        if (service := name.removeprefix("plantbus-")) in SERVICES
    }


def deployments(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(service, pod spec) of every Plantbus service's workload."""
    for service, doc in workloads(docs).items():
        yield service, doc["spec"]["template"]["spec"]


def secrets_used(pod: dict[str, Any]) -> set[str]:
    """Every Secret a pod mounts or reads into its environment."""
    names = {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
    for volume in pod.get("volumes", []):
        for source in volume.get("projected", {}).get("sources", []):
            if "secret" in source:
                names.add(source["secret"]["name"])
    for container in pod["containers"]:
        for env in container.get("env", []):
            if ref := env.get("valueFrom", {}).get("secretKeyRef"):
                names.add(ref["name"])
        names |= {e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e}
    return names


def environment(docs: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, str]:
    """A container's environment: its ConfigMaps, then its own variables."""
    maps = of_kind(docs, "ConfigMap")
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env |= maps[source["configMapRef"]["name"]]["data"]
    env |= {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    return env


@pytest.mark.parametrize("overlay", OVERLAYS)
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
    for service in SERVICES:
        kind = "StatefulSet" if service == "device" else "Deployment"
        assert (kind, f"plantbus-{service}") in kinds
        assert ("PodDisruptionBudget", f"plantbus-{service}") in kinds


@pytest.mark.parametrize("overlay", OVERLAYS)
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


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_and_name_every_peer(overlay: str) -> None:
    docs = render(overlay)
    policies = of_kind(docs, "NetworkPolicy")
    deny = policies["plantbus-default-deny"]["spec"]
    assert deny["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "plantbus"}}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"} and "ingress" not in deny
    for name, policy in policies.items():
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("from"), f"{overlay}: an ingress rule of {name} admits anyone"
            assert rule.get("ports"), f"{overlay}: an ingress rule of {name} opens every port"
        for rule in policy["spec"].get("egress", []):
            assert rule.get("to"), f"{overlay}: an egress rule of {name} reaches anywhere"
    for service, workload in workloads(docs).items():  # what the policies select
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "plantbus"
        assert labels["app.kubernetes.io/component"] == service


def test_grpc_clients_reach_each_service_with_a_certificate_or_a_token() -> None:
    docs = render("prod")
    policies = of_kind(docs, "NetworkPolicy")
    for service, spec in SERVICES.items():
        port, token_port = spec.grpc_port, spec.grpc_port + 100  # plantbus run's default
        rules = policies[f"plantbus-{service}-in"]["spec"]["ingress"]
        clients = [r for r in rules if "plantbus.io/grpc-client" in str(r["from"])]
        assert [{p["port"] for p in r["ports"]} for r in clients] == [{port, token_port}]
        served = of_kind(docs, "Service")[f"plantbus-{service}"]["spec"]["ports"]
        ports = {p["name"]: p["port"] for p in served}
        assert (ports["grpc"], ports["grpc-token"]) == (port, token_port)


def _egress_peers(docs: list[dict[str, Any]], service: str) -> set[str]:
    """What one service's own egress policies let it reach, beyond NATS and DNS."""
    peers = set()
    for policy in of_kind(docs, "NetworkPolicy").values():
        selector = policy["spec"]["podSelector"].get("matchLabels", {})
        if selector.get("app.kubernetes.io/component") != service:
            continue
        for rule in policy["spec"].get("egress", []):
            for peer in rule["to"]:
                labels = peer.get("podSelector", {}).get("matchLabels", {})
                cidr = peer.get("ipBlock", {}).get("cidr")
                peers.add(labels.get("app.kubernetes.io/component") or cidr or str(labels))
    return peers


def test_each_service_reaches_only_what_it_needs() -> None:
    docs = render("prod")
    assert _egress_peers(docs, "dashboard") == {"alerting", "oee"}
    assert _egress_peers(docs, "device") == {"governance", "192.0.2.0/24"}
    assert _egress_peers(docs, "erp") == {"192.0.2.10/32"}
    assert _egress_peers(docs, "alerting") == {"192.0.2.25/32", "192.0.2.43/32"}
    assert _egress_peers(docs, "governance") == _egress_peers(docs, "oee") == set()
    shared = of_kind(docs, "NetworkPolicy")["plantbus-to-nats-and-dns"]["spec"]["egress"]
    nats = shared[0]["to"][0]  # in prod NATS runs in its own namespace
    assert nats["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "nats"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_mounts_and_uses_its_own_tls_secret_only(overlay: str) -> None:
    docs = render(overlay)
    found = dict(deployments(docs))
    assert set(found) == set(SERVICES)
    for service, pod in found.items():
        own = f"plantbus-{service}-tls"
        volumes = [
            v["name"] for v in pod["volumes"] if v.get("secret", {}).get("secretName") == own
        ]
        assert volumes, f"{overlay}: {service} does not mount {own}"
        (container,) = pod["containers"]
        mounts = {m["mountPath"] for m in container["volumeMounts"] if m["name"] in volumes}
        assert mounts == {TLS_MOUNT}
        env = environment(docs, container)
        assert {env[f"PLANTBUS_GRPC_TLS_{k}"] for k in ("CERT", "KEY", "CA")} == {
            f"{TLS_MOUNT}/tls.crt",
            f"{TLS_MOUNT}/tls.key",
            f"{TLS_MOUNT}/ca.crt",
        }, f"{overlay}: {service} does not use its mounted certificate"
        for secret in secrets_used(pod):
            assert secret != "plantbus-ca", f"{overlay}: {service} reads the CA's key"
            for other in set(SERVICES) - {service}:
                assert not (
                    secret == f"plantbus-{other}" or secret.startswith(f"plantbus-{other}-")
                ), f"{overlay}: {service} uses {other}'s Secret {secret}"


def test_cert_manager_issues_each_service_secret_from_the_private_ca() -> None:
    docs = render("cert-manager")
    issuers = of_kind(docs, "Issuer")
    certificates = of_kind(docs, "Certificate")
    ca = certificates["plantbus-ca"]["spec"]
    assert ca["isCA"] is True and ca["issuerRef"]["name"] == "plantbus-selfsigned"
    assert "selfSigned" in issuers["plantbus-selfsigned"]["spec"]
    assert issuers["plantbus-ca"]["spec"]["ca"]["secretName"] == ca["secretName"] == "plantbus-ca"
    for name, certificate in certificates.items():
        assert set(certificate["spec"]) <= CERTIFICATE_SPEC, name
        assert certificate["metadata"]["namespace"] == "plantbus"
    for service in SERVICES:
        spec = certificates[f"plantbus-{service}"]["spec"]
        assert spec["secretName"] == f"plantbus-{service}-tls"
        assert spec["issuerRef"] == {
            "name": "plantbus-ca",
            "kind": "Issuer",
            "group": "cert-manager.io",
        }
        assert spec["commonName"] == service
        assert spec["subject"] == {
            "organizations": ["plantbus"],
            "organizationalUnits": ["service"],
        }
        assert {"server auth", "client auth"} <= set(spec["usages"])
        assert f"plantbus-{service}.plantbus.svc" in spec["dnsNames"]
        assert spec["privateKey"]["rotationPolicy"] == "Always"
        assert spec["renewBefore"] == "720h" and spec["duration"] == "2160h"
    ingress = of_kind(docs, "Ingress")["plantbus-dashboard"]
    assert ingress["metadata"]["annotations"]["cert-manager.io/issuer"] == "plantbus-ca"


@pytest.mark.parametrize("overlay", ["prod", "cert-manager"])
def test_the_dashboard_is_served_over_https_through_the_ingress_controller(overlay: str) -> None:
    docs = render(overlay)
    ingress = of_kind(docs, "Ingress")["plantbus-dashboard"]["spec"]
    (tls,) = ingress["tls"]
    (rule,) = ingress["rules"]
    assert rule["host"] in tls["hosts"] and tls["secretName"] == "plantbus-web-tls"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "plantbus-dashboard", "port": {"name": "http"}}
    inbound = of_kind(docs, "NetworkPolicy")["plantbus-dashboard-in"]["spec"]["ingress"]
    web = [r for r in inbound if {"protocol": "TCP", "port": 8080} in r["ports"]]
    assert [r["from"] for r in web] == [
        [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
    ]


@pytest.mark.parametrize("overlay", ["prod", "cert-manager"])
def test_the_http_api_is_served_with_tls_passed_through_to_the_gateway(overlay: str) -> None:
    """The gateway checks client certificates itself, so the Ingress passes TLS through; it
    reaches exactly the services whose RPCs it serves, on their mTLS ports."""
    docs = render(overlay)
    ingress = of_kind(docs, "Ingress")["plantbus-gateway"]
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/ssl-passthrough"] == (
        "true"
    )
    (rule,) = ingress["spec"]["rules"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "plantbus-gateway", "port": {"name": "https"}}
    ports = {
        p["name"]: p["port"] for p in of_kind(docs, "Service")["plantbus-gateway"]["spec"]["ports"]
    }
    assert ports["https"] == 8443
    inbound = of_kind(docs, "NetworkPolicy")["plantbus-gateway-in"]["spec"]["ingress"]
    https = [r for r in inbound if {"protocol": "TCP", "port": 8443} in r["ports"]]
    assert "ingress-nginx" in str(https) and "plantbus.io/api-client" in str(https)
    served = {"governance", "device", "oee", "erp", "alerting", "historian"}
    assert _egress_peers(docs, "gateway") == served
    for service in served:
        rules = of_kind(docs, "NetworkPolicy")[f"plantbus-{service}-in"]["spec"]["ingress"]
        assert any("component': 'gateway'" in str(r["from"]) for r in rules), service
    if overlay == "cert-manager":
        names = of_kind(docs, "Certificate")["plantbus-gateway"]["spec"]["dnsNames"]
        assert rule["host"] in names


def _security_certs(out: Path, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "plantbus.cli", "security", "certs", "--out", str(out), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "kubectl apply -k" in result.stdout


def test_security_certs_writes_the_secrets_every_deployment_mounts(tmp_path: Path) -> None:
    out = tmp_path / "certs"
    _security_certs(out, "--namespace", "plantbus", "--days", "200")
    ca = x509.load_pem_x509_certificate((out / "ca.crt").read_bytes())
    secrets = of_kind(render(out / "secrets"), "Secret")
    assert set(secrets) == {f"plantbus-{s}-tls" for s in SERVICES}
    for service in SERVICES:
        secret = secrets[f"plantbus-{service}-tls"]
        assert secret["type"] == "kubernetes.io/tls"
        assert secret["metadata"]["namespace"] == "plantbus"
        data = {k: base64.b64decode(v) for k, v in secret["data"].items()}
        cert = x509.load_pem_x509_certificate(data["tls.crt"])
        cert.verify_directly_issued_by(ca)
        assert x509.load_pem_x509_certificate(data["ca.crt"]) == ca
        assert cert.subject.rfc4514_string() == f"CN={service},OU=service,O=plantbus"
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert f"plantbus-{service}.plantbus.svc" in sans.get_values_for_type(x509.DNSName)
        assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 200
        key = (out / "secrets" / service / "tls.key").stat()
        assert key.st_mode & 0o077 == 0, "a private key readable by others"
        assert data["tls.key"] == (out / "secrets" / service / "tls.key").read_bytes()
        assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    # with the prod overlay, every Secret a Deployment mounts is there
    site = tmp_path / "site"
    site.mkdir()
    prod = os.path.relpath(K8S / "overlays" / "prod", site)  # kustomize takes no absolute path
    (site / "kustomization.yaml").write_text(
        yaml.safe_dump({"resources": [prod, "../certs/secrets"]})
    )
    docs = render(site)
    present = set(of_kind(docs, "Secret"))
    for service, pod in deployments(docs):
        assert f"plantbus-{service}-tls" in present & secrets_used(pod)
    # run again: the CA stays (nothing to redistribute), the service certificates are new
    before = (out / "secrets" / "device" / "tls.crt").read_bytes()
    _security_certs(out, "--namespace", "plantbus")
    assert x509.load_pem_x509_certificate((out / "ca.crt").read_bytes()) == ca
    assert (out / "secrets" / "device" / "tls.crt").read_bytes() != before


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


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_mounts_only_its_own_nats_secret(overlay: str) -> None:
    pods = dict(deployments(render(overlay)))
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
    assert committed == natsconfig.server_config(natsauth.grants(), None, "/data"), (
        "deploy/k8s/overlays/dev/nats-server.conf is stale: plantbus security nats-config "
        "--password-env --store-dir /data --out deploy/k8s/overlays/dev/nats-server.conf"
    )
    env = {natsconfig.password_variable(user): "x" for user in natsauth.grants()}
    checked = subprocess.run(
        [str(find_binary()), "-c", str(K8S / "overlays" / "dev" / "nats-server.conf"), "-t"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert checked.returncode == 0, checked.stderr
    server = of_kind(render("dev"), "StatefulSet")["nats"]
    (container,) = server["spec"]["template"]["spec"]["containers"]  # type: ignore[index]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"]}
    assert refs == {
        natsconfig.password_variable(user): f"plantbus-nats-{user}" for user in natsauth.grants()
    }


def test_prod_nats_values_carry_the_generated_permissions() -> None:
    values = yaml.safe_load((ROOT / "deploy" / "nats" / "values-prod.yaml").read_text())
    wanted = natsconfig.chart_values(natsauth.grants())
    assert values["config"]["merge"] == wanted["config"]["merge"]
    assert values["container"]["env"] == wanted["container"]["env"]
    assert values["config"]["jetstream"]["enabled"] and values["config"]["cluster"]["enabled"]


SINGLE_REPLICA = {"historian", "sparkplug", "maintenance"}
"""The historian's replicas would share one durable consumer and split the stream between
two stores; the Sparkplug bridge is one edge node, one MQTT client id (docs/sparkplug.md);
the maintenance service's replicas would both count usage."""


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_runs_two_replicas_spread_over_nodes_and_zones(overlay: str) -> None:
    docs = render(overlay)
    budgets = of_kind(docs, "PodDisruptionBudget")
    for service, workload in workloads(docs).items():
        spec = workload["spec"]
        assert spec["replicas"] == (1 if service in SINGLE_REPLICA else 2), (overlay, service)
        own = {"app.kubernetes.io/name": "plantbus", "app.kubernetes.io/component": service}
        pod = spec["template"]["spec"]
        (term,) = pod["affinity"]["podAntiAffinity"][
            "preferredDuringSchedulingIgnoredDuringExecution"
        ]
        assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
        assert term["podAffinityTerm"]["labelSelector"]["matchLabels"] == own, service
        (spread,) = pod["topologySpreadConstraints"]
        assert spread["topologyKey"] == "topology.kubernetes.io/zone"
        assert spread["labelSelector"]["matchLabels"] == own and spread["maxSkew"] == 1
        # a node drain evicts one replica at a time, never both, and never blocks forever
        budget = budgets[f"plantbus-{service}"]["spec"]
        assert budget["selector"]["matchLabels"] == own
        assert budget["maxUnavailable"] == 1, (overlay, service)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_device_spool_is_on_a_claim_of_each_replica(overlay: str) -> None:
    docs = render(overlay)
    device = of_kind(docs, "StatefulSet")["plantbus-device"]["spec"]
    (claim,) = device["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    pod = device["template"]["spec"]
    assert "data" not in {v["name"] for v in pod["volumes"]}, "data is not an emptyDir"
    (container,) = pod["containers"]
    env = environment(docs, container)
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert env["PLANTBUS_DATA_DIR"] == mounts["data"]  # the spool is under the data dir
    assert device["persistentVolumeClaimRetentionPolicy"]["whenScaled"] == "Retain"
    governing = of_kind(docs, "Service")[device["serviceName"]]["spec"]
    assert governing["clusterIP"] == "None"


def test_prod_keeps_every_stream_on_three_jetstream_servers() -> None:
    values = yaml.safe_load((ROOT / "deploy" / "nats" / "values-prod.yaml").read_text())
    assert values["config"]["cluster"]["replicas"] == 3
    env = of_kind(render("prod"), "ConfigMap")["plantbus-env"]["data"]
    assert env["PLANTBUS_JS_REPLICAS"] == "3"
    # dev runs one NATS server: one replica (JetStream refuses more on a single server)
    nats = of_kind(render("dev"), "StatefulSet")["nats"]["spec"]
    assert nats["replicas"] == 1
    assert (
        of_kind(render("dev"), "ConfigMap")["plantbus-env"]["data"].get("PLANTBUS_JS_REPLICAS", "1")
        == "1"
    )


def test_every_dev_pod_has_readiness_and_liveness_probes() -> None:
    for doc in render("dev"):
        if doc["kind"] in ("Deployment", "StatefulSet"):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                name = doc["metadata"]["name"]
                assert container.get("readinessProbe"), f"{name} has no readiness probe"
                assert container.get("livenessProbe"), f"{name} has no liveness probe"


def test_mqtt_reaches_nats_only_from_uns_and_labelled_mqtt_clients() -> None:
    docs = render("dev")
    (service,) = [d for d in of_kind(docs, "Service").values() if d["metadata"]["name"] == "nats"]
    assert {"name": "mqtt", "port": natsconfig.MQTT_PORT, "targetPort": "mqtt"} in service["spec"][
        "ports"
    ]
    policies = of_kind(docs, "NetworkPolicy")
    mqtt = [
        rule
        for rule in policies["nats-from-plantbus"]["spec"]["ingress"]
        if rule["ports"] == [{"protocol": "TCP", "port": natsconfig.MQTT_PORT}]
    ]
    (rule,) = mqtt
    assert [peer["podSelector"]["matchLabels"] for peer in rule["from"]] == [
        {"app.kubernetes.io/name": "plantbus", "app.kubernetes.io/component": "uns"},
        {"plantbus.io/mqtt-client": "true"},
    ]
    for overlay, namespace in (("dev", None), ("prod", "nats")):
        egress = of_kind(render(overlay), "NetworkPolicy")["plantbus-uns-to-mqtt"]["spec"]
        (to,) = egress["egress"][0]["to"]
        assert to["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "nats"}
        assert (
            to.get("namespaceSelector", {})
            .get("matchLabels", {})
            .get("kubernetes.io/metadata.name")
            == namespace
        )
    prod = yaml.safe_load((ROOT / "deploy" / "nats" / "values-prod.yaml").read_text())
    assert prod["config"]["mqtt"] == {"enabled": True}
