"""Logs: Loki keeps the seed's three retentions, Alloy labels every line, and the LogQL alert
rules fire on lines of the shape the code location must write (deploy/README.md, Logs)."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from deploy_checks import DEPLOY
from logql import Entry, LogQLError, evaluate, parse

HELM = DEPLOY / "helm"
LOKI_RULES = DEPLOY / "kustomize" / "base" / "observability" / "loki-alert-rules.yaml"
HOURS = {"30 days": 30 * 24, "90 days": 90 * 24, "7 years": 7 * 365 * 24}
CORE = {"namespace": "data-platform-core", "app": "dagster", "dagster_job": "daily_staging"}


def _rules() -> dict[str, dict]:
    groups = yaml.safe_load(LOKI_RULES.read_text())["groups"]
    return {r["alert"]: r for g in groups for r in g["rules"]}


def code_location_line(**fields) -> str:
    """A structured line of the code location, with the fields deploy/README.md requires."""
    base = {
        "timestamp": "2026-03-02T01:00:00.000Z",
        "level": "info",
        "logger": "lakehouse",
        "message": "materialized staging/orders",
        "run_id": "8f6b2c1e-1b2a-4c3d-9e8f-0a1b2c3d4e5f",
        "job": "daily_staging",
        "asset_key": "staging/orders",
        "event_type": "ASSET_MATERIALIZATION",
        "log_type": "application",
    }
    return json.dumps(base | fields)


def _entries(labels: dict, lines: list[str], start: float = 0, step: float = 1) -> list[Entry]:
    return [Entry(labels, line, start + i * step) for i, line in enumerate(lines)]


# ---- the rules ----


def test_every_log_rule_is_readable_logql_and_routed():
    rules = _rules()
    assert len(rules) == 5
    for name, rule in rules.items():
        parse(rule["expr"])  # raises on anything outside the subset
        assert rule["labels"]["team"] and rule["labels"]["severity"] in (
            "critical",
            "warning",
            "info",
        )
        assert rule["annotations"]["summary"], name


def test_pipeline_failures_fire_per_job_and_asset_and_not_on_success():
    expr = _rules()["LakehousePipelineFailureLogged"]["expr"]
    labels = {**CORE, "asset_key": "staging/orders", "dagster_run_id": "8f6b2c1e"}
    ok = _entries(labels, [code_location_line() for _ in range(50)])
    assert evaluate(expr, ok, at=60) == {}
    failed = code_location_line(level="error", event_type="STEP_FAILURE", message="boom")
    fired = evaluate(expr, [*ok, Entry(labels, failed, 30)], at=60)
    assert fired == {("daily_staging", "staging/orders"): 1}
    assert evaluate(expr, [*ok, Entry(labels, failed, 30)], at=30 + 601) == {}  # out of range


def test_authentication_errors_fire_above_their_threshold():
    expr = _rules()["LakehouseAuthenticationErrors"]["expr"]
    keycloak = {"namespace": "data-platform-core", "app": "keycloak"}
    line = 'type="LOGIN_ERROR", realmId="data-platform-prod", clientId="oauth2-proxy", error="invalid_user_credentials"'
    assert evaluate(expr, _entries(keycloak, [line] * 20), at=30) == {}
    assert evaluate(expr, _entries(keycloak, [line] * 21), at=30) == {
        ("data-platform-core", "keycloak"): 21
    }
    assert evaluate(expr, _entries(keycloak, ["user logged in"] * 50), at=60) == {}


def test_database_connection_errors_fire_and_name_the_client():
    expr = _rules()["LakehouseDatabaseConnectionErrors"]["expr"]
    lakekeeper = {"namespace": "data-platform-governance", "app": "lakekeeper"}
    line = json.dumps(
        {"level": "ERROR", "message": "error connecting: Connection refused (os error 111)"}
    )
    assert evaluate(expr, _entries(lakekeeper, [line] * 6), at=10) == {
        ("data-platform-governance", "lakekeeper"): 6
    }
    dagster = code_location_line(
        level="error", message="could not connect to server: Connection refused"
    )
    assert evaluate(expr, _entries(CORE, [dagster] * 5), at=10) == {}  # at the threshold: not above
    assert (
        evaluate(expr, _entries({"namespace": "kube-system", "app": "x"}, [line] * 9), at=10) == {}
    )


def test_access_denied_and_time_outs_fire():
    denied = _rules()["LakehouseAccessDenied"]["expr"]
    trino = {"namespace": "data-platform-processing", "app": "trino"}
    line = "io.trino.spi.security.AccessDeniedException: Access Denied: Cannot select from columns [email]"
    assert evaluate(denied, _entries(trino, [line] * 11), at=20) == {
        ("data-platform-processing", "trino"): 11
    }
    slow = _rules()["LakehouseDegradedPerformanceLogged"]["expr"]
    spark = {"namespace": "data-platform-processing", "app": "spark-connect"}
    assert evaluate(slow, _entries(spark, ["Futures timed out after [120 seconds]"] * 11), at=20)
    assert evaluate(slow, _entries(spark, ["stage 3 finished"] * 100), at=200) == {}


def test_the_evaluator_refuses_what_it_cannot_read():
    with pytest.raises(LogQLError):
        parse('rate({app="x"}[5m]) > 1')
    with pytest.raises(LogQLError):
        parse('sum by (app) (count_over_time({app="x"} | logfmt [5m])) > 1')
    with pytest.raises(re.error):
        parse('sum by (app) (count_over_time({app="x"} |~ "(" [5m])) > 1')


def test_a_json_field_clashing_with_a_label_is_renamed_as_loki_does():
    expr = (
        'sum by (asset_key, asset_key_extracted) (count_over_time({app="dagster"} | json [1m])) > 0'
    )
    labels = {"app": "dagster", "asset_key": "from-stream"}
    assert evaluate(expr, [Entry(labels, '{"asset_key": "from-line"}', 1)], at=2) == {
        ("from-stream", "from-line"): 1
    }


# ---- Loki, Alloy, Grafana ----


def test_loki_keeps_the_seeds_three_retentions():
    limits = yaml.safe_load((HELM / "loki-values.yaml").read_text())["loki"]["limits_config"]
    assert limits["retention_period"] == f"{HOURS['30 days']}h"  # application logs
    streams = {s["selector"]: s["period"] for s in limits["retention_stream"]}
    assert streams['{level=~"error|critical|fatal"}'] == f"{HOURS['90 days']}h"
    assert streams['{log_type="audit"}'] == f"{HOURS['7 years']}h"
    values = yaml.safe_load((HELM / "loki-values.yaml").read_text())["loki"]
    assert values["compactor"]["retention_enabled"] is True  # without it nothing is deleted


def test_alloy_labels_namespace_app_run_id_and_asset_key():
    config = yaml.safe_load((HELM / "alloy-values.yaml").read_text())["alloy"]["configMap"][
        "content"
    ]
    targets = set(re.findall(r'target_label\s*=\s*"(\w+)"', config))
    assert {"namespace", "app", "pod", "container", "dagster_run_id", "dagster_job"} <= targets
    assert '"__meta_kubernetes_pod_label_dagster_run_id"' in config
    labelled = re.findall(r"stage\.labels \{\s*values = \{([^}]*)\}", config)
    assert any("asset_key" in body and "level" in body and "log_type" in body for body in labelled)


def test_grafana_reads_loki_and_the_rules_reach_the_ruler(rendered):
    stack = yaml.safe_load((HELM / "kube-prometheus-stack-values.yaml").read_text())
    (loki,) = [d for d in stack["grafana"]["additionalDataSources"] if d["type"] == "loki"]
    assert loki["url"].startswith("http://loki-gateway.data-platform-observability.svc")
    values = yaml.safe_load((HELM / "loki-values.yaml").read_text())
    assert values["sidecar"]["rules"]["label"] == "loki_rule"
    for docs in rendered.values():
        (cm,) = [d for d in docs if d["metadata"]["name"] == "loki-alert-rules"]
        assert cm["metadata"]["labels"]["loki_rule"] == "1"
        assert yaml.safe_load(cm["data"]["loki-alert-rules.yaml"]) == yaml.safe_load(
            LOKI_RULES.read_text()
        )
