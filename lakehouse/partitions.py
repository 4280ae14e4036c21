"""The partitions every time-partitioned asset shares, defined once so their runs line up.

Monthly, not daily: source-faker draws ``created_at`` with mimesis ``Datetime().datetime()``,
whose default range is years 2000 to the current year, so the history starts 2000-01-01 and is
thin (a thousand purchases over 27 years). Dagster books one materialisation per partition and
asset even in a single-run backfill (dagster-io/dagster#18789), so daily partitions made the
first demo book ~9,800 mostly empty days per asset (8.5 of its 12 minutes); months are 324.
The Iceberg tables stay laid out by ``day(created_at)``, so a month's run plans only that
month's files, and the daily schedule refreshes the current month
(``lakehouse/automation/schedules.py``). ``end_offset=1`` adds the current month, which keeps
filling until it ends. mimesis also draws days later this year: those rows belong to no
partition until their month comes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import warnings
from collections.abc import Iterator

import dagster as dg

FIRST_DAY = "2000-01-01"

MONTHLY = dg.MonthlyPartitionsDefinition(start_date=FIRST_DAY, end_offset=1, timezone="UTC")


def month_of(day: dt.date) -> str:
    """The partition key of the month holding ``day``: ``2024-03-17`` -> ``2024-03-01``."""
    return day.replace(day=1).isoformat()


SINGLE_RUN = dg.BackfillPolicy.single_run()
"""A backfill of many months as one run: one Spark job, one dbt build, one commit per table."""


@contextlib.contextmanager
def single_run_backfills() -> Iterator[None]:
    """Silence the BetaWarning Dagster 1.13 prints for every ``backfill_policy`` argument: the
    lakehouse relies on it on purpose, and a user cannot act on the warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*`backfill_policy`.*", category=dg.BetaWarning)
        yield
