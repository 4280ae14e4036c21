"""Audit and publish a staging branch another process wrote: ``spark/submit.py`` outside Dagster.

The same audit as the staging gate (``lakehouse.quality.build_pandera_check``): the table's
pandera contract, its ``wap/*`` policy, the window's rows, then ``main`` fast-forwarded or kept.
``spark/submit.py`` calls it after its write; after a ``--stage-only`` SparkApplication (the
Spark image has no lakehouse package) run it where the package is, with the same arguments:

    lakehouse publish-staged purchases --run-id <id> --start 2024-01-01 --end 2024-01-03

(or ``python -m lakehouse.wap.staged`` with the same arguments).
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping, Sequence

from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.types import DateType

from lakehouse.wap.audit import AuditOutcome, run_audit
from lakehouse.wap.policy import WapPolicy
from lakehouse.wap.target import AuditTarget

Window = tuple[dt.datetime, dt.datetime]


def audit_staged_branch(
    table: str,
    run_id: str,
    window: Window | None = None,
    environ: Mapping[str, str] | None = None,
) -> AuditOutcome:
    """Audit staging ``table``'s branch ``audit/<run_id>`` (only ``window``'s rows) and publish
    it if its contract passes. ``environ`` replaces the process settings (tests)."""
    # Imported here: the staging layer's modules are only needed when a command runs.
    from lakehouse.catalog import build_catalog
    from lakehouse.iceberg.branches import audit_branch
    from lakehouse.iceberg.writes import window_filter
    from lakehouse.quality import validate_rows
    from lakehouse.settings import settings_for
    from lakehouse.staging.schemas import SCHEMAS
    from lakehouse.staging.tables import STAGING_TABLES_BY_NAME

    staging = STAGING_TABLES_BY_NAME[table]
    settings = settings_for(environ or {})
    catalog = build_catalog(settings)
    row_filter: BooleanExpression = AlwaysTrue()
    column = staging.contract.partition_column
    if window is not None and column is not None:
        field = catalog.load_table(staging.identifier).schema().find_field(column)
        row_filter = window_filter(column, window, days=isinstance(field.field_type, DateType))
    target = AuditTarget(
        catalog=catalog,
        identifier=staging.identifier,
        branch=audit_branch(run_id),
        run_id=run_id,
        policy=WapPolicy.from_metadata(staging.metadata()),
        row_filter=row_filter,
        commit_timeout_seconds=settings.commit_timeout_seconds,
    )
    schema = SCHEMAS[table]
    return run_audit(target, lambda rows: validate_rows(schema, rows))


def _instant(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


COMMAND = "publish-staged"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table", help="staging table, e.g. purchases")
    parser.add_argument("--run-id", required=True, help="the branch is audit/<RUN_ID>")
    parser.add_argument("--start", type=_instant, help="window start (inclusive)")
    parser.add_argument("--end", type=_instant, help="window end (exclusive)")


def run(args: argparse.Namespace) -> int:
    """Exit 0 when the branch was published, 1 when the audit kept main where it was, 2 for
    a window given by one bound only."""
    if (args.start is None) != (args.end is None):
        print("error: --start and --end go together")
        return 2
    window = None if args.start is None else (args.start, args.end)
    outcome = audit_staged_branch(args.table, args.run_id, window)
    print(f"staging.{args.table}: {'published' if outcome.published else outcome.reason}")
    return 0 if outcome.published else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="audit a staged staging branch and publish it")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
