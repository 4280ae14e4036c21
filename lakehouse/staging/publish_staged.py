"""Audit and publish a staging branch another process wrote (``spark/submit.py``, outside Dagster).

The same audit as the staging gate (``lakehouse.wap.gate.build_pandera_check``): the table's
pandera contract, its ``wap/*`` policy, the window's rows, then ``main`` fast-forwarded or kept.
``spark/submit.py`` only stages (the Spark image has no lakehouse package); run this where the
package is, with the same arguments:

    lakehouse publish-staged purchases --run-id <id> --start 2024-01-01 --end 2024-01-03
"""

from __future__ import annotations

import datetime as dt

from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.types import DateType

from lakehouse.catalog import build_catalog
from lakehouse.iceberg.branches import audit_branch
from lakehouse.iceberg.writes import window_filter
from lakehouse.quality import validate_rows
from lakehouse.settings import Settings
from lakehouse.staging.schemas import SCHEMAS
from lakehouse.staging.tables import STAGING_TABLES_BY_NAME
from lakehouse.wap.audit import AuditOutcome, run_audit
from lakehouse.wap.policy import WapPolicy
from lakehouse.wap.target import AuditTarget

Window = tuple[dt.datetime, dt.datetime]


def audit_staged_branch(
    settings: Settings, table: str, run_id: str, window: Window | None = None
) -> AuditOutcome:
    """Audit staging ``table``'s branch ``audit/<run_id>`` (only ``window``'s rows) and publish
    it if its contract passes."""
    staging = STAGING_TABLES_BY_NAME[table]
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
