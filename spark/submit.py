"""spark-submit entry point: build one staging table from the raw table, Iceberg to Iceberg.

    spark-submit spark/submit.py purchases --start 2024-01-01 --end 2024-01-03
    spark-submit spark/submit.py users

Spark reads ``<catalog>.raw.<source>`` and writes ``<catalog>.staging.<table>`` natively, so it
needs the Iceberg runtime (the platform's Spark image). The catalog conf comes from the
``LAKEHOUSE_*`` settings through ``lakehouse.engine_conf`` when the lakehouse package is
importable; the Spark image ships only this directory, and its SparkApplication carries the
same generated conf (``deploy/kustomize/overlays/*/spark-application-catalog.yaml``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

if not __package__:
    # Run as a script (spark-submit): make the ``spark`` package importable from its parent.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyspark.sql import SparkSession

from spark import iceberg_io
from spark.contracts import CONTRACTS
from spark.transforms import TRANSFORMS

RAW_NAMESPACE = "raw"
STAGING_NAMESPACE = "staging"
DEFAULT_CATALOG = "lakehouse"


def _instant(value: str) -> dt.datetime:
    """An ISO date or datetime; naive means UTC, like Dagster's partition windows."""
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", choices=sorted(TRANSFORMS), help="staging table to build")
    parser.add_argument("--start", type=_instant, help="window start (inclusive), partitioned only")
    parser.add_argument("--end", type=_instant, help="window end (exclusive), partitioned only")
    parser.add_argument("--catalog", help="Spark catalog name (default: the settings' name)")
    args = parser.parse_args(argv)
    if (args.start is None) != (args.end is None):
        parser.error("--start and --end go together")
    if args.start is not None:
        if CONTRACTS[args.table].partition_column is None:
            parser.error(f"{args.table} is not partitioned: it is always rebuilt whole")
        if args.start >= args.end:
            parser.error("--start must be before --end")
    return args


def catalog_conf() -> dict[str, str]:
    """The generated Iceberg catalog conf, or nothing where the lakehouse package is absent."""
    try:
        from lakehouse.engine_conf import spark_catalog_conf
        from lakehouse.settings import load_settings
    except ImportError:  # the Spark image: the SparkApplication's sparkConf holds the same conf
        return {}
    return spark_catalog_conf(load_settings())


def run(
    spark: SparkSession,
    table: str,
    *,
    catalog: str = DEFAULT_CATALOG,
    window: iceberg_io.Window | None = None,
) -> None:
    """Read the raw table (only the window), transform, replace the same rows of staging."""
    contract = CONTRACTS[table]
    source = iceberg_io.qualified_name(catalog, (RAW_NAMESPACE, contract.source))
    target = iceberg_io.qualified_name(catalog, (STAGING_NAMESPACE, contract.table))
    raw = iceberg_io.read_table(spark, source, time_column=contract.partition_column, window=window)
    iceberg_io.write_table(
        TRANSFORMS[table](raw),
        target,
        partition_column=contract.partition_column,
        window=window,
        properties={"lakehouse.job": f"spark/submit.py {table}"},
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    conf = catalog_conf()
    builder = SparkSession.builder.appName(f"lakehouse-staging-{args.table}")
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    catalog = args.catalog or _catalog_name(conf)
    window = None if args.start is None else (args.start, args.end)
    run(spark, args.table, catalog=catalog, window=window)
    spark.stop()
    return 0


def _catalog_name(conf: dict[str, str]) -> str:
    """The catalog the conf registers (``spark.sql.catalog.<name>``), else the default."""
    names = [
        key.split(".")[3]
        for key in conf
        if key.count(".") == 3 and key.startswith("spark.sql.catalog.")
    ]
    return names[0] if names else DEFAULT_CATALOG


if __name__ == "__main__":
    raise SystemExit(main())
