"""spark-submit entry point: build one staging table from the raw table, Iceberg to Iceberg.

    spark-submit spark/submit.py purchases --start 2024-01-01 --end 2024-01-03
    spark-submit spark/submit.py users --run-id <dagster run id> --stage-only

Spark reads ``<catalog>.raw.<source>`` and writes ``<catalog>.staging.<table>`` natively, so it
needs the Iceberg runtime (the platform's Spark image). The rows never go to ``main`` directly:
they are committed to the audit branch ``audit/<run id>``, then

- by default, audited against the table's pandera contract and published (``main``
  fast-forwarded) by the lakehouse's own code (``lakehouse/staging/publish_staged.py``), exactly as the
  staging gate does in a Dagster run; the exit code is 1 when the audit keeps ``main`` where it
  was. This needs the lakehouse package, so it is refused before Spark starts without it;
- with ``--stage-only`` (the Spark image, which ships this directory alone), left on the branch
  for a blocking check to audit and publish: a Dagster run passes its own run id and its
  staging gate publishes ``audit/<run id>``; otherwise run
  ``lakehouse publish-staged <table> --run-id <id> [--start .. --end ..]`` where the
  lakehouse package is (the code-location image).

The catalog conf comes from the ``LAKEHOUSE_*`` settings through ``lakehouse.engine_conf`` when
the lakehouse package is importable; the Spark image's SparkApplication carries the same
generated conf (``deploy/kustomize/overlays/*/spark-application-catalog.yaml``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import sys
import uuid
from pathlib import Path

if not __package__:
    # Run as a script (spark-submit): make the ``spark`` package importable from its parent.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyspark.sql import SparkSession

from spark import branches, iceberg_io
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
    parser.add_argument(
        "--run-id",
        default=f"spark-submit-{uuid.uuid4()}",
        help="the rows go to the audit branch audit/<RUN_ID> (default: a new id)",
    )
    parser.add_argument(
        "--stage-only",
        action="store_true",
        help="stop after writing the audit branch: the caller's blocking check publishes it",
    )
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
    branch: str | None = None,
) -> str:
    """Read the raw table (only the window), transform, replace the same rows of staging on
    ``branch`` (recording the write for the audit) or on main; return the staging table name."""
    contract = CONTRACTS[table]
    source = iceberg_io.qualified_name(catalog, (RAW_NAMESPACE, contract.source))
    identifier = (STAGING_NAMESPACE, contract.table)
    target = iceberg_io.qualified_name(catalog, identifier)
    raw = iceberg_io.read_table(spark, source, time_column=contract.partition_column, window=window)
    properties = {"lakehouse.job": f"spark/submit.py {table}"}
    if branch is not None:
        properties[branches.REQUEST_PROPERTY] = branches.write_request_json(
            identifier,
            partition_column=contract.partition_column,
            window=window,
            properties=properties,
        )
    iceberg_io.write_table(
        TRANSFORMS[table](raw),
        target,
        partition_column=contract.partition_column,
        window=window,
        properties=properties,
        branch=branch,
    )
    return target


def can_publish() -> bool:
    """Whether the lakehouse package (contracts, pyiceberg publish) is importable here."""
    return importlib.util.find_spec("lakehouse") is not None


def publish(table: str, run_id: str, window: iceberg_io.Window | None) -> tuple[bool, str]:
    """Audit the run's branch and publish it, by the lakehouse's code: (published, why)."""
    from lakehouse.staging.publish_staged import audit_staged_branch

    outcome = audit_staged_branch(table, run_id, window)
    return outcome.published, outcome.reason


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.stage_only and not can_publish():
        print(
            "error: auditing and publishing need the lakehouse package; pass --stage-only to "
            "leave the rows on the audit branch for a blocking check to publish",
            file=sys.stderr,
        )
        return 2
    conf = catalog_conf()
    builder = SparkSession.builder.appName(f"lakehouse-staging-{args.table}")
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    catalog = args.catalog or _catalog_name(conf)
    window = None if args.start is None else (args.start, args.end)
    branch = branches.audit_branch(args.run_id)
    target = run(spark, args.table, catalog=catalog, window=window, branch=branch)
    spark.stop()
    if args.stage_only:
        print(
            f"{target}: staged on branch {branch}; main unchanged until it is audited and "
            f"published (lakehouse publish-staged {args.table} --run-id {args.run_id})"
        )
        return 0
    published, why = publish(args.table, args.run_id, window)
    print(f"{target}: {'published' if published else 'main unchanged'}: {why}")
    return 0 if published else 1


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
