"""Snapshot expiry frees storage and keeps every file a retained snapshot, tag or branch needs."""

from __future__ import annotations

import dataclasses
import datetime as dt

from pyiceberg.expressions import LessThan
from upkeep_tables import appender, committed_at, data_files, events, rows_of

from lakehouse.catalog import build_catalog
from lakehouse.settings import load_settings
from lakehouse.upkeep.rules import rules_for
from lakehouse.upkeep.snapshots.expiry import expire_table
from lakehouse.upkeep.snapshots.reachability import load_history, reachable_files
from lakehouse.upkeep.storage import Storage, canonical

TABLE = ("raw", "events")
PAST_THE_WINDOW = dt.timedelta(days=30)  # after the newest snapshot: every one is past 7 days


def _disk(table) -> set[str]:
    return {canonical(e.uri) for e in Storage().list(table.location())}


def test_expired_snapshots_files_are_deleted_and_the_rest_still_reads(any_environment):
    settings = load_settings(any_environment)
    catalog = build_catalog(settings)
    append = appender(catalog)
    for batch in range(4):
        append(events(batch * 10, 10))
    table = catalog.load_table(TABLE)
    table.delete(LessThan("id", 15))  # rewrites a file: the old one only old snapshots reach
    table = catalog.load_table(TABLE)
    first = table.metadata.snapshots[0].snapshot_id
    table.manage_snapshots().create_tag(first, "audit-2024").commit()
    before_files = _disk(table)
    current_rows = rows_of(catalog.load_table(TABLE))

    rules = dataclasses.replace(rules_for(settings, TABLE), snapshot_min_keep=2)
    result = expire_table(catalog, TABLE, rules, now=committed_at(table) + PAST_THE_WINDOW)

    table = catalog.load_table(TABLE)
    kept = {s.snapshot_id for s in table.metadata.snapshots}
    assert first in kept  # tagged
    assert len(kept) == 3  # the tag + the last two of main
    assert result.deleted_files and result.bytes_freed > 0
    assert not {canonical(f) for f in result.deleted_files} & _disk(table)
    assert {canonical(f) for f in reachable_files(load_history(table))} <= _disk(table)
    assert {f for f in _disk(table) if not f.endswith(".metadata.json")} < before_files
    assert rows_of(table) == current_rows
    assert len(table.scan(snapshot_id=first).to_arrow()) == 10  # the tag still reads


def test_young_snapshots_and_branch_heads_are_kept(catalog, settings, append):
    for batch in range(3):
        append(events(batch * 10, 10))
    table = catalog.load_table(TABLE)
    table.manage_snapshots().create_branch(table.metadata.snapshots[0].snapshot_id, "dev").commit()
    rules = dataclasses.replace(rules_for(settings, TABLE), snapshot_min_keep=1)

    assert expire_table(catalog, TABLE, rules).expired == []  # all younger than 7 days
    result = expire_table(catalog, TABLE, rules, now=committed_at(table) + PAST_THE_WINDOW)

    table = catalog.load_table(TABLE)
    assert len(result.expired) == 1  # the middle one: dev's head and main's head stay
    assert {s.snapshot_id for s in table.metadata.snapshots} == {
        table.metadata.refs["dev"].snapshot_id,
        table.metadata.refs["main"].snapshot_id,
    }
    assert len(data_files(table)) == 3


def test_a_dry_run_lists_without_touching_anything(catalog, settings, append):
    for batch in range(3):
        append(events(batch * 10, 10))
    catalog.load_table(TABLE).delete(LessThan("id", 100))
    table = catalog.load_table(TABLE)
    rules = dataclasses.replace(rules_for(settings, TABLE), snapshot_min_keep=1)
    disk = _disk(table)

    later = committed_at(table) + PAST_THE_WINDOW
    result = expire_table(catalog, TABLE, rules, now=later, dry_run=True)

    assert len(result.expired) == 3 and result.deleted_files
    assert _disk(catalog.load_table(TABLE)) == disk
    assert len(catalog.load_table(TABLE).snapshots()) == 4
