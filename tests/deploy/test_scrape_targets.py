"""Every ServiceMonitor scrapes a port that exists and that the NetworkPolicies open to Prometheus;
the dashboard and the alerts read metrics the configured exporters emit."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from chart_objects import oauth2_proxy_objects, platform_objects, trino_objects
from deploy_checks import DEPLOY, load_documents
from k8s_network import Pod, allows
from scrape_targets import (
    PROMETHEUS,
    exporter_metric,
    monitor_problems,
    monitors,
    referenced_metrics,
)

HELM = DEPLOY / "helm"
OBSERVABILITY = DEPLOY / "kustomize/base/observability"
PROCESSING = "data-platform-processing"
TRINO_EXPORTER_PORT = 5556
SPARK_UI_PORT = 4040
TRINO = {"app.kubernetes.io/name": "trino", "app.kubernetes.io/instance": "trino"}
COORDINATOR = Pod(PROCESSING, {**TRINO, "app.kubernetes.io/component": "coordinator"})
WORKER = Pod(PROCESSING, {**TRINO, "app.kubernetes.io/component": "worker"})
SPARK_CONNECT = Pod(PROCESSING, {"app.kubernetes.io/name": "spark-connect"})
CODE_SERVER = Pod("data-platform-core", {"app.kubernetes.io/name": "dagster-user-deployments"})
# Trino attributes as the JMX exporter reads them (domain<properties><composite>attribute):
# QueryManager's gauges and Airlift CounterStats (QueryManagerStats), ClusterMemoryManager's
# gauges and the JVM's heap (trino.io/docs/current/admin/jmx.html).
TRINO_JMX_LINES = (
    "trino.execution<name=QueryManager><>RunningQueries: 3",
    "trino.execution<name=QueryManager><>QueuedQueries: 1",
    "trino.execution<name=QueryManager><>CompletedQueries.TotalCount: 120",
    "trino.execution<name=QueryManager><>FailedQueries.TotalCount: 4",
    "trino.execution<name=QueryManager><>InternalFailures.TotalCount: 1",
    "trino.execution<name=QueryManager><>ExecutionTime.FiveMinutes.P50: 1250.0",
    "trino.execution<name=QueryManager><>ExecutionTime.FiveMinutes.P90: 312000.0",
    "trino.execution<name=QueryManager><>ExecutionTime.FiveMinutes.Max: 901000.0",
    "trino.memory<name=ClusterMemoryManager><>ClusterMemoryBytes: 68719476736",
    "trino.memory<name=ClusterMemoryManager><>ClusterTotalMemoryReservation: 1073741824",
    "trino.memory<name=ClusterMemoryManager><>QueriesKilledDueToOutOfMemory: 0",
    "java.lang<type=Memory><HeapMemoryUsage>used: 2147483648",
    "java.lang<type=Memory><HeapMemoryUsage>max: 6442450944",
)
# Spark's executor summary at /metrics/executors/prometheus (spark.ui.prometheus.enabled).
SPARK_EXECUTOR_METRICS = {
    f"metrics_executor_{name}"
    for name in (
        "rddBlocks",
        "memoryUsed_bytes",
        "diskUsed_bytes",
        "totalCores",
        "maxTasks",
        "activeTasks",
        "failedTasks_total",
        "completedTasks_total",
    )
}


def _values(name: str) -> dict:
    return yaml.safe_load((HELM / name).read_text())


@pytest.fixture(scope="module")
def trino_values() -> dict:
    return _values("trino-values.yaml")


def _with_charts(docs: list, trino_values: dict) -> list:
    """The overlay plus what the Helm releases and the platform add to the cluster."""
    oauth2_proxy = _values("oauth2-proxy-values.yaml")
    return [
        *docs,
        *trino_objects(trino_values),
        *oauth2_proxy_objects(oauth2_proxy),
        *oauth2_proxy_objects(oauth2_proxy, release="oauth2-proxy-read-only"),
        *platform_objects(),
    ]


def _problems(docs: list) -> list[str]:
    return [p for monitor in monitors(docs) for p in monitor_problems(docs, monitor)]


def _exporter_rules(values: dict) -> list[dict]:
    return yaml.safe_load(values["jmx"]["exporter"]["configProperties"])["rules"]


def _observability_texts() -> list[str]:
    rules = (OBSERVABILITY / "prometheus-rules.yaml").read_text()
    dashboard = json.loads((OBSERVABILITY / "lakehouse-dashboard.json").read_text())
    return [rules] + [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


# ---- every monitor scrapes something ----


def test_every_service_monitor_reaches_an_open_named_port(env_docs, trino_values):
    env, docs = env_docs
    everything = _with_charts(docs, trino_values)
    names = {m["metadata"]["name"] for m in monitors(everything)}
    assert {"spark-connect", "lakekeeper", "trino", "trino-worker", "oauth2-proxy"} <= names
    assert "oauth2-proxy-read-only" in names
    # The Velero alerts read velero_backup_*: its monitor must exist, not only the policy path.
    assert "velero" in names
    assert _problems(everything) == [], env


def test_the_trino_chart_exports_jmx_on_5556_from_coordinator_and_workers(trino_values):
    docs = trino_objects(trino_values)
    ports = {
        d["metadata"]["name"]: {p["name"]: p["port"] for p in d["spec"]["ports"]}
        for d in docs
        if d["kind"] == "Service"
    }
    assert ports["trino"]["jmx-exporter"] == ports["trino-worker"]["jmx-exporter"] == 5556
    assert {m["metadata"]["name"] for m in monitors(docs)} == {"trino", "trino-worker"}
    exporter = trino_values["jmx"]["exporter"]
    config = yaml.safe_load(exporter["configProperties"])
    assert config["hostPort"] == f"localhost:{trino_values['jmx']['registryPort']}"
    assert exporter["securityContext"]["allowPrivilegeEscalation"] is False
    assert exporter["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert exporter["resources"]["limits"] and exporter["resources"]["requests"]


def test_prometheus_alone_gets_the_metrics_ports_and_never_trinos_http(env_docs):
    env, docs = env_docs
    for node in (COORDINATOR, WORKER):
        assert allows(docs, PROMETHEUS, node, TRINO_EXPORTER_PORT), (env, node)
        assert not allows(docs, PROMETHEUS, node, 8080), (env, node)
        assert not allows(docs, CODE_SERVER, node, TRINO_EXPORTER_PORT), (env, node)
        assert not allows(docs, PROMETHEUS, node, SPARK_UI_PORT), (env, node)
    assert allows(docs, PROMETHEUS, SPARK_CONNECT, SPARK_UI_PORT), env
    assert not allows(docs, CODE_SERVER, SPARK_CONNECT, SPARK_UI_PORT), env
    assert not allows(docs, PROMETHEUS, SPARK_CONNECT, TRINO_EXPORTER_PORT), env


def test_spark_connect_serves_both_prometheus_endpoints_on_its_ui(rendered):
    (deployment,) = [
        d
        for d in rendered["prod"]
        if d["kind"] == "Deployment" and d["metadata"]["name"] == "spark-connect"
    ]
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    conf = dict(a.removeprefix("--conf=").split("=", 1) for a in args if a.startswith("--conf="))
    sink = "spark.metrics.conf.*.sink.prometheusServlet"
    assert conf["spark.ui.prometheus.enabled"] == "true"
    assert conf[f"{sink}.class"] == "org.apache.spark.metrics.sink.PrometheusServlet"
    (monitor,) = [m for m in monitors(rendered["prod"]) if m["metadata"]["name"] == "spark-connect"]
    paths = {e["path"] for e in monitor["spec"]["endpoints"] if e["port"] == "spark-ui"}
    assert paths == {conf[f"{sink}.path"], "/metrics/executors/prometheus"}


# ---- the metrics the dashboard and the alerts read ----


def test_every_trino_metric_read_is_one_the_exporter_config_emits(trino_values):
    rules = _exporter_rules(trino_values)
    emitted = {exporter_metric(rules, line) for line in TRINO_JMX_LINES}
    assert None not in emitted
    read = referenced_metrics(_observability_texts(), "trino_")
    assert read, "the dashboard and alerts read Trino metrics"
    assert read <= emitted


def test_every_spark_metric_read_is_one_spark_serves():
    read = referenced_metrics(_observability_texts(), "metrics_")
    assert read and read <= SPARK_EXECUTOR_METRICS


def test_the_exporter_queries_every_mbean_its_rules_name(trino_values):
    config = yaml.safe_load(trino_values["jmx"]["exporter"]["configProperties"])
    domains = {name.split(":")[0] for name in config["includeObjectNames"]}
    assert {line.split("<")[0] for line in TRINO_JMX_LINES} <= domains


# ---- mutation tests: the checks reject a monitor that scrapes nothing ----


def _drop_port(docs: list, policy: str, port: int) -> list:
    broken = copy.deepcopy(docs)
    (doc,) = [d for d in broken if d["metadata"]["name"] == policy]
    for rule in doc["spec"].get("ingress") or doc["spec"].get("egress"):
        rule["ports"] = [p for p in rule.get("ports") or [] if p.get("port") != port]
        if not rule["ports"]:
            rule["ports"] = [{"protocol": "TCP", "port": 1}]
    return broken


def test_a_closed_exporter_or_ui_port_is_caught(rendered, trino_values):
    docs = rendered["prod"]
    for policy, port, monitor in (
        ("allow-prometheus-trino-metrics", TRINO_EXPORTER_PORT, "trino"),
        ("allow-prometheus-spark-connect-metrics", SPARK_UI_PORT, "spark-connect"),
        ("allow-prometheus-engine-scrapes", TRINO_EXPORTER_PORT, "trino-worker"),
        ("allow-prometheus-engine-scrapes", SPARK_UI_PORT, "spark-connect"),
    ):
        problems = _problems(_with_charts(_drop_port(docs, policy, port), trino_values))
        assert any(f"/{monitor} ->" in p and "block" in p for p in problems), (policy, port)


def test_reopening_trinos_http_port_to_prometheus_is_caught(rendered):
    docs = copy.deepcopy(rendered["prod"])
    (policy,) = [d for d in docs if d["metadata"]["name"] == "allow-prometheus-trino-metrics"]
    policy["spec"]["ingress"][0]["ports"].append({"protocol": "TCP", "port": 8080})
    assert allows(docs, PROMETHEUS, WORKER, 8080)  # what the test above rejects


def test_a_port_missing_on_the_service_or_the_pods_is_caught(rendered, trino_values):
    off = copy.deepcopy(trino_values)
    off["jmx"]["exporter"]["enabled"] = False
    problems = _problems(_with_charts(rendered["prod"], off))
    assert any("trino-worker:jmx-exporter" in p and "no port" in p for p in problems)

    docs = copy.deepcopy(rendered["prod"])
    (service,) = [
        d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "lakekeeper"
    ]
    (port,) = [p for p in service["spec"]["ports"] if p["name"] == "metrics"]
    port["targetPort"] = "prometheus"
    problems = _problems(_with_charts(docs, trino_values))
    assert any("lakekeeper" in p and "no container port 'prometheus'" in p for p in problems)


def test_a_monitor_selecting_nothing_or_not_picked_up_is_caught(rendered, trino_values):
    docs = copy.deepcopy(rendered["prod"])
    (monitor,) = [m for m in monitors(docs) if m["metadata"]["name"] == "spark-connect"]
    monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] = "spark-connekt"
    monitor["metadata"]["labels"] = {}
    problems = monitor_problems(_with_charts(docs, trino_values), monitor)
    assert any("selects no Service" in p for p in problems)
    assert any("release: kube-prometheus-stack" in p for p in problems)


def test_pod_monitors_are_checked_too(rendered, trino_values):
    docs = _with_charts(rendered["prod"], trino_values)
    pod_monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {
            "name": "spark-connect-pods",
            "namespace": "data-platform-observability",
            "labels": {"release": "kube-prometheus-stack"},
        },
        "spec": {
            "namespaceSelector": {"matchNames": [PROCESSING]},
            "selector": {"matchLabels": {"app.kubernetes.io/name": "spark-connect"}},
            "podMetricsEndpoints": [{"port": "spark-ui", "path": "/metrics/prometheus"}],
        },
    }
    assert monitor_problems(docs, pod_monitor) == []
    pod_monitor["spec"]["podMetricsEndpoints"][0]["port"] = "driver-rpc"  # exists, not open
    assert any("block" in p for p in monitor_problems(docs, pod_monitor))
    pod_monitor["spec"]["podMetricsEndpoints"][0]["port"] = "metrics"  # no such port
    assert any("no container port" in p for p in monitor_problems(docs, pod_monitor))


def test_a_metric_name_the_exporter_does_not_emit_is_caught(trino_values):
    rules = _exporter_rules(trino_values)
    assert exporter_metric(rules, "trino.execution<name=QueryManager><>FailedQueries.TotalCount: 4")
    broken = copy.deepcopy(rules)
    broken[1]["pattern"] = broken[1]["pattern"].replace("FailedQueries", "FailedQuery")
    emitted = {exporter_metric(broken, line) for line in TRINO_JMX_LINES}
    assert "trino_execution_QueryManager_FailedQueries_TotalCount" not in emitted
    assert referenced_metrics(
        ["sum(trino_execution_QueryManager_FailedQueries_TotalCount)"], "trino_"
    )
    assert not referenced_metrics(["up{job='trino'}"], "trino_")


def test_the_platform_targets_match_the_servicemonitors_in_the_base():
    base = load_documents(OBSERVABILITY / "servicemonitors.yaml")
    docs = base + platform_objects()
    external = {"minio", "postgresql", "keycloak", "lakehouse-pushgateway"}
    for monitor in (m for m in base if m["metadata"]["name"] in external):
        assert [p for p in monitor_problems(docs, monitor) if "selects no" in p] == []
