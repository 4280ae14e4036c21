"""Iceberg write speed: the IO manager's write against Parquet floors, and its cost per run.

(a) our write of a 30-day batch into a new day-partitioned table vs ``pq.write_table`` (one
file; target <= 1.25), (b) vs the fair floor, ``write_dataset`` partitioned by day with one row
group per file (target <= 1.2), (c) pyiceberg's own ``append`` vs that floor, for reference,
and (d) ``dg.materialize`` of one daily partition through our IO manager vs the in-memory one
(target <= +0.05 s), and (e) the write-audit-publish write (the same write committed to an
audit branch, then ``main`` fast-forwarded to it) vs the direct write (target <= 1.1). Variants
run interleaved; we print medians and median per-rep ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from lakehouse.catalog import build_catalog
from lakehouse.iceberg import WriteRequest, write
from lakehouse.iceberg.branches import fast_forward
from lakehouse.iceberg.schema import add_day_partition
from lakehouse.io_manager import IcebergIOManager
from lakehouse.settings import load_settings

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DAYS = 30
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # same for both sides
STATUSES = ["new", "paid", "packed", "shipped", "returned"]


def make_batch(rows: int, seed: int = 7) -> pa.Table:
    """The benchmark's data: 30 days of orders in random order."""
    rng = np.random.default_rng(seed)
    start = np.datetime64(START.replace(tzinfo=None), "us")
    offsets = rng.integers(0, DAYS * 86_400_000_000, rows).astype("timedelta64[us]")
    return pa.table(
        {
            "id": np.arange(rows, dtype=np.int64),
            "user_id": rng.integers(0, 100_000, rows, dtype=np.int64),
            "product_id": rng.integers(0, 10_000, rows, dtype=np.int64),
            "amount": rng.random(rows) * 500,
            "quantity": rng.integers(1, 10, rows, dtype=np.int32),
            "status": pa.array(np.array(STATUSES)[rng.integers(0, len(STATUSES), rows)]),
            "created_at": pa.array(start + offsets, pa.timestamp("us")),
        }
    )


class Writes:
    """The four ways to write the batch, each into a fresh location per call."""

    def __init__(self, root: Path, batch: pa.Table) -> None:
        self.root, self.batch, self.calls = root, batch, 0
        settings = load_settings({"LAKEHOUSE_HOME": str(root / "lakehouse")})
        self.catalog = build_catalog(settings)
        self.catalog.create_namespace_if_not_exists("bench")

    def _fresh(self, name: str) -> str:
        self.calls += 1
        return f"{name}_{self.calls}"

    def one_file(self) -> None:
        pq.write_table(self.batch, self.root / f"{self._fresh('one')}.parquet", compression="zstd")

    def floor(self) -> None:
        micros = pc.cast(self.batch["created_at"], pa.int64())
        day = pc.cast(pc.divide(micros, 86_400_000_000), pa.int32())
        ds.write_dataset(
            self.batch.append_column("day", day),
            self.root / self._fresh("floor"),
            format="parquet",
            partitioning=ds.partitioning(pa.schema([("day", pa.int32())])),
            file_options=ds.ParquetFileFormat().make_write_options(compression="zstd"),
            max_rows_per_group=self.batch.num_rows,
            max_rows_per_file=self.batch.num_rows,
        )

    def ours(self) -> None:
        request = WriteRequest(
            ("bench", self._fresh("ours")),
            partition_column="created_at",
            window=(START, START + dt.timedelta(days=DAYS)),
        )
        write(self.catalog, self.batch, request)

    def wap(self) -> None:
        """``ours`` through an audit branch, then published (the audit itself is the check's
        cost, paid with or without WAP)."""
        request = WriteRequest(
            ("bench", self._fresh("wap")),
            partition_column="created_at",
            window=(START, START + dt.timedelta(days=DAYS)),
            branch="audit/bench",
        )
        result = write(self.catalog, self.batch, request)
        fast_forward(result.table, "audit/bench")

    def pyiceberg(self) -> None:
        identifier = ("bench", self._fresh("pyiceberg"))
        with self.catalog.create_table_transaction(identifier, schema=self.batch.schema) as txn:
            add_day_partition(txn, "created_at")
        self.catalog.load_table(identifier).append(self.batch)


def _timed(function: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds (CPU also counts our threads; it shrugs off other processes' load)."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def _interleaved(
    variants: dict[str, Callable[[], object]], reps: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Run every variant once per rep, rotating the order so drift hits all of them alike."""
    for function in variants.values():  # warm-up: imports, caches, first-table costs
        function()
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for rep in range(reps):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            seconds, cpu_seconds = _timed(variants[name])
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
    return wall, cpu


def _ratio(times: dict[str, list[float]], top: str, bottom: str) -> float:
    return statistics.median(a / b for a, b in zip(times[top], times[bottom], strict=True))


def bench_writes(rows: int, reps: int, root: Path) -> dict[str, list[float]]:
    writes = Writes(root, make_batch(rows))
    variants = {
        "one_file": writes.one_file,
        "floor": writes.floor,
        "ours": writes.ours,
        "wap": writes.wap,
        "pyiceberg": writes.pyiceberg,
    }
    return _interleaved(variants, reps)[0]


def bench_dagster(
    partition_rows: int, reps: int, root: Path
) -> tuple[dict[str, list[float]], dict[str, list[float]], int]:
    day = START.date().isoformat()
    batch = make_batch(partition_rows * DAYS)
    one_day = batch.filter(
        pc.less(batch["created_at"], pa.scalar(START.replace(tzinfo=None) + dt.timedelta(days=1)))
    )
    partitions = dg.DailyPartitionsDefinition(start_date=day)

    @dg.asset(
        key=["bench", "orders"],
        partitions_def=partitions,
        metadata={"partition_expr": "created_at"},
    )
    def orders() -> pa.Table:
        return one_day

    iceberg = IcebergIOManager(settings=load_settings({"LAKEHOUSE_HOME": str(root / "dagster")}))
    memory = dg.InMemoryIOManager()

    def run(io_manager: dg.IOManager | dg.ConfigurableIOManager) -> None:
        result = dg.materialize(
            [orders], partition_key=day, resources={"io_manager": io_manager}, run_config=QUIET
        )
        assert result.success

    wall, cpu = _interleaved(
        {"in_memory": lambda: run(memory), "iceberg": lambda: run(iceberg)}, reps
    )
    return wall, cpu, one_day.num_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the 30-day batch")
    parser.add_argument("--reps", type=int, default=5, help="interleaved repetitions")
    parser.add_argument("--dagster-reps", type=int, default=9, help="repetitions for (d)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-write-"))
    try:
        writes = bench_writes(args.rows, args.reps, root)
        runs, runs_cpu, partition_rows = bench_dagster(args.rows // DAYS, args.dagster_reps, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    median = {name: statistics.median(values) for name, values in {**writes, **runs}.items()}
    cpu = {name: statistics.median(values) for name, values in runs_cpu.items()}
    print(
        f"\nWrite {args.rows:,} rows over {DAYS} days, zstd; medians of {args.reps} interleaved reps"
    )
    print(f"{'variant':48} {'median s':>9}  ratio (median of per-rep ratios)")
    print(f"{'pq.write_table, one file':48} {median['one_file']:9.3f}  1.00")
    print(
        f"{'write_dataset by day, 1 row group/file (floor)':48} {median['floor']:9.3f}  "
        f"{_ratio(writes, 'floor', 'one_file'):.2f} x one file"
    )
    print(
        f"{'(a) IcebergIOManager write, new table':48} {median['ours']:9.3f}  "
        f"{_ratio(writes, 'ours', 'one_file'):.2f} x one file (target <= 1.25)"
    )
    print(
        f"{'(b)   same, against the floor':48} {'':9}  "
        f"{_ratio(writes, 'ours', 'floor'):.2f} x floor (target <= 1.2)"
    )
    print(
        f"{'(c) pyiceberg append, new table':48} {median['pyiceberg']:9.3f}  "
        f"{_ratio(writes, 'pyiceberg', 'floor'):.2f} x floor (reference)"
    )
    print(
        f"{'(e) write-audit-publish (branch + fast-forward)':48} {median['wap']:9.3f}  "
        f"{_ratio(writes, 'wap', 'ours'):.2f} x direct write (target <= 1.1)"
    )
    print(
        f"\n(d) dg.materialize of one daily partition ({partition_rows:,} rows), "
        f"{args.dagster_reps} interleaved reps"
    )
    print(f"{'':48} {'wall s':>9} {'CPU s':>9}")
    for name, label in (("in_memory", "in-memory IO manager"), ("iceberg", "IcebergIOManager")):
        print(f"{label:48} {median[name]:9.3f} {cpu[name]:9.3f}")
    added = {
        kind: statistics.median(b - a for a, b in zip(t["in_memory"], t["iceberg"], strict=True))
        for kind, t in (("wall", runs), ("cpu", runs_cpu))
    }
    print(
        f"{'added per partition (median of per-rep diffs)':48} {added['wall']:+9.3f} "
        f"{added['cpu']:+9.3f}  (target <= +0.05 s)"
    )


if __name__ == "__main__":
    main()
