"""Table health figures and their Prometheus text form."""

from __future__ import annotations

import datetime as dt

import pytest
from upkeep_tables import committed_at, events

from lakehouse.upkeep.compaction.bin_packing import compact_table
from lakehouse.upkeep.health.table_health import table_health
from lakehouse.upkeep.metrics import Sample, render, write_textfile
from lakehouse.upkeep.rules import rules_for

TABLE = ("raw", "events")


def test_health_counts_small_files_and_ages_from_the_first_snapshot(catalog, settings, append):
    for batch in range(5):
        append(events(batch * 10, 10))
    rules = rules_for(settings, TABLE)
    table = catalog.load_table(TABLE)
    created = min(snapshot.timestamp_ms for snapshot in table.metadata.snapshots) / 1000
    later = dt.datetime.fromtimestamp(created, dt.UTC) + dt.timedelta(hours=1)

    before = table_health(table, rules, later)
    assert (before.data_files, before.small_files, before.small_file_ratio) == (5, 5, 1.0)
    assert before.rows == 50 and before.snapshots == 5
    # never compacted, never backed up: since creation
    assert before.last_compaction_age_seconds == pytest.approx(3600)
    assert before.last_backup_age_seconds == pytest.approx(3600)

    compact_table(catalog, TABLE, rules)
    compacted = catalog.load_table(TABLE)
    after = table_health(compacted, rules, committed_at(compacted) + dt.timedelta(hours=1))
    assert after.data_files == 1 and after.last_compaction_age_seconds == pytest.approx(3600)


def test_the_text_format_groups_samples_and_escapes_labels(tmp_path):
    text = render(
        [
            Sample("lakehouse_table_bytes", {"table": 'raw."x"', "namespace": "raw"}, 1024),
            Sample("lakehouse_table_bytes", {"table": "raw.y", "namespace": "raw"}, 0.5),
            Sample("lakehouse_backup_success", {}, 1),
        ]
    )
    assert text.splitlines() == [
        "# HELP lakehouse_table_bytes bytes of the current snapshot's data files",
        "# TYPE lakehouse_table_bytes gauge",
        'lakehouse_table_bytes{namespace="raw",table="raw.\\"x\\""} 1024',
        'lakehouse_table_bytes{namespace="raw",table="raw.y"} 0.5',
        "# HELP lakehouse_backup_success 1 if the last backup succeeded, else 0",
        "# TYPE lakehouse_backup_success gauge",
        "lakehouse_backup_success 1",
    ]
    path = write_textfile(tmp_path / "metrics", "backup", text)
    assert path.name == "lakehouse_backup.prom" and path.read_text() == text
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
