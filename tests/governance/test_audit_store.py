"""The audit trail: append-only rows, a hash chain that names the first tampered row, listing,
idempotent keys, concurrent writers that never fork the chain, and the seven-year purge."""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
import threading

import pytest
from audit_fixtures import T0, AuditStores, hammer, process_hammer, record

from lakehouse.governance.audit.chain import GENESIS, PURGE_ACTION, AuditRecord
from lakehouse.governance.audit.configured import open_audit_store
from lakehouse.governance.audit.sqlite_store import SqliteAuditStore
from lakehouse.governance.audit.store import AuditStoreError, retention_cutoff


def tamper(stores: AuditStores, statement: str) -> None:
    """What someone with direct write access would do: switch the guards off, then edit."""
    if stores.admin_dsn is None:
        path = stores.writer.path
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        connection.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
        connection.execute(statement.replace("audit.events", "audit_events"))
        connection.close()
        return
    import psycopg2

    connection = psycopg2.connect(stores.admin_dsn)
    with connection, connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit.events DISABLE TRIGGER USER")
        cursor.execute(statement)
    connection.close()


def test_rows_are_chained_in_order_and_listed_by_time_and_object(audit_stores):
    assert audit_stores.writer.append([record(i) for i in range(5)]) == 5
    audit_stores.writer.append([record(9, obj="staging.users")])
    rows = audit_stores.reader.list()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    assert rows[0].record.details == {
        "i": 0,
        "note": "café ünïcode",
        "nested": {"b": [1, 2], "a": None},
    }
    assert rows[0].record.at == T0 and rows[0].record.run_id == "run-0"
    since = audit_stores.reader.list(since=T0 + dt.timedelta(days=3))
    assert [r.record.details["i"] for r in since] == [3, 4, 9]
    assert [r.seq for r in audit_stores.reader.list(object="staging.users")] == [6]
    assert len(audit_stores.reader.list(object="raw.*")) == 5
    assert len(audit_stores.reader.list(limit=2)) == 2
    verdict = audit_stores.reader.verify()
    assert verdict.ok, verdict.summary()
    assert (verdict.rows, verdict.head_seq, verdict.head_hash) == (6, 6, rows[-1].hash)


def test_tampering_with_one_row_is_caught_at_that_row(audit_stores):
    audit_stores.writer.append([record(i) for i in range(6)])
    tamper(audit_stores, "UPDATE audit.events SET details = '{\"i\":99}' WHERE seq = 4")
    verdict = audit_stores.reader.verify()
    assert not verdict.ok
    assert (verdict.broken_seq, verdict.rows) == (4, 3)
    assert "content does not match" in verdict.summary()


def test_a_changed_actor_or_time_is_caught_too(audit_stores):
    audit_stores.writer.append([record(i) for i in range(3)])
    tamper(audit_stores, "UPDATE audit.events SET actor = 'user:mallory' WHERE seq = 2")
    assert audit_stores.reader.verify().broken_seq == 2


def test_a_deleted_row_and_a_cut_tail_are_caught(audit_stores):
    audit_stores.writer.append([record(i) for i in range(5)])
    tamper(audit_stores, "DELETE FROM audit.events WHERE seq = 5")
    verdict = audit_stores.reader.verify()
    assert (verdict.ok, verdict.broken_seq) == (False, 5)
    assert "rows cut" in verdict.reason
    tamper(audit_stores, "DELETE FROM audit.events WHERE seq = 2")
    assert audit_stores.reader.verify().broken_seq == 2


def test_a_removed_prefix_without_checkpoint_is_caught(audit_stores):
    audit_stores.writer.append([record(i) for i in range(5)])
    tamper(audit_stores, "DELETE FROM audit.events WHERE seq <= 2")
    verdict = audit_stores.reader.verify()
    assert verdict.broken_seq == 3 and "no purge checkpoint" in verdict.reason


def test_a_known_key_is_recorded_once(audit_stores):
    assert (
        audit_stores.writer.append([record(1, key="dagster:41"), record(2, key="dagster:42")]) == 2
    )
    assert (
        audit_stores.writer.append([record(2, key="dagster:42"), record(3, key="dagster:43")]) == 1
    )
    rows = audit_stores.reader.list()
    assert [r.record.key for r in rows] == ["dagster:41", "dagster:42", "dagster:43"]
    assert audit_stores.reader.verify().ok


def test_rows_cannot_be_updated_or_deleted_through_the_store_guards(audit_stores):
    audit_stores.writer.append([record(1)])
    if audit_stores.admin_dsn is None:
        connection = sqlite3.connect(audit_stores.writer.path, isolation_level=None)
        for statement in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"):
            with pytest.raises(sqlite3.IntegrityError, match="audit"):
                connection.execute(statement)
        return
    import psycopg2

    connection = psycopg2.connect(audit_stores.admin_dsn)  # even the superuser
    for statement in (
        "UPDATE audit.events SET actor = 'x'",
        "DELETE FROM audit.events",
        "TRUNCATE audit.events",
    ):
        with (
            pytest.raises(psycopg2.errors.RaiseException, match="append-only"),
            connection,
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    connection.close()


def test_concurrent_writers_never_fork_the_chain(audit_stores):
    threads = [threading.Thread(target=hammer, args=(audit_stores.writer, w, 40)) for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = audit_stores.reader.list()
    assert [r.seq for r in rows] == list(range(1, 121))
    assert len({r.prev_hash for r in rows}) == 120
    assert audit_stores.reader.verify().ok


def test_concurrent_processes_on_sqlite_never_fork_the_chain(tmp_path):
    import multiprocessing

    path = str(tmp_path / "audit.db")
    SqliteAuditStore(path)
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=process_hammer, args=(path, w)) for w in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    store = SqliteAuditStore(path)
    assert [r.seq for r in store.list()] == list(range(1, 91))
    assert store.verify().ok


def test_purge_removes_old_rows_and_leaves_a_verifiable_checkpoint(audit_stores):
    audit_stores.writer.append([record(i) for i in range(10)])
    cutoff = T0 + dt.timedelta(days=4)
    result = audit_stores.retention.purge(cutoff, actor="service:retention")
    assert (result.rows, result.through_seq) == (4, 4)
    rows = audit_stores.reader.list()
    assert [r.seq for r in rows] == [5, 6, 7, 8, 9, 10, 11]
    checkpoint = rows[-1].record
    assert checkpoint.action == PURGE_ACTION and checkpoint.actor == "service:retention"
    assert checkpoint.details["purged_through_seq"] == 4
    assert checkpoint.details["purged_head_hash"] == rows[0].prev_hash
    assert audit_stores.reader.verify().ok
    # A second purge (nothing old left but the first kept rows) and more writes stay verifiable.
    audit_stores.retention.purge(T0 + dt.timedelta(days=7), actor="service:retention")
    audit_stores.writer.append([record(20)])
    verdict = audit_stores.reader.verify()
    assert verdict.ok, verdict.summary()
    assert audit_stores.reader.list()[0].seq == 8


def test_a_forged_checkpoint_does_not_anchor_the_chain(audit_stores):
    audit_stores.writer.append([record(i) for i in range(6)])
    audit_stores.retention.purge(T0 + dt.timedelta(days=3), actor="service:retention")
    tamper(audit_stores, "DELETE FROM audit.events WHERE seq = 4")
    verdict = audit_stores.reader.verify()
    assert verdict.broken_seq == 5 and "no purge checkpoint" in verdict.reason


def test_purging_everything_keeps_only_the_checkpoint(audit_stores):
    audit_stores.writer.append([record(i) for i in range(3)])
    assert audit_stores.retention.purge(T0 + dt.timedelta(days=30), actor="service:r").rows == 3
    rows = audit_stores.reader.list()
    assert [(r.seq, r.record.action) for r in rows] == [(4, PURGE_ACTION)]
    assert audit_stores.reader.verify().ok
    assert audit_stores.retention.purge(T0, actor="service:r").rows == 0


def test_the_seven_year_cutoff_counts_calendar_years():
    assert retention_cutoff(dt.datetime(2026, 11, 16, tzinfo=dt.UTC)) == dt.datetime(
        2019, 11, 16, tzinfo=dt.UTC
    )
    assert retention_cutoff(dt.datetime(2028, 2, 29, tzinfo=dt.UTC)) == dt.datetime(
        2021, 2, 28, tzinfo=dt.UTC
    )


def test_a_naive_time_or_an_empty_actor_is_refused():
    with pytest.raises(ValueError, match="time zone"):
        AuditRecord("a", "o", "service:x", dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="actor"):
        AuditRecord("a", "o", "", T0)


def test_a_wrong_or_unreachable_store_is_named(tmp_path):
    with pytest.raises(AuditStoreError, match="LAKEHOUSE_AUDIT_URL"):
        open_audit_store("mysql://host/audit")
    store = open_audit_store("postgresql+psycopg2://writer@127.0.0.1:1/audit")
    with pytest.raises(
        AuditStoreError, match=r"cannot reach the audit store postgresql://127.0.0.1:1/audit"
    ):
        store.append([record(1)])
    (tmp_path / "file").write_text("")
    with pytest.raises(AuditStoreError, match="cannot open the audit store"):
        open_audit_store(f"sqlite:///{tmp_path / 'file' / 'audit.db'}")
