"""The daily platform schedules (UTC): ingest at 00:30, then transform the day that ended."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from lakehouse.automation.jobs import daily_transforms_job, raw_ingest_job

INGEST_CRON = "30 0 * * *"
TRANSFORMS_CRON = "30 2 * * *"  # after ingest has had two hours


def completed_day(scheduled: dt.datetime) -> str:
    """The partition of the last whole UTC day before the tick: the day the ingest closed."""
    return (scheduled.astimezone(dt.UTC).date() - dt.timedelta(days=1)).isoformat()


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
        description="Staging and analytics for the UTC day that just ended.",
    )
    def daily_transforms(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        day = completed_day(context.scheduled_execution_time)
        return dg.RunRequest(run_key=day, partition_key=day)

    return [ingest, daily_transforms]
