"""Capacity that adds up: every namespace's quota holds what its workloads can scale to at once
(tests/deploy/capacity.py), so a scale-out never fails silently at admission."""

from __future__ import annotations

import copy
from decimal import Decimal

import dagster as dg
import pytest
from capacity import (
    NODES,
    OBSERVABILITY,
    PROCESSING,
    RESOURCES,
    Workload,
    demand,
    overlay_workloads,
    quotas,
)
from capacity_charts import chart_values, chart_workloads

from lakehouse.engine_conf import settings_from_config
from lakehouse.resources import build_executor

GIB = Decimal(2**30)


def _step_pods_per_run(docs) -> int:
    """Run pods host their steps (multiprocess); a per-step-pod executor would multiply them."""
    config = next(d for d in docs if d["metadata"]["name"] == "lakehouse-settings")["data"]
    executor = build_executor(settings_from_config(config))
    if executor is dg.multiprocess_executor:
        return 0
    pytest.fail(f"the platform executor is {executor.name}: count its step pods per run")


def _workloads(env: str, docs) -> list[Workload]:
    nodes = NODES[env]
    return [*overlay_workloads(docs, nodes), *chart_workloads(env, nodes, _step_pods_per_run(docs))]


def _over(env: str, docs) -> list[tuple]:
    need = demand(_workloads(env, docs), docs)
    have = quotas(docs)
    return [
        (namespace, name, str(amount), str(have[namespace].get(name)))
        for namespace, totals in sorted(need.items())
        for name, amount in totals.items()
        if name in (*RESOURCES, "pods") and amount > have[namespace].get(name, Decimal(0))
    ]


def test_every_quota_holds_its_namespace_at_full_scale_out(env_docs):
    env, docs = env_docs
    assert _over(env, docs) == [], env


def test_the_ceilings_are_the_ones_issue_16_found(rendered):
    """Prod: Trino's HPA to 20 workers of 8 CPU, 50 Spark executors of 2 CPU / 8 Gi."""
    docs = rendered["prod"]
    workloads = {w.name: w for w in _workloads("prod", docs)}
    assert workloads["trino-worker"].pods == 20
    assert workloads["spark-connect-executors"].pods == 50
    assert workloads["lakehouse-spark-submit-executors"].pods == 50
    processing = demand(list(workloads.values()), docs)[PROCESSING]
    assert processing["requests.cpu"] >= 20 * 8 + 2 * 50 * 2
    assert processing["requests.memory"] >= (20 * 16 + 2 * 50 * 8) * GIB


def test_the_run_queue_and_daemonsets_count(rendered):
    docs = rendered["prod"]
    workloads = {w.name: w for w in _workloads("prod", docs)}
    runs = chart_values("prod", "dagster")["dagsterDaemon"]["runCoordinator"]["config"]
    assert workloads["dagster-runs"].pods == runs["queuedRunCoordinator"]["maxConcurrentRuns"]
    assert workloads["alloy"].pods == NODES["prod"] == workloads["node-exporter"].pods
    assert workloads["alloy"].namespace == OBSERVABILITY


# ---- mutation tests ----


def test_the_old_prod_processing_quota_is_caught(rendered):
    """Issue 16: 100 CPU / 200 Gi of requests could hold neither ceiling."""
    docs = copy.deepcopy(rendered["prod"])
    (quota,) = [
        d for d in docs if d["kind"] == "ResourceQuota" and d["metadata"]["namespace"] == PROCESSING
    ]
    quota["spec"]["hard"].update({"requests.cpu": "100", "requests.memory": "200Gi"})
    short = {(ns, name) for ns, name, _, _ in _over("prod", docs)}
    assert {(PROCESSING, "requests.cpu"), (PROCESSING, "requests.memory")} <= short


def test_an_unsized_container_takes_the_limit_range_defaults(rendered):
    docs = rendered["prod"]
    bare = Workload(PROCESSING, "bare", 3, ({},))
    totals = demand([bare], docs)[PROCESSING]
    assert totals["requests.cpu"] == Decimal("0.3") and totals["limits.memory"] == 3 * 512 * 2**20
