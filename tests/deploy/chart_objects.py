"""The scrape-relevant objects rendered outside the overlays, as plain manifests.

No Helm binary here, so each chart's templates are followed by hand from our values: Services,
pod templates (labels, named container ports) and ServiceMonitors. Trino chart 1.37:
templates/service-{coordinator,worker}.yaml, deployment-{coordinator,worker}.yaml and
servicemonitor-{coordinator,worker}.yaml; oauth2-proxy 7.7: service.yaml and servicemonitor.yaml.
Targets the platform team installs (README, Prerequisites) are described by the ports of their
charts, so every monitor resolves to something this suite checks.
"""

from __future__ import annotations

from typing import Any

from k8s_manifests import Doc

OBSERVABILITY = "data-platform-observability"
PROCESSING = "data-platform-processing"
CORE = "data-platform-core"
STORAGE = "data-platform-storage"
RELEASE_LABEL = {"release": "kube-prometheus-stack"}


def helm_merge(override: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """Sprig's ``merge``: the first map wins, nested maps merge."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(value, merged[key])
        else:
            merged[key] = value
    return merged


def _service(name: str, namespace: str, labels: dict, selector: dict, ports: list[dict]) -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"selector": selector, "ports": ports},
    }


def _workload(name: str, namespace: str, labels: dict, containers: list[dict]) -> Doc:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": containers}},
        },
    }


def _container(name: str, ports: dict[str, int]) -> dict:
    return {
        "name": name,
        "ports": [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in ports.items()],
    }


def _service_monitor(
    name: str, namespace: str, labels: dict, target_ns: str, selector: dict, endpoints: list
) -> Doc:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "selector": {"matchLabels": selector},
            "namespaceSelector": {"matchNames": [target_ns]},
            "endpoints": endpoints,
        },
    }


def trino_objects(values: dict[str, Any], release: str = "trino") -> list[Doc]:
    """What the Trino chart renders for scraping, per role (coordinator, worker)."""
    selector = {"app.kubernetes.io/name": "trino", "app.kubernetes.io/instance": release}
    http = (values.get("service") or {}).get("port", 8080)
    jmx = values.get("jmx") or {}
    shared_jmx = {k: v for k, v in jmx.items() if k not in ("coordinator", "worker")}
    monitor = values.get("serviceMonitor") or {}
    shared_monitor = {k: v for k, v in monitor.items() if k not in ("coordinator", "worker")}
    docs = []
    for role, service_name in (("coordinator", release), ("worker", f"{release}-worker")):
        role_jmx = helm_merge(jmx.get(role) or {}, shared_jmx)
        exporter = role_jmx.get("exporter") or {}
        labels = {**selector, "app.kubernetes.io/component": role}
        service_ports = [{"name": "http", "port": http, "targetPort": "http", "protocol": "TCP"}]
        trino_ports = {"http": http}
        if role_jmx.get("enabled"):
            trino_ports |= {
                "jmx-registry": role_jmx.get("registryPort", 9080),
                "jmx-server": role_jmx.get("serverPort", 9081),
            }
        containers = [_container(f"trino-{role}", trino_ports)]
        if exporter.get("enabled"):
            port = exporter.get("port", 5556)
            service_ports.append(
                {"name": "jmx-exporter", "port": port, "targetPort": "jmx-exporter"}
            )
            containers.append(_container("jmx-exporter", {"jmx-exporter": port}))
        for extra in ((values.get(role) or {}).get("additionalExposedPorts") or {}).values():
            service_ports.append(
                {"name": extra["name"], "port": extra["servicePort"], "targetPort": extra["port"]}
            )
            containers[0]["ports"].append(
                {"name": extra["name"], "containerPort": extra["port"], "protocol": "TCP"}
            )
        docs.append(_service(service_name, PROCESSING, labels, labels, service_ports))
        docs.append(_workload(f"{release}-{role}", PROCESSING, labels, containers))
        role_monitor = helm_merge(monitor.get(role) or {}, shared_monitor)
        if role_monitor.get("enabled"):
            endpoint = {"port": "jmx-exporter", "interval": role_monitor.get("interval", "30s")}
            monitor_labels = {**labels, **(role_monitor.get("labels") or {})}
            docs.append(
                _service_monitor(
                    service_name, PROCESSING, monitor_labels, PROCESSING, labels, [endpoint]
                )
            )
    return docs


def oauth2_proxy_objects(values: dict[str, Any], release: str = "oauth2-proxy") -> list[Doc]:
    """The oauth2-proxy chart's Service, pods and (with metrics on) ServiceMonitor."""
    selector = {"app.kubernetes.io/name": "oauth2-proxy", "app.kubernetes.io/instance": release}
    metrics = values.get("metrics") or {}
    ports = {"http": 4180}
    service_ports = [{"name": "http", "port": 80, "targetPort": "http"}]
    if metrics.get("enabled", True):
        ports["metrics"] = metrics.get("port", 44180)
        service_ports.append({"name": "metrics", "port": ports["metrics"], "targetPort": "metrics"})
    docs = [
        _service(release, CORE, selector, selector, service_ports),
        _workload(release, CORE, selector, [_container("oauth2-proxy", ports)]),
    ]
    monitor = metrics.get("serviceMonitor") or {}
    if metrics.get("enabled", True) and monitor.get("enabled"):
        labels = {**selector, **(monitor.get("labels") or {})}
        namespace = monitor.get("namespace") or CORE
        endpoint = {"port": "metrics", "path": "/metrics"}
        docs.append(_service_monitor(release, namespace, labels, CORE, selector, [endpoint]))
    return docs


# Installed by the platform team (deploy/README.md, Prerequisites), with their charts' ports:
# (namespace, Service name, Service labels, pod labels, {port name: container port}).
_MINIO = {"app.kubernetes.io/name": "minio"}
_POSTGRESQL = {"app.kubernetes.io/name": "postgresql"}
_KEYCLOAK = {"app.kubernetes.io/name": "keycloak"}
_PUSHGATEWAY = {"app.kubernetes.io/name": "prometheus-pushgateway"}
_VELERO = {"app.kubernetes.io/name": "velero", "app.kubernetes.io/instance": "velero"}
PLATFORM_TARGETS = (
    (STORAGE, "minio", _MINIO, _MINIO, {"http-minio": 9000}),
    # The exporter is a sidecar of the primary; its Service carries component=metrics.
    (
        STORAGE,
        "postgresql-metrics",
        {**_POSTGRESQL, "app.kubernetes.io/component": "metrics"},
        {**_POSTGRESQL, "app.kubernetes.io/component": "primary"},
        {"tcp-postgresql": 5432, "http-metrics": 9187},
    ),
    # Keycloak 25+ serves /metrics on its management interface, port 9000.
    (CORE, "keycloak", _KEYCLOAK, _KEYCLOAK, {"http": 8080, "management": 9000}),
    (OBSERVABILITY, "prometheus-pushgateway", _PUSHGATEWAY, _PUSHGATEWAY, {"http": 9091}),
    # The Velero chart's Service and server pod (metrics.enabled: http-monitoring 8085).
    ("velero", "velero", _VELERO, {**_VELERO, "name": "velero"}, {"http-monitoring": 8085}),
)


def platform_objects() -> list[Doc]:
    docs = []
    for namespace, name, service_labels, pod_labels, ports in PLATFORM_TARGETS:
        service_ports = [{"name": n, "port": p, "targetPort": n} for n, p in ports.items()]
        docs.append(_service(name, namespace, service_labels, pod_labels, service_ports))
        docs.append(_workload(name, namespace, pod_labels, [_container(name, ports)]))
    return docs
