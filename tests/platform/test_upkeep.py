"""Every upkeep job on the loopback platform: the REST catalog, S3 storage, compaction by Trino
(``optimize``), backups to the ``backups`` bucket and the restore check, as the platform's
schedules run them (tests/upkeep/test_upkeep_jobs.py runs the same jobs embedded)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import dagster as dg
import pytest

from lakehouse.catalog import build_catalog, catalog_properties
from lakehouse.definitions import build_definitions
from lakehouse.loopback.layout import Layout
from lakehouse.loopback.warehouse import empty_graph_tables
from lakehouse.settings import load_settings
from lakehouse.upkeep.jobs import UPKEEP_JOBS
from lakehouse.upkeep.storage import Storage
from tests.platform.conftest import environment, settings_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "upkeep"))
from upkeep_tables import appender, events

pytestmark = pytest.mark.slow


def _run(defs: dg.Definitions, name: str, run_config: dict | None = None) -> dict:
    result = defs.resolve_job_def(name).execute_in_process(
        run_config=run_config or {}, instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success, name
    events_ = result.get_asset_materialization_events()
    if not events_:
        return {}
    (materialization,) = events_
    return {k: v.value for k, v in materialization.materialization.metadata.items()}


def test_every_upkeep_job_runs_on_s3_and_the_rest_catalog(platform: Layout, tmp_path) -> None:
    env = environment(platform, "rest", LAKEHOUSE_HOME=str(tmp_path))
    env.pop("DAGSTER_HOME", None)
    settings = load_settings(env)
    catalog = build_catalog(settings)
    # The jobs maintain every table of the catalog, other tests' leftovers too.
    empty_graph_tables(catalog, [".".join(ns) for ns in catalog.list_namespaces()])
    append = appender(catalog)
    for batch in range(6):
        append(events(batch * 10, 10))
    append(events(0, 10), ("raw", "faker_users"))
    defs = build_definitions(env)
    storage = Storage(catalog_properties(settings))

    compaction = _run(defs, "upkeep_compaction")  # Trino's optimize: the engine reports no counts
    assert compaction["tables_compacted"] >= 1
    table = catalog.load_table("raw.events")
    assert len(table.inspect.files()) == 1
    assert table.scan().to_arrow().num_rows == 60
    assert _run(defs, "upkeep_snapshot_expiry")["tables"] == 2
    dry_run = {"ops": {"upkeep__orphan_files": {"config": {"dry_run": True}}}}
    assert _run(defs, "upkeep_orphan_files", dry_run)["orphans"] == 0
    assert _run(defs, "upkeep_retention")["tables"] == 2
    backup = _run(defs, "upkeep_backup")
    assert backup["tables"] == 2 and backup["rows"] == 70
    backed_up = [entry.uri for entry in storage.list("s3://backups/lakehouse")]
    assert any(uri.endswith(".parquet") for uri in backed_up), backed_up
    check = _run(defs, "upkeep_restore_check")
    assert check["rows"] == 70 and check["rto_seconds"] > 0
    erasure = {
        "ops": {"upkeep__gdpr_erasure": {"config": {"subject_ids": ["4"], "requested_by": "test"}}}
    }
    assert _run(defs, "upkeep_gdpr_erasure", erasure)["rows_deleted"] == 1
    _run(defs, "upkeep_table_health")
    ran = {"compaction", "snapshot_expiry", "orphan_files", "retention", "backup"}
    ran |= {"restore_check", "gdpr_erasure", "table_health"}
    assert {f"upkeep_{name}" for name in ran} == {job.name for job in UPKEEP_JOBS}


def test_orphan_removal_deletes_the_files_from_s3_and_the_table_stays_readable(
    platform: Layout, platform_secrets: dict[str, str], kind, catalog, names, trino
) -> None:
    """moto cannot age objects: the clock is injected (``now``), a window past the newest file,
    rather than slept through. The objects are checked gone with S3's own API (boto3)."""
    import boto3
    import pyarrow as pa
    from botocore.exceptions import ClientError

    from lakehouse.upkeep.rules import default_rules
    from lakehouse.upkeep.snapshots.orphans import remove_orphans

    rows = pa.table({"id": pa.array([1, 2, 3], pa.int64())})
    table = catalog.create_table(names["pyiceberg"], schema=rows.schema)
    table.append(rows)
    location = table.location()
    # What a writer that died before its commit leaves: files no metadata references.
    planted = [f"{location}/data/died-before-commit-{i}.parquet" for i in range(2)]
    planted.append(f"{location}/metadata/died-before-commit.metadata.json")
    settings = settings_of(platform, kind)
    storage = Storage(catalog_properties(settings))
    for uri in planted:
        storage.write_bytes(uri, b"not referenced by any snapshot")
    newest = max(entry.modified for entry in storage.list(location))
    identifier = tuple(names["pyiceberg"].split("."))
    rules = default_rules(settings)
    window = rules.orphan_safety_window

    young = remove_orphans(catalog, identifier, rules, storage, now=newest + window - _SECOND)
    assert (young.orphans, young.deleted, young.young_unreferenced) == ([], 0, 3)

    result = remove_orphans(catalog, identifier, rules, storage, now=newest + window + _SECOND)

    assert sorted(entry.uri for entry in result.orphans) == sorted(planted)
    assert result.deleted == 3
    s3 = boto3.client(
        "s3",
        endpoint_url=platform.url("s3"),
        aws_access_key_id=platform_secrets["s3_access_key_id"],
        aws_secret_access_key=platform_secrets["s3_secret_access_key"],
        region_name="us-east-1",
    )
    for uri in planted:
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        with pytest.raises(ClientError, match="404"):
            s3.head_object(Bucket=bucket, Key=key)
    bucket, prefix = location.removeprefix("s3://").split("/", 1)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "/")["Contents"]
    left = {f"s3://{bucket}/{entry['Key']}" for entry in listed}
    assert not left & set(planted) and left, "the table's own files must stay"
    assert catalog.load_table(identifier).scan().to_arrow().num_rows == 3
    assert trino(f"SELECT count(*), sum(id) FROM {names['trino']}") == [[3, 6]]


_SECOND = dt.timedelta(seconds=1)
