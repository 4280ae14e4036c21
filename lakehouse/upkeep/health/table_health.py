"""Table health: files, small-file ratio, snapshots, bytes, and how long since the last
compaction and backup, for the Dagster UI (observations) and Prometheus (metrics).

Without a compaction or backup in the retained history, the ages count from the oldest
retained snapshot: a lower bound, so a table never (or long ago) compacted or backed up shows
as old rather than as fresh. Engine compactions also stamp ``lakehouse.last-compaction``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from pyiceberg.table import Table
from pyiceberg.table.refs import SnapshotRefType

from lakehouse.iceberg.commits import summary_properties
from lakehouse.upkeep.backup.store import TAG_PREFIX, backup_time
from lakehouse.upkeep.compaction.bin_packing import (
    COMPACTION,
    LAST_COMPACTION_PROPERTY,
    UPKEEP_PROPERTY,
)
from lakehouse.upkeep.metrics import Sample
from lakehouse.upkeep.rules import TableRules

_MS = 1000.0


@dataclass(frozen=True)
class TableHealth:
    namespace: str
    table: str
    data_files: int
    small_files: int
    small_file_ratio: float
    snapshots: int
    bytes: int
    rows: int
    last_compaction_age_seconds: float
    last_backup_age_seconds: float

    def metadata(self) -> dict[str, float | int]:
        values = asdict(self)
        return {k: v for k, v in values.items() if k not in ("namespace", "table")}

    def samples(self) -> list[Sample]:
        labels = {"namespace": self.namespace, "table": f"{self.namespace}.{self.table}"}
        names: tuple[str, ...] = ("data_files", "small_file_ratio", "snapshots", "bytes")
        names += ("last_compaction_age_seconds", "last_backup_age_seconds")
        return [Sample(f"lakehouse_table_{n}", labels, float(getattr(self, n))) for n in names]


def _last_compaction_ms(table: Table) -> int | None:
    stamped = table.properties.get(LAST_COMPACTION_PROPERTY)
    times = [int(dt.datetime.fromisoformat(stamped).timestamp() * _MS)] if stamped else []
    for snapshot in table.metadata.snapshots:
        summary = summary_properties(snapshot)
        if summary.get(UPKEEP_PROPERTY) == COMPACTION or (
            snapshot.summary is not None and str(snapshot.summary.operation) == "replace"
        ):
            times.append(snapshot.timestamp_ms)
    return max(times, default=None)


def _last_backup_ms(table: Table) -> int | None:
    times = [
        int(backup_time(name.removeprefix(TAG_PREFIX)).timestamp() * _MS)
        for name, ref in table.metadata.refs.items()
        if ref.snapshot_ref_type == SnapshotRefType.TAG and name.startswith(TAG_PREFIX)
    ]
    return max(times, default=None)


def table_health(table: Table, rules: TableRules, now: dt.datetime) -> TableHealth:
    namespace, name = ".".join(table.name()[:-1]), table.name()[-1]
    snapshot = table.current_snapshot()
    files = [t.file for t in table.scan().plan_files()] if snapshot is not None else []
    small = sum(1 for f in files if f.file_size_in_bytes < rules.small_file_bytes)
    first_ms = min((s.timestamp_ms for s in table.metadata.snapshots), default=None)
    now_ms = now.timestamp() * _MS

    def age(last_ms: int | None) -> float:
        since = last_ms if last_ms is not None else first_ms
        return max(0.0, (now_ms - since) / _MS) if since is not None else 0.0

    return TableHealth(
        namespace=namespace,
        table=name,
        data_files=len(files),
        small_files=small,
        small_file_ratio=small / len(files) if files else 0.0,
        snapshots=len(table.metadata.snapshots),
        bytes=sum(f.file_size_in_bytes for f in files),
        rows=sum(f.record_count for f in files),
        last_compaction_age_seconds=age(_last_compaction_ms(table)),
        last_backup_age_seconds=age(_last_backup_ms(table)),
    )
