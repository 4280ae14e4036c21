"""Embedded compaction through pyiceberg: one atomic commit, nothing lost under concurrency."""

from __future__ import annotations

import threading
import time

import pytest
from pyiceberg.exceptions import ValidationException
from pyiceberg.expressions import EqualTo
from upkeep_tables import appender, data_files, events, rows_of

from lakehouse.catalog import build_catalog
from lakehouse.iceberg.commits import summary_properties
from lakehouse.settings import load_settings
from lakehouse.upkeep.compaction.bin_packing import (
    COMPACTION,
    UPKEEP_PROPERTY,
    ConcurrentRewriteError,
    compact_table,
)
from lakehouse.upkeep.rules import rules_for

TABLE = ("raw", "events")


def test_small_files_of_a_partition_become_one_file_in_one_snapshot(catalog, settings, append):
    for batch in range(6):
        append(events(batch * 10, 10, day=0), partition_column="created_at")
    for batch in range(2):  # another day with too few small files to compact
        append(events(1000 + batch * 10, 10, day=1), partition_column="created_at")
    before = catalog.load_table(TABLE)
    rows, snapshots = rows_of(before), len(before.snapshots())

    result = compact_table(catalog, TABLE, rules_for(settings, TABLE))

    after = catalog.load_table(TABLE)
    assert (result.files_removed, result.files_added) == (6, 1)
    assert len(data_files(after)) == 3
    assert rows_of(after) == rows
    assert len(after.snapshots()) == snapshots + 1  # one atomic commit
    summary = summary_properties(after.current_snapshot())
    assert summary[UPKEEP_PROPERTY] == COMPACTION
    assert summary["deleted-data-files"] == "6"
    assert compact_table(catalog, TABLE, rules_for(settings, TABLE)).groups == 0  # idempotent


def test_a_dry_run_plans_without_writing(catalog, settings, append):
    for batch in range(5):
        append(events(batch * 10, 10))
    before = data_files(catalog.load_table(TABLE))
    result = compact_table(catalog, TABLE, rules_for(settings, TABLE), dry_run=True)
    assert result.groups == 1 and result.files_added == 0
    assert data_files(catalog.load_table(TABLE)) == before


def _racing(monkeypatch, action) -> list:
    """Make ``action`` run between compaction writing its files and committing them."""
    import lakehouse.upkeep.compaction.bin_packing as compaction

    real, written = compaction.write_group, []

    def write_then_race(*args):
        written.append(real(*args))
        action()
        return written[-1]

    monkeypatch.setattr(compaction, "write_group", write_then_race)
    return written


def test_an_append_landing_mid_compaction_is_kept(any_environment, monkeypatch):
    settings = load_settings(any_environment)
    catalog = build_catalog(settings)
    append = appender(catalog)
    for batch in range(6):
        append(events(batch * 10, 10))
    other = appender(build_catalog(settings))
    _racing(monkeypatch, lambda: other(events(500, 5)))

    result = compact_table(catalog, TABLE, rules_for(settings, TABLE))

    table = catalog.load_table(TABLE)
    assert result.files_removed == 6
    assert [r[0] for r in rows_of(table)] == [*range(60), *range(500, 505)]
    assert len(data_files(table)) == 2  # the compacted file and the concurrent append's


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_compaction_racing_a_writer_thread_loses_and_doubles_nothing(any_environment):
    settings = load_settings(any_environment)
    catalog = build_catalog(settings)
    append = appender(catalog)
    for batch in range(6):
        append(events(batch * 10, 10))
    done, errors, compacted = threading.Event(), [], []

    def writer() -> None:
        own = appender(build_catalog(settings))
        try:
            for batch in range(12):
                own(events(10_000 + batch * 5, 5))
                time.sleep(0.02)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    while not done.is_set():
        compacted.append(compact_table(catalog, TABLE, rules_for(settings, TABLE)).files_removed)
    thread.join()
    compacted.append(compact_table(catalog, TABLE, rules_for(settings, TABLE)).files_removed)
    assert not errors and sum(compacted) > 0
    ids = [row[0] for row in rows_of(catalog.load_table(TABLE))]
    assert ids == [*range(60), *(10_000 + i for i in range(60))]  # nothing lost or doubled


def test_a_concurrent_delete_of_an_input_fails_the_compaction_and_loses_nothing(
    catalog, settings, append, monkeypatch
):
    for batch in range(5):
        append(events(batch * 10, 10))
    other = build_catalog(settings)
    written = _racing(monkeypatch, lambda: other.load_table(TABLE).delete(EqualTo("id", 3)))

    with pytest.raises((ValidationException, ConcurrentRewriteError)):
        compact_table(catalog, TABLE, rules_for(settings, TABLE), timeout_seconds=2)

    table = catalog.load_table(TABLE)
    assert [r[0] for r in rows_of(table)] == [i for i in range(50) if i != 3]
    assert not table.io.new_input(written[0].file_path).exists()  # the rewrite left no file
