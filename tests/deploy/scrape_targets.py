"""Whether each ServiceMonitor / PodMonitor scrapes a port that exists and Prometheus may reach.

A ServiceMonitor endpoint names a port of the Services it selects; the Service's targetPort names
(or numbers) a container port of the pods behind it. A PodMonitor endpoint names a container
port of the pods it selects. Either way the flow Prometheus -> pod:port must pass the
NetworkPolicies of both namespaces (k8s_network). Each check returns problems, empty when fine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from k8s_manifests import Doc
from k8s_network import Pod, allows, selects

OBSERVABILITY = "data-platform-observability"
PROMETHEUS = Pod(OBSERVABILITY, {"app.kubernetes.io/name": "prometheus"})
# kube-prometheus-stack selects monitors carrying its release label, in any namespace.
PROMETHEUS_PICKS = {"matchLabels": {"release": "kube-prometheus-stack"}}
MONITOR_KINDS = ("ServiceMonitor", "PodMonitor")
_POD_TEMPLATE = {
    "Deployment": "spec.template",
    "StatefulSet": "spec.template",
    "DaemonSet": "spec.template",
    "Job": "spec.template",
    "CronJob": "spec.jobTemplate.spec.template",
}


def _dig(doc: Doc, path: str) -> Any:
    for key in path.split("."):
        doc = (doc or {}).get(key)
    return doc


def pods(docs: Iterable[Doc]) -> list[Pod]:
    """The pods each workload's template describes, with their named container ports."""
    found = []
    for doc in docs:
        template = _dig(doc, _POD_TEMPLATE[doc["kind"]]) if doc["kind"] in _POD_TEMPLATE else None
        if not template:
            continue
        ports = {
            port["name"]: port["containerPort"]
            for container in template["spec"].get("containers") or []
            for port in container.get("ports") or []
            if port.get("name")
        }
        labels = (template.get("metadata") or {}).get("labels") or {}
        found.append(Pod(doc["metadata"]["namespace"], labels, ports))
    return found


def monitors(docs: Iterable[Doc]) -> list[Doc]:
    return [d for d in docs if d["kind"] in MONITOR_KINDS]


def _name(doc: Doc) -> str:
    return f"{doc['kind']} {doc['metadata'].get('namespace')}/{doc['metadata']['name']}"


def _namespaces(monitor: Doc, docs: list[Doc]) -> set[str]:
    selector = monitor["spec"].get("namespaceSelector") or {}
    if selector.get("any"):
        return {d["metadata"].get("namespace") for d in docs} - {None}
    return set(selector.get("matchNames") or [monitor["metadata"]["namespace"]])


def _reachable(docs: list[Doc], targets: list[Pod], port: str | int, where: str) -> list[str]:
    """The selected pods have the port, and Prometheus may connect to it."""
    if not targets:
        return [f"{where}: selects no pod"]
    problems = []
    for pod in targets:
        number = pod.ports.get(port) if isinstance(port, str) else port
        if number is None:
            problems.append(f"{where}: pods {dict(pod.labels)} have no container port {port!r}")
        elif not allows(docs, PROMETHEUS, pod, number):
            problems.append(
                f"{where}: NetworkPolicies block Prometheus -> {pod.namespace}:{number}"
            )
    return problems


def _service_monitor_problems(docs: list[Doc], all_pods: list[Pod], monitor: Doc) -> list[str]:
    namespaces = _namespaces(monitor, docs)
    selector = monitor["spec"].get("selector") or {}
    services = [
        d
        for d in docs
        if d["kind"] == "Service"
        and d["metadata"].get("namespace") in namespaces
        and selects(selector, d["metadata"].get("labels") or {})
    ]
    if not services:
        return [f"{_name(monitor)} selects no Service"]
    problems = []
    for endpoint in monitor["spec"].get("endpoints") or []:
        for service in services:
            where = f"{_name(monitor)} -> {_name(service)}:{endpoint.get('port')}"
            ports = service["spec"].get("ports") or []
            port = next((p for p in ports if p.get("name") == endpoint.get("port")), None)
            if port is None:
                problems.append(f"{where}: the Service has no port of that name")
                continue
            target = port.get("targetPort", port["port"])
            behind = [
                p
                for p in all_pods
                if p.namespace == service["metadata"]["namespace"]
                and selects({"matchLabels": service["spec"].get("selector") or {}}, p.labels)
                and service["spec"].get("selector")
            ]
            problems += _reachable(docs, behind, target, where)
    return problems


def _pod_monitor_problems(docs: list[Doc], all_pods: list[Pod], monitor: Doc) -> list[str]:
    namespaces = _namespaces(monitor, docs)
    selector = monitor["spec"].get("selector") or {}
    selected = [p for p in all_pods if p.namespace in namespaces and selects(selector, p.labels)]
    problems = []
    for endpoint in monitor["spec"].get("podMetricsEndpoints") or []:
        where = f"{_name(monitor)}:{endpoint.get('port')}"
        problems += _reachable(docs, selected, endpoint.get("port"), where)
    return problems


def monitor_problems(docs: list[Doc], monitor: Doc) -> list[str]:
    """A monitor Prometheus picks up, whose every endpoint reaches an open, existing port."""
    problems = []
    if not selects(PROMETHEUS_PICKS, monitor["metadata"].get("labels") or {}):
        problems.append(f"{_name(monitor)} lacks the label release: kube-prometheus-stack")
    endpoints = monitor["spec"].get("endpoints") or monitor["spec"].get("podMetricsEndpoints")
    if not endpoints or any(not e.get("port") for e in endpoints):
        return [*problems, f"{_name(monitor)}: every endpoint must name a port"]
    check = (
        _service_monitor_problems if monitor["kind"] == "ServiceMonitor" else _pod_monitor_problems
    )
    return problems + check(docs, pods(docs), monitor)


# ---- metric names: what the configured exporters emit, what the dashboard and alerts read ----

METRIC = re.compile(r"\b((?:trino|metrics)_\w+)")
_GROUP_REF = re.compile(r"\$(\d+)")


def exporter_metric(rules: list[dict], line: str) -> str | None:
    """The name the JMX exporter gives an MBean attribute line, first matching rule wins.

    Lines have the exporter's pattern input form, ``domain<key=value><composite>attribute: value``;
    the exporter matches whole lines, as ``re.fullmatch`` does.
    """
    for rule in rules:
        match = re.fullmatch(rule["pattern"], line)
        if match:  # Java's $1 is Python's \g<1>
            return match.expand(_GROUP_REF.sub(r"\\g<\1>", rule.get("name", "")))
    return None


def referenced_metrics(texts: Iterable[str], prefix: str) -> set[str]:
    return {m for text in texts for m in METRIC.findall(text) if m.startswith(prefix)}
