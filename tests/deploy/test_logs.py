"""Logs: the code location writes Dagster's JSON lines through the instance configuration of
the Helm values, Alloy turns them into the labels the LogQL alert rules use, and Loki keeps the
seed's three retentions. The code location's lines come from real materialisations."""

from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import dataclass

import dagster as dg
import pytest
import yaml
from alloy import process, relabel
from deploy_checks import DEPLOY
from k8s_job import build_run_job, load_values
from logql import Entry, LogQLError, evaluate, parse

HELM = DEPLOY / "helm"
LOKI_RULES = DEPLOY / "kustomize" / "base" / "observability" / "loki-alert-rules.yaml"
HOURS = {"30 days": 30 * 24, "90 days": 90 * 24, "7 years": 7 * 365 * 24}
# Dagster marks the instance's python_logs handlers as beta; the lines are what is tested.
pytestmark = pytest.mark.filterwarnings("ignore:Handling yaml-defined logging configuration")
ALLOY = yaml.safe_load((HELM / "alloy-values.yaml").read_text())["alloy"]["configMap"]["content"]
# The chart's values -> the instance's dagster.yaml keys (templates/configmap-instance.yaml).
PYTHON_LOGS = {
    "pythonLogLevel": "python_log_level",
    "dagsterHandlerConfig": "dagster_handler_config",
    "managedPythonLoggers": "managed_python_loggers",
}
REFUSED = "could not connect to server: Connection refused"


def _rules() -> dict[str, dict]:
    groups = yaml.safe_load(LOKI_RULES.read_text())["groups"]
    return {r["alert"]: r for g in groups for r in g["rules"]}


@dg.asset(key_prefix="staging")
def orders(context) -> int:
    context.log.info("wrote %d rows", 3)
    return 3


@dg.asset(key_prefix="staging", deps=[orders])
def customers(context) -> int:
    for _ in range(5):
        context.log.error(REFUSED)
    try:
        raise ConnectionError("catalog unreachable")
    except ConnectionError:
        context.log.exception("retrying the catalog")
    raise RuntimeError(REFUSED)


@dataclass
class Run:
    run_id: str
    job: str
    stdout: list[str]
    stderr: list[str]


def _materialise(assets: list, instance: dg.DagsterInstance) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        result = dg.materialize(assets, instance=instance, raise_on_error=False)
    return Run(
        result.run_id, result.job_def.name, out.getvalue().splitlines(), err.getvalue().splitlines()
    )


@pytest.fixture(scope="module")
def runs() -> dict[str, Run]:
    """A successful and a failing run on an instance with the Helm values' python_logs."""
    values = load_values()["pythonLogs"]
    python_logs = {PYTHON_LOGS[key]: value for key, value in values.items()}
    with dg.instance_for_test(overrides={"python_logs": python_logs}) as instance:
        return {
            "ok": _materialise([orders], instance),
            "failed": _materialise([orders, customers], instance),
        }


def _stream(run: Run) -> dict[str, str]:
    """The stream labels of the run's pod (the Job the run launcher builds), by Alloy's rules."""
    job = build_run_job()
    pod = job["spec"]["template"]["metadata"]["labels"]
    pod |= {"dagster/run-id": run.run_id, "dagster/job": run.job}
    meta = {
        f"__meta_kubernetes_pod_label_{re.sub(r'[^A-Za-z0-9_]', '_', k)}": v for k, v in pod.items()
    }
    meta |= {
        "__meta_kubernetes_namespace": job["metadata"]["namespace"],
        "__meta_kubernetes_pod_name": f"{job['metadata']['name']}-x1y2z",
        "__meta_kubernetes_pod_container_name": job["spec"]["template"]["spec"]["containers"][0][
            "name"
        ],
    }
    return relabel(ALLOY, meta)


def _loki(run: Run) -> list[tuple[dict[str, str], str]]:
    """What Loki stores of the run's pod: (labels, line) after Alloy's pipeline."""
    stream = _stream(run)
    kept = [(process(ALLOY, "structured", stream, line), line) for line in run.stdout + run.stderr]
    return [(labels, line) for labels, line in kept if labels is not None]


def _run_entries(run: Run, at: float = 0) -> list[Entry]:
    return [Entry(labels, line, at) for labels, line in _loki(run)]


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


# ---- the code location's lines, through Alloy ----


def test_every_line_of_a_run_is_dagster_json_with_its_run_and_step(runs):
    run = runs["failed"]
    records = [json.loads(line) for line in run.stdout]  # stdout holds JSON objects only
    assert {r["dagster_meta"]["run_id"] for r in records} == {run.run_id}
    events = {
        r["dagster_meta"]["dagster_event"]["event_type_value"]
        for r in records
        if r["dagster_meta"]["dagster_event"]
    }
    assert {"ASSET_MATERIALIZATION", "STEP_FAILURE", "PIPELINE_FAILURE"} <= events  # DEBUG too
    (caught,) = [r for r in records if r["dagster_meta"]["orig_message"] == "retrying the catalog"]
    assert "ConnectionError: catalog unreachable" in caught["exc_text"]  # not lost to a TypeError


def test_alloy_labels_each_line_with_run_job_step_event_and_asset(runs):
    run = runs["failed"]
    stored = _loki(run)
    assert len(stored) == len(run.stdout) + len([x for x in run.stderr if " - dagster - " not in x])
    for labels, line in stored:
        if line.startswith("{"):
            assert labels["dagster_run_id"] == run.run_id and labels["dagster_job"] == run.job
            assert labels["namespace"] == "data-platform-core" and labels["app"] == "dagster"
            assert labels["level"] in ("debug", "info", "warning", "error", "critical")
    by_event = {labels.get("event_type"): labels for labels, _ in stored}
    assert by_event["ASSET_MATERIALIZATION"]["asset_key"] == "staging/orders"
    assert by_event["ASSET_MATERIALIZATION"]["step_key"] == "staging__orders"
    failure = by_event["STEP_FAILURE"]
    assert (failure["step_key"], failure["level"]) == ("staging__customers", "error")
    assert "asset_key" not in failure  # Dagster's step events name no asset: the step does
    assert "step_key" not in by_event["PIPELINE_FAILURE"]
    assert not any(" - dagster - ERROR - " in line for _, line in stored)  # the text copies


def test_pipeline_failures_fire_per_job_and_step_and_not_on_success(runs):
    expr = _rules()["LakehousePipelineFailureLogged"]["expr"]
    assert evaluate(expr, _run_entries(runs["ok"], at=10), at=60) == {}
    failed = _run_entries(runs["failed"], at=10)
    job = runs["failed"].job
    assert evaluate(expr, failed, at=60) == {(job, "staging__customers"): 1, (job, ""): 1}
    assert evaluate(expr, failed, at=10 + 600) == {}  # out of the 10-minute range


def test_authentication_errors_fire_above_their_threshold():
    expr = _rules()["LakehouseAuthenticationErrors"]["expr"]
    keycloak = {"namespace": "data-platform-core", "app": "keycloak"}
    line = 'type="LOGIN_ERROR", realmId="data-platform-prod", clientId="oauth2-proxy", error="invalid_user_credentials"'
    assert evaluate(expr, _entries(keycloak, [line] * 20), at=30) == {}
    assert evaluate(expr, _entries(keycloak, [line] * 21), at=30) == {
        ("data-platform-core", "keycloak"): 21
    }
    assert evaluate(expr, _entries(keycloak, ["user logged in"] * 50), at=60) == {}


def test_database_connection_errors_fire_and_name_the_client(runs):
    expr = _rules()["LakehouseDatabaseConnectionErrors"]["expr"]
    lakekeeper = {"namespace": "data-platform-governance", "app": "lakekeeper"}
    line = json.dumps(
        {"level": "ERROR", "message": "error connecting: Connection refused (os error 111)"}
    )
    assert evaluate(expr, _entries(lakekeeper, [line] * 6), at=10) == {
        ("data-platform-governance", "lakekeeper"): 6
    }
    assert (
        evaluate(expr, _entries({"namespace": "kube-system", "app": "x"}, [line] * 9), at=10) == {}
    )
    assert evaluate(expr, _run_entries(runs["ok"]), at=10) == {}


def test_a_runs_database_errors_are_counted_once_not_again_in_the_consoles_copies(runs):
    expr = _rules()["LakehouseDatabaseConnectionErrors"]["expr"]
    run = runs["failed"]
    json_lines = [line for line in run.stdout if REFUSED in line]
    assert len(json_lines) == 7  # 5 error lines, the step's and the run's failure
    # The console logger's copies start with its text header, which Alloy drops; what stays of
    # them is the tail of their tracebacks, one Loki entry per line as any traceback's.
    tails = [line for line in run.stderr if REFUSED in line and " - dagster - " not in line]
    copies = [line for line in run.stderr if REFUSED in line and " - dagster - " in line]
    assert copies and tails
    fired = evaluate(expr, _run_entries(run), at=10)
    assert fired == {("data-platform-core", "dagster"): len(json_lines) + len(tails)}


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
    targets = set(re.findall(r'target_label\s*=\s*"(\w+)"', ALLOY))
    assert {"namespace", "app", "pod", "container", "dagster_run_id", "dagster_job"} <= targets
    labelled = re.findall(r"stage\.labels \{\s*values = \{([^}]*)\}", ALLOY)
    for name in ("asset_key", "level", "log_type", "step_key", "event_type"):
        assert any(name in body for body in labelled), name


def test_an_audit_line_reaches_the_seven_year_stream():
    line = json.dumps(
        {"levelname": "INFO", "log_type": "audit", "msg": "erased", "dagster_meta": {}}
    )
    labels = process(ALLOY, "structured", {"namespace": "data-platform-core"}, line)
    assert labels == {"namespace": "data-platform-core", "level": "info", "log_type": "audit"}


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
