"""The assembled location: every asset is catalogued and has a freshness policy (analysts rely
on it), and the automation resolves against the real asset graph."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from lakehouse.automation.freshness import LAYER_FRESHNESS
from lakehouse.automation.jobs import DAILY_TRANSFORMS_JOB, ML_JOB, RAW_INGEST_JOB

CATALOG_TAGS = ("layer", "domain", "classification")


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from lakehouse.definitions import defs  # loads the embedded location once for this module

    return defs


def test_every_asset_has_catalog_entries_and_a_freshness_policy(defs):
    graph = defs.resolve_asset_graph()
    missing = []
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        problems = [
            name
            for name, ok in [
                ("description", bool(node.description)),
                ("owner", bool(node.owners)),
                ("kinds", bool(node.kinds)),
                *[(f"tag {tag}", bool(node.tags.get(tag))) for tag in CATALOG_TAGS],
                ("freshness policy", node.freshness_policy is not None),
                ("layer tag = namespace", node.tags.get("layer") == key.path[0]),
            ]
            if not ok
        ]
        if problems:
            missing.append(f"{key.to_user_string()}: {', '.join(problems)}")
    assert not missing, "\n".join(missing)


def test_every_layer_is_present_with_its_policy(defs):
    layers = {key.path[0] for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert layers == set(LAYER_FRESHNESS)
    policy = defs.resolve_assets_def(dg.AssetKey(["ml", "customer_features"])).specs_by_key
    assert next(iter(policy.values())).freshness_policy == LAYER_FRESHNESS["ml"]


def test_raw_users_columns_carry_pii_marks(defs):
    spec = defs.resolve_assets_def(dg.AssetKey(["raw", "faker_users"])).specs_by_key[
        dg.AssetKey(["raw", "faker_users"])
    ]
    columns = {c.name: c.tags for c in spec.metadata["dagster/column_schema"].columns}
    assert {"name", "email", "telephone", "address"} <= {
        name for name, tags in columns.items() if tags.get("pii") == "true"
    }
    assert columns["id"] == {}
    assert spec.tags["classification"] == "restricted" and spec.tags["pii"] == "true"


def test_jobs_select_their_layers(defs):
    def keys(name: str) -> set[str]:
        job = defs.resolve_job_def(name)
        return {k.path[0] for k in job.asset_layer.executable_asset_keys}

    assert keys(RAW_INGEST_JOB) == {"raw"}
    assert keys(DAILY_TRANSFORMS_JOB) == {"staging", "analytics"}
    # the whole-history models it consumes, and the consents it must honour
    assert keys(ML_JOB) == {"ml", "analytics", "governance"}
    lifetime_value = dg.AssetKey(["analytics", "customer_lifetime_value"])
    assert lifetime_value in defs.resolve_job_def(ML_JOB).asset_layer.executable_asset_keys
    assert (
        lifetime_value
        not in defs.resolve_job_def(DAILY_TRANSFORMS_JOB).asset_layer.executable_asset_keys
    )


def test_transforms_schedule_requests_valid_partitions_of_the_job(defs):
    schedule = defs.resolve_schedule_def("daily_transforms_daily")
    tick = dt.datetime(2024, 3, 2, 2, 30, tzinfo=dt.UTC)
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=tick,
            repository_def=defs.get_repository_def(),
        )
        requests = schedule.evaluate_tick(context).run_requests or []
    # evaluate_tick checks each key against the job's partitions (it raises on an unknown one).
    assert [request.partition_key for request in requests] == ["2024-02-01", "2024-03-01"]
