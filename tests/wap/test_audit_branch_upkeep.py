"""Upkeep removes stale audit branches; until then expiry keeps the files they reach."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from lakehouse.iceberg.branches import read_branch
from lakehouse.iceberg.write_request import WriteRequest
from lakehouse.iceberg.writes import write
from lakehouse.settings import load_settings
from lakehouse.upkeep.rules import rules_for
from lakehouse.upkeep.snapshots.audit_branches import remove_stale_audit_branches
from lakehouse.upkeep.snapshots.expiry import expire_table
from tests.raw.raw_batches import products
from tests.wap.conftest import TABLE, main_ids_by_duckdb

IDENTIFIER = ("raw", "faker_products")
BRANCH = "audit/rejected-run"
RETENTION = dt.timedelta(hours=72)


def _data_files(settings) -> set[str]:
    return {str(p) for p in Path(settings.home_dir, "warehouse").rglob("*.parquet")}


def test_stale_audit_branches_are_removed_and_their_files_expired(settings, catalog):
    write(catalog, products([1, 2], [1.0, 2.0]), WriteRequest(IDENTIFIER, mode="append"))
    before_branch = _data_files(settings)
    write(catalog, products([3], [-3.0]), WriteRequest(IDENTIFIER, mode="append", branch=BRANCH))
    branch_files = _data_files(settings) - before_branch
    assert branch_files
    rules = dataclasses.replace(
        rules_for(settings, IDENTIFIER), snapshot_max_age=dt.timedelta(0), snapshot_min_keep=1
    )
    head = catalog.load_table(TABLE).snapshot_by_name(BRANCH)
    assert head is not None
    now = dt.datetime.fromtimestamp(head.timestamp_ms / 1000, dt.UTC)  # the branch's own commit

    # A fresh rejected branch is kept, and expiry keeps every file it reaches.
    assert remove_stale_audit_branches(catalog, IDENTIFIER, RETENTION, now) == []
    expire_table(catalog, IDENTIFIER, rules, now + dt.timedelta(days=1))
    assert branch_files <= _data_files(settings)
    assert sorted(read_branch(catalog, TABLE, BRANCH)["id"].to_pylist()) == [1, 2, 3]

    later = now + RETENTION + dt.timedelta(hours=1)
    assert remove_stale_audit_branches(catalog, IDENTIFIER, RETENTION, later) == [BRANCH]
    assert list(catalog.load_table(TABLE).refs()) == ["main"]
    expired = expire_table(catalog, IDENTIFIER, rules, later)
    assert expired.expired
    assert not branch_files & _data_files(settings)
    assert main_ids_by_duckdb(catalog) == [1, 2]


def test_the_retention_is_a_setting():
    assert load_settings({}).audit_branch_retention_hours == 72.0
    hours = load_settings({"LAKEHOUSE_AUDIT_BRANCH_RETENTION_HOURS": "6"})
    assert hours.audit_branch_retention_hours == 6.0
