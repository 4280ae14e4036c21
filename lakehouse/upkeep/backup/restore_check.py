"""The restore check: restore the latest backup into a scratch namespace and prove it reads back.

For each table: every backed-up file is present with its size and sha256, the restored table
has the recorded schema, row count and row checksum through pyiceberg AND through DuckDB's
``iceberg_scan`` (a second, independent reader). The catalog dump is read back too. RPO is the
backup's age, RTO the time this restore took; both are compared with the seed's targets.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from lakehouse.upkeep.backup.catalog_backup import check_catalog_dump
from lakehouse.upkeep.backup.checksums import row_checksum
from lakehouse.upkeep.backup.restore import drop_and_purge, restore_table, verify_files
from lakehouse.upkeep.backup.second_reader import scan_checksum
from lakehouse.upkeep.backup.store import Backup, TableBackup, load_backup
from lakehouse.upkeep.storage import Storage, join


class RestoreCheckFailed(RuntimeError):
    """The latest backup could not be restored as recorded, or missed its RPO/RTO."""


@dataclass
class RestoreReport:
    backup_id: str
    rpo_seconds: float
    rto_seconds: float = 0.0
    tables: dict[str, list[str]] = field(default_factory=dict)  # identifier -> problems
    problems: list[str] = field(default_factory=list)  # not tied to one table
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and not any(self.tables.values())

    def all_problems(self) -> list[str]:
        return [*self.problems, *(p for ps in self.tables.values() for p in ps)]


def scratch_identifier(namespace: str, identifier: str) -> tuple[str, str]:
    return (namespace, identifier.replace(".", "__"))


def check_restored(table: Table, backup: TableBackup) -> list[str]:
    """Schema, rows and row checksum of a restored table, read by pyiceberg then DuckDB."""
    name, problems = backup.identifier, []
    if json.loads(table.schema().model_dump_json()) != backup.schema:
        problems.append(f"{name}: restored schema differs from the backup's")
    expected = (backup.row_count, int(backup.row_checksum))
    readers = {"pyiceberg": lambda: row_checksum(table.scan().to_arrow_batch_reader())}
    if backup.snapshot_id is not None:
        readers["duckdb"] = lambda: scan_checksum(table.metadata_location, table.io.properties)
    for reader, read in readers.items():
        got = read()
        if got[0] != expected[0]:
            problems.append(f"{name}: {reader} reads {got[0]} rows, the backup holds {expected[0]}")
        elif got[1] != expected[1]:
            problems.append(f"{name}: {reader} row checksum differs from the backup's")
    return problems


def _check_catalog(storage: Storage, root: str, backup: Backup) -> list[str]:
    dump = backup.catalog
    if dump is None or dump.path is None:
        return [] if dump is not None else ["the backup holds no catalog dump"]
    with tempfile.TemporaryDirectory() as scratch:
        local = Path(scratch) / dump.path.rsplit("/", 1)[-1]
        try:
            size, sha256 = storage.download(join(root, dump.path), local)
        except FileNotFoundError:
            return [f"catalog dump missing: {dump.path}"]
        if (size, sha256) != (dump.size, dump.sha256):
            return [f"catalog dump {dump.path} does not match its size/sha256"]
        return check_catalog_dump(dump.kind, local)


def run_restore_check(
    catalog: Catalog,
    storage: Storage,
    root: str,
    *,
    namespace: str,
    rpo_limit_seconds: float,
    rto_limit_seconds: float,
    now: dt.datetime | None = None,
    backup_id: str | None = None,
) -> RestoreReport:
    """Restore and verify every table of a backup (default: the latest); never raises for a
    failed check, the report holds the problems (the caller decides how loudly to fail)."""
    started = time.monotonic()
    now = now or dt.datetime.now(dt.UTC)
    backup = load_backup(storage, root, backup_id)
    report = RestoreReport(backup.backup_id, (now - backup.created).total_seconds())
    report.problems += [f"backup incomplete: {k}: {v}" for k, v in sorted(backup.failed.items())]
    catalog.create_namespace_if_not_exists(namespace)
    restored: list[tuple[str, str]] = []
    for table_backup in backup.tables:
        problems = verify_files(storage, root, table_backup)
        if not problems:
            target = scratch_identifier(namespace, table_backup.identifier)
            try:
                result = restore_table(catalog, storage, root, table_backup, target, replace=True)
                restored.append(target)
                problems = check_restored(result.table, table_backup)
                report.rows += table_backup.row_count
            except Exception as error:  # any failure to restore is the finding itself
                problems = [f"{table_backup.identifier}: {type(error).__name__}: {error}"]
        report.tables[table_backup.identifier] = problems
    report.problems += _check_catalog(storage, root, backup)
    report.rto_seconds = time.monotonic() - started
    if report.rpo_seconds > rpo_limit_seconds:
        report.problems.append(
            f"RPO {report.rpo_seconds:.0f} s > {rpo_limit_seconds:.0f} s: the latest backup "
            f"({backup.backup_id}) is too old"
        )
    if report.rto_seconds > rto_limit_seconds:
        report.problems.append(f"RTO {report.rto_seconds:.0f} s > {rto_limit_seconds:.0f} s")
    if report.ok:  # keep failed restores for inspection; clean up the good ones
        for target in restored:
            drop_and_purge(catalog, storage, target)
    return report
