"""Embedded against the loopback platform, in one run (issue 12, item 6): ``python bench/platform``.

A directory with a ``__main__.py`` rather than ``bench/platform.py``: run as a script, a file of
that name would be imported as the standard library's ``platform`` by every bench script of this
directory (a directory without ``__init__.py`` is only a namespace package, found after it).

- The whole graph per layer at each size, on both runtimes: ``bench/e2e.py``'s children (one
  fresh process per layer: raw, staging, analytics, ml), once with no settings (embedded:
  SQLite catalog, local Spark, dbt-duckdb) and once with ``lakehouse platform env``'s (REST
  catalog behind Keycloak, S3, Spark Connect writing Iceberg natively, dbt-trino). The
  platform's warehouse is emptied before each of its runs. Medians of ``--reps``.
- One analytics query (``ANALYTICS_QUERY``) through ``lakehouse sql``'s engines: DuckDB over
  the embedded tables, Trino over the platform's, token fetch included (a first query), then
  warm; medians of ``--query-reps``.
- ``--platform-up``: ``make platform-down && make platform-up`` timed warm (cache kept) and
  cold: a new platform directory and an empty download cache (``LOOPBACK_CACHE_DIR`` pointed at
  a fresh temporary directory, so the real cache is left alone), after which the platform is
  started again warm for the rest of the run.

Needs the loopback platform up (``make platform-up``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: e2e and its siblings

from e2e import LAYERS, _median, measure_size

from lakehouse.catalog import build_catalog
from lakehouse.settings import REPO_ROOT, load_settings

ANALYTICS_QUERY = (
    "select date_trunc('month', purchased_at) as month, count(*) as purchases, "
    "sum(net_revenue) as revenue from analytics.fct_purchases "
    "where purchased_at is not null group by 1 order by 1"
)
RUNTIMES = ("embedded", "platform")


def runtime_settings(runtime: str) -> dict[str, str]:
    """The LAKEHOUSE_* settings of a runtime (none embedded; the loopback's with its secrets)."""
    if runtime == "embedded":
        return {}
    from lakehouse.loopback.environment import settings_environment
    from lakehouse.loopback.layout import load_layout

    settings = settings_environment(load_layout(), "rest")
    # Each layer's job runs on an ephemeral instance, as embedded.
    settings.pop("DAGSTER_HOME", None)
    return settings


def child_environment(settings: dict[str, str]) -> dict[str, str]:
    bare = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    return bare | settings


def empty_platform_warehouse(settings: dict[str, str]) -> None:
    from lakehouse.loopback.warehouse import empty_graph_tables

    empty_graph_tables(build_catalog(load_settings(settings)))


def time_query(settings: dict[str, str], home: Path, reps: int) -> dict[str, float]:
    """First query (engine start, token fetch) and the median of the next ``reps``."""
    from lakehouse.cli.sql_engines import run_query

    typed = load_settings(settings | {"LAKEHOUSE_HOME": str(home)})
    seconds = []
    for _ in range(reps + 1):
        started = time.perf_counter()
        run_query(typed, ANALYTICS_QUERY)
        seconds.append(time.perf_counter() - started)
    return {"first_seconds": seconds[0], "median_seconds": statistics.median(seconds[1:])}


def time_platform_up(cold: bool) -> float:
    """Seconds of ``make platform-up`` after ``make platform-down``; ``cold``: nothing cached."""
    subprocess.run(["make", "platform-down"], cwd=REPO_ROOT, check=True, capture_output=True)
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="bench-platform-cache-") as cache:
        if cold:
            shutil.rmtree(REPO_ROOT / ".lakehouse" / "platform", ignore_errors=True)
            env["LOOPBACK_CACHE_DIR"] = cache
        started = time.perf_counter()
        subprocess.run(["make", "platform-up"], cwd=REPO_ROOT, env=env, check=True)
        seconds = time.perf_counter() - started
        if cold:  # its services run from the temporary cache: start them again from the real one
            subprocess.run(["make", "platform-down"], cwd=REPO_ROOT, check=True)
    if cold:
        subprocess.run(["make", "platform-up"], cwd=REPO_ROOT, check=True, capture_output=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="purchase counts")
    parser.add_argument("--source", choices=("faker", "synthetic"), default="synthetic")
    parser.add_argument("--days", type=int, default=365, help="purchases over the last DAYS")
    parser.add_argument("--reps", type=int, default=1, help="fresh runs per size and runtime")
    parser.add_argument("--query-reps", type=int, default=5)
    parser.add_argument(
        "--platform-up", action="store_true", help="time make platform-up, warm and cold, first"
    )
    args = parser.parse_args()
    if args.platform_up:
        print(f"make platform-up (warm): {time_platform_up(cold=False):.1f} s", flush=True)
        print(f"make platform-up (cold): {time_platform_up(cold=True):.1f} s", flush=True)
    sizes = [int(size) for size in args.sizes.split(",") if size]
    if not sizes:
        return
    subprocess.run(
        [sys.executable, "-m", "lakehouse.analytics.prepare", "--target", "trino"],
        cwd=REPO_ROOT,
        check=True,
        env=child_environment(runtime_settings("platform")),
    )
    scratch = Path(tempfile.mkdtemp(prefix="bench-platform-"))
    print(f"logs in {scratch}", flush=True)
    layers: dict[tuple[int, str], dict[str, dict[str, float]]] = {}
    queries: dict[tuple[int, str], dict[str, float]] = {}
    for size in sizes:
        for runtime in RUNTIMES:
            settings = runtime_settings(runtime)
            runs = []
            for _ in range(args.reps):
                if runtime == "platform":
                    empty_platform_warehouse(settings)
                runs.append(
                    measure_size(
                        size,
                        args.source,
                        args.days,
                        scratch,
                        env=child_environment(settings),
                        label=f"{runtime}-",
                    )
                )
            layers[size, runtime] = _median(runs)
            home = scratch / f"{runtime}-home-{size}"
            queries[size, runtime] = time_query(settings, home, args.query_reps)
    report(layers, queries, args)


def report(
    layers: dict[tuple[int, str], dict[str, dict[str, float]]],
    queries: dict[tuple[int, str], dict[str, float]],
    args: argparse.Namespace,
) -> None:
    print(f"\nsource {args.source}, purchases over the last {args.days} days; job seconds")
    print(f"{'purchases':>10} {'layer':<10} {'embedded':>9} {'platform':>9} {'ratio':>6}")
    for size in sorted({size for size, _ in layers}):
        embedded, platform = layers[size, "embedded"], layers[size, "platform"]
        for layer in (*LAYERS, "total"):
            if layer == "total":
                e = sum(embedded[name]["job_seconds"] for name in LAYERS)
                p = sum(platform[name]["job_seconds"] for name in LAYERS)
            else:
                e, p = embedded[layer]["job_seconds"], platform[layer]["job_seconds"]
            print(f"{size:>10,} {layer:<10} {e:9.1f} {p:9.1f} {p / e:5.1f}x")
        q_e, q_p = queries[size, "embedded"], queries[size, "platform"]
        print(
            f"{size:>10,} {'query':<10} {q_e['median_seconds']:9.2f} {q_p['median_seconds']:9.2f} "
            f"{q_p['median_seconds'] / q_e['median_seconds']:5.1f}x   (first: DuckDB "
            f"{q_e['first_seconds']:.2f} s, Trino {q_p['first_seconds']:.2f} s)"
        )


if __name__ == "__main__":
    main()
