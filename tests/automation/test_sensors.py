"""The ml sensor fires once per fct_purchases materialisation, and for nothing else."""

from __future__ import annotations

import dagster as dg
import pytest

from lakehouse.automation.jobs import ML_JOB
from lakehouse.automation.sensors import FCT_PURCHASES, build_sensors


@pytest.fixture(scope="module")
def sensor() -> dg.SensorDefinition:
    (sensor,) = build_sensors(dg.DefaultSensorStatus.STOPPED)
    return sensor


def _evaluate(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    data = sensor.evaluate_tick(context)
    return list(data.run_requests or []), data.cursor


def _report(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str | None = None) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=partition))


def test_sensor_targets_the_ml_job_and_starts_stopped(sensor):
    assert sensor.job_name == ML_JOB
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED


def test_no_run_without_a_materialisation_or_for_another_asset(sensor):
    with dg.instance_for_test() as instance:
        assert _evaluate(sensor, instance, None)[0] == []
        _report(instance, dg.AssetKey(["analytics", "daily_revenue"]))
        assert _evaluate(sensor, instance, None)[0] == []


def test_one_run_per_fct_purchases_materialisation_never_twice(sensor):
    with dg.instance_for_test() as instance:
        _report(instance, FCT_PURCHASES, partition="2024-03-01")
        (request,), cursor = _evaluate(sensor, instance, None)
        assert isinstance(request, dg.RunRequest)
        assert request.tags["lakehouse/trigger_partition"] == "2024-03-01"

        assert _evaluate(sensor, instance, cursor)[0] == []  # same event: nothing new

        _report(instance, FCT_PURCHASES, partition="2024-03-02")
        (second,), _ = _evaluate(sensor, instance, cursor)
        assert second.run_key != request.run_key
