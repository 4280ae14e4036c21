"""The daily platform schedules (UTC): ingest at 00:30, then refresh the month of the day that ended.

The transforms are partitioned by month (``lakehouse/partitions.py``): each night's run
replaces the month holding the day that just ended, so the current month is rebuilt daily
(reading only its own days' files). In the first days of a month the previous month is
refreshed too, in a run of its own: purchases of its last days updated after the month turned
(returned, paid late) still reach it.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from lakehouse.automation.jobs import daily_transforms_job, raw_ingest_job
from lakehouse.partitions import month_of

INGEST_CRON = "30 0 * * *"
TRANSFORMS_CRON = "30 2 * * *"  # after ingest has had two hours
# The previous month is refreshed on this many first days of the next.
LATE_DAYS = 3


def completed_day(scheduled: dt.datetime) -> dt.date:
    """The last whole UTC day before the tick: the day the ingest closed."""
    return scheduled.astimezone(dt.UTC).date() - dt.timedelta(days=1)


def months_to_refresh(scheduled: dt.datetime) -> list[str]:
    """The month partitions a tick rebuilds: the completed day's, then, in the first
    ``LATE_DAYS`` days of a month, the month before it (oldest first)."""
    day = completed_day(scheduled)
    months = [month_of(day)]
    if day.day < LATE_DAYS:
        months.insert(0, month_of(day.replace(day=1) - dt.timedelta(days=1)))
    return months


def build_schedules(status: dg.DefaultScheduleStatus) -> list[dg.ScheduleDefinition]:
    ingest = dg.ScheduleDefinition(
        name="raw_ingest_daily",
        job=raw_ingest_job,
        cron_schedule=INGEST_CRON,
        execution_timezone="UTC",
        default_status=status,
        description="Daily extraction of every Airbyte stream.",
    )

    @dg.schedule(
        name="daily_transforms_daily",
        job=daily_transforms_job,
        cron_schedule=TRANSFORMS_CRON,
        execution_timezone="UTC",
        default_status=status,
        description="Staging and analytics for the month of the UTC day that just ended (and "
        f"the month before, in a month's first {LATE_DAYS} days): one run per month.",
    )
    def daily_transforms(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        day = completed_day(context.scheduled_execution_time).isoformat()
        return [
            dg.RunRequest(run_key=f"{day}:{month}", partition_key=month)
            for month in months_to_refresh(context.scheduled_execution_time)
        ]

    return [ingest, daily_transforms]
