"""The whole graph at 10k, 100k and 1M purchases: time and peak memory per layer, and growth.

Each layer runs as its own job in a fresh child process on the embedded runtime, as a
scheduled run would: raw (ingest), staging (Spark local, every month partition, in single-run
backfills of at most ``LAKEHOUSE_BACKFILL_ROWS_PER_RUN`` purchases as ``lakehouse demo`` splits
them), analytics (dbt-duckdb, same runs) and ml. So a layer's time includes
its own start-up (the Spark session, dbt's parse), and its memory is the peak of the child's
whole process tree (Python, the Spark JVM, the dbt subprocess; ``bench/process_memory.py``).

``--source faker`` runs the real connector (LAKEHOUSE_FAKER_COUNT users and purchases; ~4,600
records/s here, so 1M purchases is ~8 min of extraction alone). ``--source synthetic`` (the
default) writes raw tables of the same schema, generated with numpy, through the same Iceberg
IO manager and raw contracts: its raw time is the write, not an extraction. Purchases are
spread over 2000-01-01 to today like faker's (324 month partitions, laid out by day);
``--days 365`` spreads them over the last year instead (~2,700 purchases a day at 1M). Fewer than ~120 days leaves the ml churn
training set empty (its 90-day horizon needs older purchases), and that run fails.

Growth ratios compare consecutive sizes; linear growth is the size ratio. One repetition per
size by default (``--reps`` for more, medians): at 1M a pass takes minutes, and the sizes of a
ratio are measured in the same invocation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: sibling modules

from process_memory import Measured, run_measured

from lakehouse.settings import load_settings

LAYERS = ("raw", "staging", "analytics", "ml")
MB = 1024 * 1024


def _environ(home: Path, size: int) -> dict[str, str]:
    """The process's LAKEHOUSE_* settings (none: embedded; bench/platform.py sets the loopback
    platform's), with this run's home and size."""
    inherited = {name: value for name, value in os.environ.items() if name.startswith("LAKEHOUSE_")}
    return inherited | {"LAKEHOUSE_HOME": str(home), "LAKEHOUSE_FAKER_COUNT": str(size)}


def _first_day(days: int | None) -> dt.datetime:
    """The first day with purchases: faker's 2000-01-01, or ``days`` days back to today."""
    from lakehouse.partitions import FIRST_DAY

    if days is None:
        return dt.datetime.fromisoformat(FIRST_DAY).replace(tzinfo=dt.UTC)
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - dt.timedelta(days=days - 1)


def _raw_synthetic(
    environ: dict[str, str], size: int, days: int | None
) -> tuple[bool, float, dict[str, float]]:
    """Write the raw tables through the IO manager, users and purchases streamed batch by batch
    as they are generated; the generation's time is measured apart and left out of the job's."""
    import dagster as dg
    from synthetic import build_synthetic_raw_asset, products, purchases_stream, users_stream

    from lakehouse.io_manager import IcebergIOManager
    from lakehouse.raw.checks import build_raw_checks
    from lakehouse.raw.streams import ASSET_KEYS

    now = dt.datetime.now(dt.UTC)
    generated = [0.0]

    def timed(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
        def batches() -> Iterator[pa.RecordBatch]:
            iterator = iter(reader)
            while True:
                started = time.perf_counter()
                batch = next(iterator, None)
                generated[0] += time.perf_counter() - started
                if batch is None:
                    return
                yield batch

        return pa.RecordBatchReader.from_batches(reader.schema, batches())

    batches = {
        "users": timed(users_stream(size, before=now)),
        "products": products(before=now),
        "purchases": timed(purchases_stream(size, start=_first_day(days), end=now, users=size)),
    }
    started = time.perf_counter()
    result = dg.materialize(
        [build_synthetic_raw_asset(batches), *build_raw_checks(ASSET_KEYS)],
        resources={"io_manager": IcebergIOManager(settings=load_settings(environ))},
        instance=dg.DagsterInstance.ephemeral(),
    )
    seconds = time.perf_counter() - started - generated[0]
    return result.success, seconds, {"generate_seconds": generated[0]}


def _layer_job(layer: str, environ: dict[str, str], days: int | None) -> tuple[bool, float]:
    """Run one layer's job of the real code location; staging and analytics over the months,
    in runs of at most ``backfill_rows_per_run`` raw purchases, as ``lakehouse demo`` does."""
    import dagster as dg

    from lakehouse.automation.backfills import partitioned_keys, rows_per_month, split_runs
    from lakehouse.automation.jobs import ML_JOB, RAW_INGEST_JOB
    from lakehouse.catalog import build_catalog
    from lakehouse.definitions import build_definitions
    from lakehouse.partitions import MONTHLY, month_of

    settings = load_settings(environ)
    defs = build_definitions(environ)
    runs: list[dict[str, str]] = [{}]
    if layer in ("staging", "analytics"):
        # The transforms job split in two, so each layer gets its own time and memory.
        job = dg.define_asset_job(
            f"bench_{layer}",
            selection=dg.AssetSelection.key_prefixes(layer),
            partitions_def=MONTHLY,
        )
        defs = dg.Definitions.merge(defs, dg.Definitions(jobs=[job]))
        name = job.name
        first = month_of(_first_day(days).date())
        months = [key for key in MONTHLY.get_partition_keys() if key >= first]
        sizes = rows_per_month(build_catalog(settings))
        runs = [run.tags for run in split_runs(months, sizes, settings.backfill_rows_per_run)]
    else:
        name = RAW_INGEST_JOB if layer == "raw" else ML_JOB
    job_def = defs.resolve_job_def(name)
    instance = dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    success = True
    for number, tags in enumerate(runs):
        # The unpartitioned assets (users, products, dimensions) once, in the first run.
        selection = partitioned_keys(job_def) if number > 0 else None
        result = job_def.execute_in_process(
            instance=instance, tags=tags, asset_selection=selection, raise_on_error=False
        )
        success = success and result.success
        if not success:
            break
    return success, time.perf_counter() - started


def run_layer(layer: str, home: Path, size: int, source: str, days: int | None) -> None:
    """Child process: run one layer, print one JSON line (the parent measures the rest)."""
    environ = _environ(home, size)
    os.environ.update(environ)  # the dbt subprocess and any get_settings() see the same home
    extra: dict[str, float] = {}
    if layer == "raw" and source == "synthetic":
        success, seconds, extra = _raw_synthetic(environ, size, days)
    else:
        success, seconds = _layer_job(layer, environ, days)
    print(json.dumps({"success": success, "job_seconds": seconds, **extra}))


def measure_size(
    size: int,
    source: str,
    days: int | None,
    scratch: Path,
    env: dict[str, str] | None = None,
    label: str = "",
) -> dict[str, dict[str, float]]:
    home = scratch / f"{label}home-{size}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    figures: dict[str, dict[str, float]] = {}
    for layer in LAYERS:
        command = [sys.executable, __file__, "--layer", layer, "--home", str(home)]
        command += ["--sizes", str(size), "--source", source]
        command += ["--days", str(days)] if days else []
        log = scratch / f"{label}{size}-{layer}.log"
        measured: Measured = run_measured(command, log=log, env=env)
        lines = measured.stdout.strip().splitlines()
        child = json.loads(lines[-1]) if lines else {"success": False}
        if measured.returncode != 0 or not child["success"]:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise SystemExit(f"{layer} at {size:,} failed; the end of its log:\n{tail}")
        figures[layer] = {
            "job_seconds": child["job_seconds"],
            "process_seconds": measured.seconds,
            "peak_tree_mb": measured.peak_tree_bytes / MB,
            "peak_process_mb": measured.peak_process_bytes / MB,
            **{key: value for key, value in child.items() if key.endswith("_seconds")},
        }
        print(
            f"  {label}{size:>9,} {layer:<10} job {child['job_seconds']:7.1f} s   process "
            f"{measured.seconds:7.1f} s   peak tree {measured.peak_tree_bytes / MB:6.0f} MB",
            flush=True,
        )
    return figures


def _median(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    return {
        layer: {key: statistics.median(run[layer][key] for run in runs) for key in runs[0][layer]}
        for layer in runs[0]
    }


def report(
    results: dict[int, dict[str, dict[str, float]]], source: str, days: int | None = None
) -> None:
    sizes = sorted(results)
    what = "raw = IO-manager write of numpy data" if source == "synthetic" else "raw = connector"
    span = f"the last {days} days" if days else "2000-01-01 to today"
    print(f"\nsource: {source} ({what}); purchases and partitions over {span}")
    print(
        f"{'purchases':>10} {'layer':<10} {'job s':>8} {'process s':>10} {'tree MB':>8} {'proc MB':>8}"
    )
    for size in sizes:
        for layer in LAYERS:
            row = results[size][layer]
            print(
                f"{size:>10,} {layer:<10} {row['job_seconds']:8.1f} {row['process_seconds']:10.1f} "
                f"{row['peak_tree_mb']:8.0f} {row['peak_process_mb']:8.0f}"
            )
        total = sum(results[size][layer]["job_seconds"] for layer in LAYERS)
        print(f"{size:>10,} {'total':<10} {total:8.1f}")
    for small, large in itertools.pairwise(sizes):
        print(f"\ngrowth {small:,} -> {large:,} ({large / small:g}x the purchases)")
        print(f"  {'layer':<10} {'time':>7} {'tree memory':>12} {'process memory':>15}")
        for layer in [*LAYERS, "total"]:
            if layer == "total":
                a = sum(results[small][name]["job_seconds"] for name in LAYERS)
                b = sum(results[large][name]["job_seconds"] for name in LAYERS)
                print(f"  {'total':<10} {b / a:6.2f}x")
                continue
            s, lg = results[small][layer], results[large][layer]
            print(
                f"  {layer:<10} {lg['job_seconds'] / s['job_seconds']:6.2f}x "
                f"{lg['peak_tree_mb'] / s['peak_tree_mb']:11.2f}x "
                f"{lg['peak_process_mb'] / s['peak_process_mb']:14.2f}x"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="purchase counts")
    parser.add_argument("--source", choices=("faker", "synthetic"), default="synthetic")
    parser.add_argument(
        "--days",
        type=int,
        help="synthetic: purchases over the last DAYS days, staging and analytics over those "
        "days (default: faker's range from 2000-01-01, ~9,800 daily partitions)",
    )
    parser.add_argument("--reps", type=int, default=1, help="fresh runs per size (median)")
    parser.add_argument("--layer", choices=LAYERS, help=argparse.SUPPRESS)  # child process
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    if args.days and args.source == "faker":
        parser.error("--days is for --source synthetic: faker dates purchases from 2000-01-01")
    if args.layer:
        run_layer(args.layer, args.home, sizes[0], args.source, args.days)
        return
    # Kept: each layer's log stays there for a look at a slow or failed run; homes are removed.
    scratch = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    print(f"logs in {scratch}", flush=True)
    results = {}
    for size in sizes:
        results[size] = _median(
            [measure_size(size, args.source, args.days, scratch) for _ in range(args.reps)]
        )
        shutil.rmtree(scratch / f"home-{size}")
    report(results, args.source, args.days)


if __name__ == "__main__":
    main()
