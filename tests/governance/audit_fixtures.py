"""The audit stores the governance tests share (a plain module: test modules and the worker
processes of the concurrency test import it by a name no other test directory uses)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lakehouse.governance.audit.chain import AuditRecord
from lakehouse.governance.audit.postgres_setup import AuditRoles
from lakehouse.governance.audit.postgres_store import PostgresAuditStore
from lakehouse.governance.audit.sqlite_store import SqliteAuditStore
from lakehouse.governance.audit.store import AuditStore

T0 = dt.datetime(2019, 3, 1, 12, 0, tzinfo=dt.UTC)


@dataclass
class AuditStores:
    """The same audit trail as each role sees it (on SQLite, one store plays every role)."""

    writer: AuditStore
    reader: AuditStore
    retention: AuditStore
    admin_dsn: str | None = None  # PostgreSQL: a superuser's DSN, to play the attacker


@dataclass
class PostgresAudit:
    url: str
    dsn: str
    roles: AuditRoles
    logins: dict[str, str]  # role -> login user

    def store(self, role: str) -> PostgresAuditStore:
        return PostgresAuditStore(self.url.replace("postgres@", f"{self.logins[role]}@"))


def record(i: int, *, at: dt.datetime | None = None, key: str | None = None, obj: str = "raw.t"):
    return AuditRecord(
        action="run.success",
        object=obj,
        actor="service:dagster",
        at=at or T0 + dt.timedelta(days=i),
        run_id=f"run-{i}",
        details={"i": i, "note": "café ünïcode", "nested": {"b": [1, 2], "a": None}},
        key=key,
    )


def hammer(store: AuditStore, writer: int, count: int) -> None:
    for i in range(count):
        store.append([record(i, obj=f"writer-{writer}")])


def process_hammer(path: str, writer: int) -> None:
    """A worker process appending to the SQLite store at ``path``."""
    hammer(SqliteAuditStore(path), writer, 30)


def tick_run_sensor(sensor, instance, run, repository) -> None:
    """Evaluate a run status sensor on a finished ``run`` as the daemon would."""
    import dagster as dg

    kind = {
        dg.DagsterRunStatus.SUCCESS: dg.DagsterEventType.RUN_SUCCESS,
        dg.DagsterRunStatus.FAILURE: dg.DagsterEventType.RUN_FAILURE,
        dg.DagsterRunStatus.CANCELED: dg.DagsterEventType.RUN_CANCELED,
    }[run.status]
    record = instance.get_records_for_run(run.run_id, of_type=kind).records[0]
    sensor(
        dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=record.event_log_entry.dagster_event,
            dagster_instance=instance,
            dagster_run=run,
            repository_def=repository,
        )
    )
