"""Compaction: what it buys a reader, and what it costs against a bare Parquet rewrite.

After 200 small appends to one table: (a) a DuckDB ``iceberg_scan`` of the whole table before
compaction vs after it (target >= 5), and (b) our compaction (plan, read through pyiceberg,
write, one validated commit) vs a bare rewrite of the same rows, ``pq.read_table`` of the same
files then ``pq.write_table`` of one zstd file (target <= 1.5). Reps interleave both sides and
alternate their order; we print medians and the median of per-rep ratios.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.catalog import build_catalog
from lakehouse.iceberg.commits import CommitPlan, commit
from lakehouse.iceberg.files import write_data_files
from lakehouse.settings import load_settings
from lakehouse.upkeep.backup.second_reader import iceberg_connection
from lakehouse.upkeep.compaction.bin_packing import compact_table
from lakehouse.upkeep.rules import rules_for

APPENDS = 200
SCAN = "SELECT count(*), sum(amount), max(status), min(created_at), sum(user_id) FROM iceberg_scan('{}')"


def batch(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "id": np.arange(seed * rows, (seed + 1) * rows, dtype=np.int64),
            "user_id": rng.integers(0, 100_000, rows, dtype=np.int64),
            "amount": rng.random(rows) * 500,
            "status": pa.array(np.array(["new", "paid", "shipped"])[rng.integers(0, 3, rows)]),
            "created_at": pa.array(
                np.datetime64("2024-01-01", "us") + rng.integers(0, 86_400_000_000, rows),
                pa.timestamp("us"),
            ),
        }
    )


def small_appends(root: Path, rows: int) -> tuple:
    """A fresh table made of APPENDS commits of one small file each (untimed setup)."""
    catalog = build_catalog(load_settings({"LAKEHOUSE_HOME": str(root)}))
    identifier = ("bench", "events")
    catalog.create_namespace_if_not_exists("bench")
    table = catalog.create_table(identifier, schema=batch(1, 0).schema)
    for seed in range(APPENDS):
        files = tuple(write_data_files(table, batch(rows, seed)))
        table, _ = commit(catalog, identifier, CommitPlan(files), timeout_seconds=60, table=table)
    return catalog, identifier


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def scan_seconds(metadata_location: str, repeats: int = 5) -> float:
    """Median of ``repeats`` scans after one untimed scan, which pays the connection's first
    query and the extension's start-up on either side alike."""
    path = metadata_location.removeprefix("file://")
    with iceberg_connection() as connection:
        connection.execute(SCAN.format(path)).fetchall()
        return statistics.median(
            timed(lambda: connection.execute(SCAN.format(path)).fetchall()) for _ in range(repeats)
        )


def one_rep(home: Path, pristine: Path, rep: int) -> dict[str, float]:
    """Reset the table to its 200 appends (a copy of the catalog and warehouse taken once:
    paths inside are absolute, so the copy goes back to the same place), then measure."""
    shutil.rmtree(home)
    shutil.copytree(pristine, home)
    catalog = build_catalog(load_settings({"LAKEHOUSE_HOME": str(home)}))
    identifier = ("bench", "events")
    table = catalog.load_table(identifier)
    files = [task.file.file_path.removeprefix("file://") for task in table.scan().plan_files()]
    assert len(files) == APPENDS
    rules = rules_for(load_settings({"LAKEHOUSE_HOME": str(home)}), identifier)
    scan_before = scan_seconds(table.metadata_location)

    def bare() -> None:
        pq.write_table(pq.read_table(files), home / "bare.parquet", compression="zstd")

    def ours() -> None:
        result = compact_table(catalog, identifier, rules)
        assert (result.files_removed, result.files_added) == (APPENDS, 1)

    sides = [("bare", bare), ("compaction", ours)]
    times = {name: timed(action) for name, action in (sides if rep % 2 else sides[::-1])}
    scan_after = scan_seconds(catalog.load_table(identifier).metadata_location)
    return {"scan_before": scan_before, "scan_after": scan_after, **times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000, help="rows per append")
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home, pristine = Path(scratch) / "home", Path(scratch) / "pristine"
        small_appends(home, args.rows)
        shutil.copytree(home, pristine)
        reps = [one_rep(home, pristine, rep) for rep in range(args.reps)]
    for number, rep in enumerate(reps):
        print(f"  rep {number}: " + "  ".join(f"{k} {v:.3f}" for k, v in rep.items()))
    median = {key: statistics.median(r[key] for r in reps) for key in reps[0]}
    scan_ratio = statistics.median(r["scan_before"] / r["scan_after"] for r in reps)
    cost_ratio = statistics.median(r["compaction"] / r["bare"] for r in reps)
    print(f"{APPENDS} appends x {args.rows} rows, {args.reps} interleaved reps (medians)")
    print(f"  DuckDB scan before compaction  {median['scan_before']:.3f} s")
    print(f"  DuckDB scan after compaction   {median['scan_after']:.3f} s")
    print(f"  compaction                     {median['compaction']:.3f} s")
    print(f"  bare Parquet rewrite           {median['bare']:.3f} s")
    print(f"scan speed-up before/after: {scan_ratio:.1f}x (target >= 5)")
    print(f"compaction / bare rewrite: {cost_ratio:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
