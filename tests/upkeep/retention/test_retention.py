"""Retention: rows past their table's age go, by the table's time column; rules in one place."""

from __future__ import annotations

import dataclasses
import datetime as dt

from upkeep_tables import DAY0, events, rows_of

from lakehouse.settings import load_settings
from lakehouse.upkeep.retention.apply import apply_retention, time_column
from lakehouse.upkeep.rules import Override, rules_for


def test_the_seed_retention_rules_apply_per_layer():
    settings = load_settings({})
    assert rules_for(settings, ("raw", "faker_users")).retention == dt.timedelta(days=90)
    assert rules_for(settings, ("analytics", "orders")).retention == dt.timedelta(days=365)
    assert rules_for(settings, ("raw", "faker_users")).subject_column == "id"
    custom = {"raw": Override(retention=dt.timedelta(days=1)), "raw.t": Override(min_small_files=9)}
    rules = rules_for(settings, ("raw", "t"), custom)
    assert (rules.retention, rules.min_small_files) == (dt.timedelta(days=1), 9)


def test_rows_older_than_the_retention_are_deleted(catalog, settings, append):
    for day in range(5):
        append(events(day * 10, 10, day=day * 30), partition_column="created_at")
    table = ("raw", "events")
    rules = dataclasses.replace(rules_for(settings, table), time_column="created_at")
    now = DAY0 + dt.timedelta(days=150)  # 90 days back: days 60 onwards survive

    dry = apply_retention(catalog, table, rules, now, dry_run=True)
    assert dry.rows_deleted == 20 and len(rows_of(catalog.load_table(table))) == 50
    result = apply_retention(catalog, table, rules, now)

    assert (result.column, result.rows_deleted) == ("created_at", 20)
    assert [r[0] for r in rows_of(catalog.load_table(table))] == list(range(20, 50))
    assert apply_retention(catalog, table, rules, now).rows_deleted == 0


def test_the_time_column_falls_back_to_the_time_partition(catalog, settings, append):
    append(events(0, 3), ("analytics", "events"), partition_column="created_at")
    table = catalog.load_table(("analytics", "events"))
    assert time_column(table, rules_for(settings, ("analytics", "events"))) == "created_at"
    append(events(0, 3), ("staging", "plain"))
    result = apply_retention(
        catalog, ("staging", "plain"), rules_for(settings, ("staging", "plain"))
    )
    assert result.skipped and result.rows_deleted == 0
