"""The daily schedules: ingest everything, then refresh the month of the UTC day that ended."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from lakehouse.automation import build_automation
from lakehouse.automation.jobs import DAILY_TRANSFORMS_JOB, RAW_INGEST_JOB
from lakehouse.automation.schedules import build_schedules, completed_day, months_to_refresh
from lakehouse.settings import Settings

TICK = dt.datetime(2024, 3, 2, 2, 30, tzinfo=dt.UTC)


def _schedules() -> dict[str, dg.ScheduleDefinition]:
    return {s.name: s for s in build_schedules(dg.DefaultScheduleStatus.STOPPED)}


def test_completed_day_is_the_utc_day_before_the_tick():
    assert completed_day(TICK) == dt.date(2024, 3, 1)
    late_evening_elsewhere = dt.datetime(
        2024, 3, 1, 21, 30, tzinfo=dt.timezone(-dt.timedelta(hours=5))
    )
    assert completed_day(late_evening_elsewhere) == dt.date(2024, 3, 1)


def test_ingest_runs_the_raw_job_daily():
    ingest = _schedules()["raw_ingest_daily"]
    assert ingest.job_name == RAW_INGEST_JOB
    assert ingest.cron_schedule == "30 0 * * *" and ingest.execution_timezone == "UTC"
    context = dg.build_schedule_context(scheduled_execution_time=TICK)
    (request,) = list(ingest.evaluate_tick(context).run_requests or [])
    assert request.partition_key is None


def _at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T02:30:00+00:00")


def test_a_month_is_refreshed_every_night_and_the_previous_one_in_its_first_days():
    assert months_to_refresh(_at("2024-03-17")) == ["2024-03-01"]
    assert months_to_refresh(_at("2024-03-01")) == ["2024-02-01"]  # the 29th ended: February
    assert months_to_refresh(_at("2024-03-02")) == ["2024-02-01", "2024-03-01"]
    assert months_to_refresh(_at("2024-03-03")) == ["2024-02-01", "2024-03-01"]
    assert months_to_refresh(_at("2024-03-04")) == ["2024-03-01"]
    assert months_to_refresh(_at("2025-01-02")) == ["2024-12-01", "2025-01-01"]  # across a year


def test_transforms_request_one_run_per_month_to_refresh():
    transforms = _schedules()["daily_transforms_daily"]
    assert transforms.job_name == DAILY_TRANSFORMS_JOB
    context = dg.build_schedule_context(scheduled_execution_time=TICK)  # 2024-03-02
    requests = transforms(context)  # evaluate_tick needs the repository; see test_location.py
    assert [(r.partition_key, r.run_key) for r in requests] == [
        ("2024-02-01", "2024-03-01:2024-02-01"),
        ("2024-03-01", "2024-03-01:2024-03-01"),
    ]


def test_schedules_and_sensors_run_on_the_platform_and_stop_embedded():
    embedded = build_automation(Settings())
    platform = build_automation(Settings.model_construct(runtime="platform"))
    assert {s.default_status for s in embedded.schedules} == {dg.DefaultScheduleStatus.STOPPED}
    assert {s.default_status for s in embedded.sensors} == {dg.DefaultSensorStatus.STOPPED}
    assert {s.default_status for s in platform.schedules} == {dg.DefaultScheduleStatus.RUNNING}
    assert {s.default_status for s in platform.sensors} == {dg.DefaultSensorStatus.RUNNING}
