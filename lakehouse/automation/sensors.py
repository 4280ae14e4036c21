"""Event-driven runs: the ml layer rebuilds when the purchases fact table lands."""

from __future__ import annotations

import dagster as dg

from lakehouse.automation.jobs import ml_job

FCT_PURCHASES = dg.AssetKey(["analytics", "fct_purchases"])


def build_sensors(status: dg.DefaultSensorStatus) -> list[dg.SensorDefinition]:
    @dg.asset_sensor(
        asset_key=FCT_PURCHASES,
        job=ml_job,
        name="ml_on_fct_purchases",
        default_status=status,
        minimum_interval_seconds=300,
        description="Runs ml_job once per materialisation of analytics/fct_purchases.",
    )
    def ml_on_fct_purchases(
        context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry
    ) -> dg.RunRequest:
        # The cursor skips seen events; a run key naming the event also dedupes a cursor reset.
        partition = (
            asset_event.dagster_event.partition if asset_event.dagster_event is not None else None
        )
        return dg.RunRequest(
            run_key=f"fct_purchases:{asset_event.run_id or 'runless'}:{asset_event.timestamp}",
            tags={"lakehouse/trigger": "analytics/fct_purchases"}
            | ({"lakehouse/trigger_partition": partition} if partition else {}),
        )

    return [ml_on_fct_purchases]
