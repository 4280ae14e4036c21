"""Processes that contend for one table: appenders, and an upkeep loop compacting and expiring.

Module-level functions, so a forkserver (or spawn) child can import them.
"""

from __future__ import annotations

import datetime as dt
import time
from multiprocessing.synchronize import Event

import pyarrow as pa

from lakehouse.catalog import build_catalog
from lakehouse.iceberg import WriteRequest, write
from lakehouse.settings import load_settings
from lakehouse.upkeep.compaction.bin_packing import compact_table
from lakehouse.upkeep.rules import TableRules
from lakehouse.upkeep.snapshots.expiry import expire_table

ROWS = 10
IDENTIFIER = ("raw", "contended")
SCHEMA = pa.schema([pa.field("writer", pa.int32()), pa.field("sequence", pa.int32())])
# Compact as soon as five small files exist; expire everything but the last three snapshots.
RULES = TableRules(
    target_file_size_bytes=64 * 1024 * 1024,
    small_file_fraction=0.75,
    min_small_files=5,
    snapshot_max_age=dt.timedelta(0),
    snapshot_min_keep=3,
    orphan_safety_window=dt.timedelta(hours=72),
)


def append_many(environment: dict[str, str], writer: int, commits: int) -> list[str]:
    """``commits`` appends of ROWS rows tagged (writer, sequence); the commit ids that landed."""
    catalog = build_catalog(load_settings(environment))
    landed = []
    for sequence in range(commits):
        batch = pa.table({"writer": [writer] * ROWS, "sequence": [sequence] * ROWS}, schema=SCHEMA)
        request = WriteRequest(IDENTIFIER, mode="append")
        landed.append(write(catalog, batch, request, commit_timeout_seconds=300).commit_id)
    return landed


def upkeep_loop(environment: dict[str, str], stop: Event) -> dict[str, int]:
    """Compact and expire the table over and over until ``stop``; read it whole after each."""
    catalog = build_catalog(load_settings(environment))
    done = {"compactions": 0, "expiries": 0, "snapshots expired": 0, "files deleted": 0}
    while not stop.is_set():
        compacted = compact_table(catalog, IDENTIFIER, RULES, timeout_seconds=300)
        done["compactions"] += compacted.snapshot_id is not None
        expired = expire_table(catalog, IDENTIFIER, RULES, timeout_seconds=300)
        done["expiries"] += bool(expired.expired)
        done["snapshots expired"] += len(expired.expired)
        done["files deleted"] += len(expired.deleted_files)
        catalog.load_table(IDENTIFIER).scan().to_arrow()  # the current snapshot reads whole
        time.sleep(0.05)
    return done
