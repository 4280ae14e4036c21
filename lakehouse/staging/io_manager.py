"""The staging IO manager: Spark DataFrames to Iceberg, by Spark itself where it can.

On the platform Spark has the Iceberg runtime and writes through the same catalog (the conf
``lakehouse.engine_conf`` generates), so the rows never travel through the run pod. Elsewhere,
and for any other output, it is the plain Iceberg IO manager: the DataFrame is converted with
``toArrow()`` (the converter registered in ``lakehouse.staging``) and written by pyiceberg.
Either way the write goes where ``audited_write_request`` says: the run's audit branch when the
asset's gate check runs, so the gate audits and publishes it whichever engine wrote.
Loads (pandera checks, downstream assets) are always pyiceberg's.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from lakehouse.iceberg.branches import branch_head
from lakehouse.iceberg.commits import summary_properties
from lakehouse.iceberg.write_request import REQUEST_PROPERTY, WriteRequest
from lakehouse.io_manager import IcebergIOManager, audited_write_request
from lakehouse.io_metadata import column_schema
from lakehouse.staging.resources import native_iceberg


def _is_spark_dataframe(value: Any) -> bool:
    return any(
        f"{cls.__module__}.{cls.__qualname__}" == "pyspark.sql.dataframe.DataFrame"
        for cls in type(value).__mro__
    )


def native_snapshot_properties(request: WriteRequest) -> dict[str, str]:
    """The snapshot properties Spark's commit carries: the run's, plus on an audit branch the
    request the audit re-applies (a rebase, the good rows) and tells the batch apart by."""
    properties = dict(request.snapshot_properties)
    if request.branch is not None:
        properties[REQUEST_PROPERTY] = request.to_json()
    return properties


class SparkIcebergIOManager(IcebergIOManager):
    """``IcebergIOManager`` that lets Spark write its own DataFrames natively on the platform."""

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        settings = self.settings
        if not (native_iceberg(settings) and _is_spark_dataframe(obj)):
            super().handle_output(context, obj)
            return
        from spark import iceberg_io

        request = audited_write_request(context)
        iceberg_io.write_table(
            obj,
            iceberg_io.qualified_name(settings.catalog_name, request.identifier),
            partition_column=request.partition_column,
            window=request.window,
            properties=native_snapshot_properties(request),
            branch=request.branch,
        )
        table = self.get_catalog().load_table(request.identifier)
        snapshot = (
            branch_head(table, request.branch) if request.branch else table.current_snapshot()
        )
        summary = summary_properties(snapshot) if snapshot else {}
        context.add_output_metadata(
            {
                "dagster/table_name": ".".join(table.name()),
                "dagster/column_schema": column_schema(table.schema()),
                "dagster/row_count": int(summary.get("total-records", 0)),
                "snapshot_id": snapshot.snapshot_id if snapshot else 0,
                "written_by": "spark",
                "wap/branch": request.branch or "main",
            }
        )
