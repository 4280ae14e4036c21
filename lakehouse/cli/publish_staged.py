"""``lakehouse publish-staged``: audit and publish a staging table's audit branch that a
SparkApplication (``spark/submit.py``) wrote outside Dagster (``lakehouse/staging/publish_staged.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt


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
    from lakehouse.settings import get_settings
    from lakehouse.staging.publish_staged import audit_staged_branch

    window = None if args.start is None else (args.start, args.end)
    outcome = audit_staged_branch(get_settings(), args.table, args.run_id, window)
    print(f"staging.{args.table}: {'published' if outcome.published else outcome.reason}")
    return 0 if outcome.published else 1
