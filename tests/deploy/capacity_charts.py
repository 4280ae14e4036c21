"""The pods the Helm releases (deploy/argocd) and the platform team's services can run at once.

Followed by hand from each chart's values, as chart_objects.py does for scraping: the
containers each pod of a release runs, with the resources our values give them ({}: the
chart's default, none, so the LimitRange's). Sidecars the charts add are listed where a chart
adds them by default (config reloaders, Grafana's sidecars, Loki's rules sidecar).
"""

from __future__ import annotations

from typing import Any

from capacity import CORE, HELM, INTEGRATION, OBSERVABILITY, PROCESSING, STORAGE, Workload
from chart_objects import helm_merge
from k8s_manifests import DEPLOY, load_documents


def chart_values(env: str, chart: str, release: str | None = None) -> dict:
    """The values a release gets in the environment: its files, then the Application's object."""
    for app in load_documents(DEPLOY / "argocd" / f"{env}.yaml"):
        for source in app["spec"].get("sources") or []:
            helm = source.get("helm") or {}
            if source.get("chart") == chart and helm.get("releaseName", chart) == (
                release or chart
            ):
                values: dict = {}
                for path in helm.get("valueFiles", []):
                    loaded = load_documents(HELM / path.rsplit("/", 1)[-1])[0]
                    values = helm_merge(loaded, values)
                return helm_merge(helm.get("valuesObject") or {}, values)
    raise KeyError(f"{env}: no Application for chart {chart} release {release}")


def _get(values: dict, path: str, default: Any = None) -> Any:
    for part in path.split("."):
        if not isinstance(values, dict) or part not in values:
            return default
        values = values[part]
    return values


def trino(values: dict) -> list[Workload]:
    exporter = _get(values, "jmx.exporter", {})
    sidecar = [exporter.get("resources") or {}] if exporter.get("enabled") else []
    scaling = _get(values, "server.autoscaling", {})
    workers = scaling["maxReplicas"] if scaling.get("enabled") else _get(values, "server.workers")
    return [
        Workload(
            PROCESSING,
            "trino-coordinator",
            1,
            (_get(values, "coordinator.resources", {}), *sidecar),
        ),
        Workload(
            PROCESSING, "trino-worker", workers, (_get(values, "worker.resources", {}), *sidecar)
        ),
    ]


def dagster(values: dict, step_pods_per_run: int) -> list[Workload]:
    web = values["dagsterWebserver"]
    webservers = 2 if web.get("enableReadOnly") else 1
    runs = _get(
        values, "dagsterDaemon.runCoordinator.config.queuedRunCoordinator.maxConcurrentRuns"
    )
    launcher = _get(values, "runLauncher.config.k8sRunLauncher.resources", {})
    code = [
        Workload(CORE, f"code-server-{d['name']}", 1, (d.get("resources") or {},))
        for d in values["dagster-user-deployments"]["deployments"]
    ]
    return [
        Workload(
            CORE,
            "dagster-webservers",
            webservers * web["replicaCount"],
            (web.get("resources") or {},),
        ),
        Workload(CORE, "dagster-daemon", 1, (_get(values, "dagsterDaemon.resources", {}),)),
        *code,
        # The run queue: at most maxConcurrentRuns run pods, each with its steps' pods.
        Workload(CORE, "dagster-runs", runs * (1 + step_pods_per_run), (launcher,)),
    ]


def oauth2_proxy(values: dict, release: str) -> list[Workload]:
    return [
        Workload(CORE, release, values.get("replicaCount", 1), (values.get("resources") or {},))
    ]


# The platform team's HPA ceiling for Airbyte workers (seed annex 2-10; airbyte-values.yaml).
AIRBYTE_WORKERS = {"dev": 2, "staging": 4, "prod": 10}


def airbyte(values: dict, workers: int) -> list[Workload]:
    extra = [c.get("resources") or {} for c in _get(values, "server.extraContainers", [])]
    jobs = _get(values, "global.jobs.resources", {})
    defaults = (
        "webapp",
        "cron",
        "connectorBuilderServer",
        "workloadApiServer",
        "temporal",
        "airbyteBootloader",
    )
    return [
        Workload(INTEGRATION, "airbyte-worker", workers, (_get(values, "worker.resources", {}),)),
        Workload(
            INTEGRATION,
            "airbyte-server",
            _get(values, "server.replicaCount", 1),
            (_get(values, "server.resources", {}), *extra),
        ),
        Workload(
            INTEGRATION,
            "airbyte-workload-launcher",
            1,
            (_get(values, "workloadLauncher.resources", {}),),
        ),
        # One sync per connection at a time (deploy/airbyte): orchestrator, source, destination.
        Workload(
            INTEGRATION,
            "airbyte-replication",
            len(list((DEPLOY / "airbyte").glob("*.yaml"))),
            (jobs, jobs, jobs),
        ),
        *(
            Workload(INTEGRATION, f"airbyte-{name}", 1, (_get(values, f"{name}.resources", {}),))
            for name in defaults
        ),
    ]


def kube_prometheus_stack(values: dict, nodes: int) -> list[Workload]:
    alertmanager = _get(values, "alertmanager.alertmanagerSpec", {})
    return [
        Workload(
            OBSERVABILITY,
            "prometheus",
            1,
            (_get(values, "prometheus.prometheusSpec.resources", {}), {}),
        ),
        Workload(
            OBSERVABILITY,
            "alertmanager",
            alertmanager.get("replicas", 1),
            (alertmanager.get("resources") or {}, {}),
        ),
        Workload(OBSERVABILITY, "grafana", _get(values, "grafana.replicas", 1), ({}, {}, {})),
        Workload(OBSERVABILITY, "prometheus-operator", 1, ({},)),
        Workload(OBSERVABILITY, "kube-state-metrics", 1, ({},)),
        Workload(OBSERVABILITY, "node-exporter", nodes, ({},)),
    ]


def loki(values: dict) -> list[Workload]:
    single = values.get("singleBinary") or {}
    return [
        Workload(
            OBSERVABILITY, "loki", single.get("replicas", 1), (single.get("resources") or {}, {})
        ),
        Workload(OBSERVABILITY, "loki-gateway", 1, ({},)),
    ]


def alloy(values: dict, nodes: int) -> list[Workload]:
    return [Workload(OBSERVABILITY, "alloy", nodes, (_get(values, "alloy.resources", {}), {}))]


def _annex(cpu: str, memory: str) -> dict:
    """The seed's annex A size as requests, limits twice that (burst, as the quotas assume)."""
    double = {"cpu": str(2 * int(cpu)), "memory": f"{2 * int(memory[:-2])}Gi"}
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": double}


# Installed by the platform team (deploy/README.md, Prerequisites), sized by the seed's annex A.
PLATFORM = (
    Workload(CORE, "keycloak", 2, (_annex("2", "4Gi"),)),
    Workload(STORAGE, "minio", 4, (_annex("2", "4Gi"),)),
    Workload(STORAGE, "postgresql-primary", 1, (_annex("8", "16Gi"),)),
    Workload(STORAGE, "postgresql-replicas", 2, (_annex("4", "8Gi"),)),
    Workload(OBSERVABILITY, "prometheus-pushgateway", 1, ({},)),
)


def chart_workloads(env: str, nodes: int, step_pods_per_run: int) -> list[Workload]:
    return [
        *trino(chart_values(env, "trino")),
        *dagster(chart_values(env, "dagster"), step_pods_per_run),
        *oauth2_proxy(chart_values(env, "oauth2-proxy"), "oauth2-proxy"),
        *oauth2_proxy(
            chart_values(env, "oauth2-proxy", "oauth2-proxy-read-only"), "oauth2-proxy-read-only"
        ),
        *airbyte(chart_values(env, "airbyte"), AIRBYTE_WORKERS[env]),
        *kube_prometheus_stack(chart_values(env, "kube-prometheus-stack"), nodes),
        *loki(chart_values(env, "loki")),
        *alloy(chart_values(env, "alloy"), nodes),
        *PLATFORM,
    ]
