"""The flow inventory (deploy/flows.yaml) and the flows the configuration itself implies.

Each configuration file names the services its component connects to (URLs, host and port
pairs); resolving those names through the inventory's ``hosts`` gives flows that must be
listed, so the inventory cannot silently miss a connection the platform makes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from k8s_manifests import DEPLOY, Doc, load_documents
from k8s_network import Pod, external

INVENTORY = DEPLOY / "flows.yaml"
HELM = DEPLOY / "helm"
OAUTH2_PROXIES = ("oauth2-proxy", "oauth2-proxy-read-only")  # one release per Dagster UI
DEFAULT_PORTS = {"https": 443, "http": 80, "postgresql": 5432}
ADDRESS = re.compile(
    r"(?:(?P<scheme>[a-z][a-z0-9+.:-]*)://)?(?P<host>[a-z0-9-]+(?:\.[a-z0-9-]+)*"
    r"\.(?:svc\.cluster\.local|data-platform\.local))(?::(?P<port>\d+))?"
)


@dataclass(frozen=True)
class Flow:
    source: str
    target: str
    port: int


def inventory() -> dict[str, Any]:
    return yaml.safe_load(INVENTORY.read_text())


def pods() -> dict[str, Pod]:
    found = {}
    for name, spec in inventory()["components"].items():
        if "external" in spec:
            found[name] = external(spec["external"])
        else:
            found[name] = Pod(spec["namespace"], spec["labels"], spec.get("ports") or {})
    return found


def covers(broad: str, narrow: str) -> bool:
    """Whether component ``broad`` includes ``narrow``'s pods (same namespace, fewer labels)."""
    components = inventory()["components"]
    a, b = components[broad], components[narrow]
    if "external" in a or "external" in b or a["namespace"] != b["namespace"]:
        return broad == narrow
    return set(a["labels"].items()) <= set(b["labels"].items())


def listed() -> set[Flow]:
    return {Flow(f["from"], f["to"], f["port"]) for f in inventory()["flows"]}


def _hosts() -> dict[str, str]:
    return {
        host: name
        for name, spec in inventory()["components"].items()
        for host in spec.get("hosts") or []
    }


def addressed(text: str) -> set[tuple[str, int]]:
    """(component, port) for every in-cluster or platform address in ``text``."""
    hosts, found = _hosts(), set()
    for m in ADDRESS.finditer(text):
        host = m.group("host")
        if host not in hosts:
            continue
        scheme = (m.group("scheme") or "").split(":")[-1]
        port = m.group("port") or DEFAULT_PORTS.get(scheme)
        if port is None and hosts[host] == "postgresql":
            port = DEFAULT_PORTS["postgresql"]
        if port is not None:
            found.add((hosts[host], int(port)))
    return found


def _configmap(docs: list[Doc], prefix: str) -> str:
    return "\n".join(
        yaml.safe_dump(d["data"])
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith(prefix)
    )


def _workload(docs: list[Doc], name: str) -> str:
    return "\n".join(yaml.safe_dump(d) for d in docs if d["metadata"]["name"] == name)


def configured(docs: list[Doc]) -> set[Flow]:
    """Flows the rendered overlay and the Helm values imply: (clients, configuration text)."""
    dagster = yaml.safe_load((HELM / "dagster-values.yaml").read_text())
    pg = dagster["postgresql"]
    dagster_text = (
        f"{pg['postgresqlHost']}:{pg['service']['port']}\n"
        + dagster["computeLogManager"]["config"]["s3ComputeLogManager"]["endpointUrl"]
    )
    stack = (HELM / "kube-prometheus-stack-values.yaml").read_text()
    stack_values = yaml.safe_load(stack)
    sources = [
        (("dagster-run", "code-server"), _configmap(docs, "lakehouse-settings")),
        (
            ("dagster-webserver", "dagster-webserver-read-only", "dagster-daemon", "dagster-run"),
            dagster_text,
        ),
        (("trino-coordinator", "trino-worker"), _configmap(docs, "trino-catalog-iceberg")),
        (("spark-connect",), _configmap(docs, "spark-catalog-conf")),
        (("lakekeeper",), _configmap(docs, "lakekeeper-config")),
        (("minio",), _configmap(docs, "minio-oidc")),
        (("pg-backup",), _workload(docs, "pg-dump") + _workload(docs, "pg-restore-drill")),
        (("minio-setup",), _workload(docs, "minio-setup")),
        (("audit-db-setup",), _workload(docs, "audit-db-setup")),
        (("trino-coordinator",), (HELM / "trino-values.yaml").read_text()),
        (("catalog-access",), _workload(docs, "catalog-access")),
        (OAUTH2_PROXIES, (HELM / "oauth2-proxy-values.yaml").read_text()),
        (("oauth2-proxy",), (HELM / "oauth2-proxy-dagster-values.yaml").read_text()),
        (
            ("oauth2-proxy-read-only",),
            (HELM / "oauth2-proxy-dagster-read-only-values.yaml").read_text(),
        ),
        (("airbyte",), (HELM / "airbyte-values.yaml").read_text()),
        (("alertmanager",), stack_values["alertmanager"]["config"]["global"]["smtp_smarthost"]),
        (("grafana",), yaml.safe_dump(stack_values["grafana"]["additionalDataSources"])),
        (("loki",), (HELM / "loki-values.yaml").read_text()),
        (("alloy",), (HELM / "alloy-values.yaml").read_text()),
    ]
    for path in sorted((DEPLOY / "argocd").glob("*.yaml")):
        for app in load_documents(path):
            for source in app["spec"].get("sources") or []:
                if source.get("chart") == "oauth2-proxy":
                    release = source["helm"]["releaseName"]  # the component's name
                    sources.append(((release,), yaml.safe_dump(source["helm"])))
    return {
        Flow(client, target, port)
        for clients, text in sources
        for target, port in addressed(text)
        for client in clients
        if client != target or target in ("minio", "postgresql")
    }
