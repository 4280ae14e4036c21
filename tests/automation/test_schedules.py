"""The daily schedules: ingest everything, then transform the UTC day that just ended."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from lakehouse.automation import build_automation
from lakehouse.automation.jobs import DAILY_TRANSFORMS_JOB, RAW_INGEST_JOB
from lakehouse.automation.schedules import build_schedules, completed_day
from lakehouse.settings import Settings

TICK = dt.datetime(2024, 3, 2, 2, 30, tzinfo=dt.UTC)


def _schedules() -> dict[str, dg.ScheduleDefinition]:
    return {s.name: s for s in build_schedules(dg.DefaultScheduleStatus.STOPPED)}


def test_completed_day_is_the_utc_day_before_the_tick():
    assert completed_day(TICK) == "2024-03-01"
    late_evening_elsewhere = dt.datetime(
        2024, 3, 1, 21, 30, tzinfo=dt.timezone(-dt.timedelta(hours=5))
    )
    assert completed_day(late_evening_elsewhere) == "2024-03-01"


def test_ingest_runs_the_raw_job_daily():
    ingest = _schedules()["raw_ingest_daily"]
    assert ingest.job_name == RAW_INGEST_JOB
    assert ingest.cron_schedule == "30 0 * * *" and ingest.execution_timezone == "UTC"
    context = dg.build_schedule_context(scheduled_execution_time=TICK)
    (request,) = list(ingest.evaluate_tick(context).run_requests or [])
    assert request.partition_key is None


def test_transforms_request_the_day_that_ended():
    transforms = _schedules()["daily_transforms_daily"]
    assert transforms.job_name == DAILY_TRANSFORMS_JOB
    context = dg.build_schedule_context(scheduled_execution_time=TICK)
    request = transforms(context)  # evaluate_tick needs the repository; see test_location.py
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == "2024-03-01"
    assert request.run_key == "2024-03-01"


def test_schedules_and_sensors_run_on_the_platform_and_stop_embedded():
    embedded = build_automation(Settings())
    platform = build_automation(Settings.model_construct(runtime="platform"))
    assert {s.default_status for s in embedded.schedules} == {dg.DefaultScheduleStatus.STOPPED}
    assert {s.default_status for s in embedded.sensors} == {dg.DefaultSensorStatus.STOPPED}
    assert {s.default_status for s in platform.schedules} == {dg.DefaultScheduleStatus.RUNNING}
    assert {s.default_status for s in platform.sensors} == {dg.DefaultSensorStatus.RUNNING}
