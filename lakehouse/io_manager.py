"""``IcebergIOManager``: asset outputs stored as Iceberg tables named by their asset keys.

Why not dagster-iceberg: it pins pyiceberg < 0.12, whose commit retries and snapshot-id
idempotency we build on, it does not create namespaces, and it writes partitions with
pyiceberg's one-filter-per-partition split. We match the behaviours its users expect: the
asset key names the table (``raw/users`` is ``raw.users``), asset metadata ``partition_expr``
names the time column and a partition is replaced through a row filter, input metadata
``columns`` projects, ``write_mode`` picks overwrite/append/upsert, new columns are unioned by
name, and the snapshot summary carries the Dagster run id and partition key.
"""

# No `from __future__ import annotations`: Dagster reads the resource fields' annotations
# (`dg.ResourceDependency[Settings]`) as objects.

import dataclasses
import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

import dagster as dg
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.table import Table
from pyiceberg.types import DateType

from lakehouse.catalog import shared_catalog
from lakehouse.governance.audit import audit_store
from lakehouse.iceberg.arrow import to_writable, wants_pandas
from lakehouse.iceberg.branches import NoSuchBranchError, audit_branch, branch_head
from lakehouse.iceberg.reads import file_batches
from lakehouse.iceberg.write_request import WriteRequest, WriteRequestError
from lakehouse.iceberg.writes import window_filter, write
from lakehouse.io_metadata import materialization_metadata
from lakehouse.settings import Settings
from lakehouse.wap.policy import WapPolicy
from lakehouse.wap.target import GATE_KEY, AuditTarget

SNAPSHOT_PROPERTIES_KEY = "iceberg/snapshot_properties"


def table_identifier(asset_key: dg.AssetKey) -> tuple[str, ...]:
    """``raw/users`` -> ``("raw", "users")``: the last component is the table."""
    return tuple(asset_key.path)


def _raw(value: Any) -> Any:
    """Metadata arrives normalised (a dict becomes a JsonMetadataValue); unwrap it."""
    return value.value if isinstance(value, dg.MetadataValue) else value


def snapshot_properties(context: dg.OutputContext) -> dict[str, str]:
    """The asset's own properties first, then ours, so Dagster's keys cannot be spoofed."""
    given = _raw(context.output_metadata.get(SNAPSHOT_PROPERTIES_KEY)) or {}
    if not isinstance(given, Mapping) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in given.items()
    ):
        raise TypeError(f"output metadata {SNAPSHOT_PROPERTIES_KEY!r} must be a dict of str to str")
    properties = {
        **given,
        "dagster.run-id": context.run_id,
        "dagster.asset-key": context.asset_key.to_user_string(),
    }
    if context.has_asset_partitions:  # one key, or a backfill's range as "first...last"
        keys = context.asset_partition_key_range
        properties["dagster.partition-key"] = (
            keys.start if keys.start == keys.end else f"{keys.start}...{keys.end}"
        )
    return properties


def _time_window(
    context: dg.OutputContext | dg.InputContext, name: str
) -> tuple[dt.datetime, dt.datetime]:
    if not isinstance(context.asset_partitions_def, dg.TimeWindowPartitionsDefinition):
        raise WriteRequestError(
            f"{name}: only time-window partitions (daily, hourly, ...) are supported, "
            f"got {type(context.asset_partitions_def).__name__}"
        )
    window = context.asset_partitions_time_window
    return window.start, window.end


def write_request(context: dg.OutputContext) -> WriteRequest:
    """Translate the output's asset key, metadata and partitions into a write."""
    identifier = table_identifier(context.asset_key)
    metadata = context.definition_metadata or {}
    properties = snapshot_properties(context)
    window = None
    if context.has_asset_partitions:
        window = _time_window(context, ".".join(identifier))
    return WriteRequest(
        identifier=identifier,
        mode=_raw(metadata.get("write_mode")) or "overwrite",
        partition_column=_raw(metadata.get("partition_expr")),
        window=window,
        partition_label=properties.get("dagster.partition-key"),
        upsert_keys=tuple(_raw(metadata.get("upsert_keys")) or ()),
        snapshot_properties=properties,
    )


def audited_write_request(context: dg.OutputContext) -> WriteRequest:
    """The output's write, on the run's audit branch when a gate check of the asset runs in
    this run and the asset has not opted out, else on main. Every engine's write (pyiceberg
    here, Spark's own in ``lakehouse.staging.io_manager``) takes its target from this."""
    policy = WapPolicy.from_metadata(context.definition_metadata)
    branch = audit_branch(context.run_id) if policy.enabled and gate_in_run(context) else None
    return dataclasses.replace(write_request(context), branch=branch)


class IcebergIOManager(dg.ConfigurableIOManager):
    """Stores outputs (Arrow, pandas) as Iceberg tables; loads inputs as Arrow, pandas or, for
    an input annotated ``pyarrow.RecordBatchReader``, record batches read one file at a time.

    An output that is a ``pyarrow.RecordBatchReader`` is written chunk by chunk in one commit,
    so a large batch never has to be in memory at once."""

    settings: dg.ResourceDependency[Settings]

    def get_catalog(self) -> Catalog:
        return shared_catalog(self.settings)

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        """Write-audit-publish when a gate check runs for the asset in this run: the batch goes
        to the run's audit branch and the gate publishes it. Otherwise straight to main."""
        request = audited_write_request(context)
        branch = request.branch
        result = write(
            self.get_catalog(),
            to_writable(obj),
            request,
            commit_timeout_seconds=self.settings.commit_timeout_seconds,
        )
        replaced = request.window is not None and request.mode == "overwrite"
        metadata = materialization_metadata(result, partition_replaced=replaced)
        metadata["wap/branch"] = branch or "main"
        context.add_output_metadata(metadata)

    def load_input(self, context: dg.InputContext) -> Any:
        """Reads main, or the branch the input's metadata names (``branch``, to debug one).
        A gate check gets an ``AuditTarget`` instead: the run's audit branch to validate."""
        identifier = table_identifier(context.asset_key)
        try:
            table = self.get_catalog().load_table(identifier)
        except NoSuchTableError:
            raise NoSuchTableError(
                f"table {'.'.join(identifier)} does not exist yet: materialise "
                f"{context.asset_key.to_user_string()} first"
            ) from None
        row_filter: BooleanExpression = AlwaysTrue()
        upstream = context.upstream_output.definition_metadata if context.upstream_output else {}
        column = _raw((upstream or {}).get("partition_expr"))
        if context.has_asset_partitions and column:
            window = _time_window(context, ".".join(identifier))
            days = isinstance(table.schema().find_field(column).field_type, DateType)
            row_filter = window_filter(column, window, days=days)
        if context.dagster_type.typing_type is AuditTarget:
            return self._audit_target(context, table, row_filter, upstream)
        snapshot_id = None
        if branch := _raw((context.definition_metadata or {}).get("branch")):
            head = branch_head(table, branch)
            if head is None:
                raise NoSuchBranchError(f"{'.'.join(identifier)} has no branch {branch!r}")
            snapshot_id = head.snapshot_id
        columns = tuple(_raw((context.definition_metadata or {}).get("columns")) or ("*",))
        if context.dagster_type.typing_type is pa.RecordBatchReader:  # streamed, file by file
            return file_batches(table, row_filter, columns, snapshot_id)
        scan = table.scan(row_filter=row_filter, selected_fields=columns, snapshot_id=snapshot_id)
        arrow = scan.to_arrow()
        return arrow.to_pandas() if wants_pandas(context.dagster_type.typing_type) else arrow

    def _audit_target(
        self,
        context: dg.InputContext,
        table: Table,
        row_filter: BooleanExpression,
        upstream: Mapping[str, Any] | None,
    ) -> AuditTarget:
        run_id = context.step_context.run_id
        branch = audit_branch(run_id)
        return AuditTarget(
            catalog=self.get_catalog(),
            identifier=table_identifier(context.asset_key),
            branch=branch if branch_head(table, branch) is not None else None,
            run_id=run_id,
            policy=WapPolicy.from_metadata(upstream),
            row_filter=row_filter,
            commit_timeout_seconds=self.settings.commit_timeout_seconds,
            audit_trail=functools.partial(audit_store, self.settings),
        )


def gate_in_run(context: dg.OutputContext) -> bool:
    """Whether a gate check (``GATE_KEY`` in its spec) of this asset runs in this run."""
    try:
        step = context.step_context
    except Exception:  # an output context built outside a run (direct IO manager calls)
        return False
    graph = step.job_def.asset_layer.asset_graph
    selected = step.dagster_run.asset_check_selection
    for key in graph.get_check_keys_for_assets({context.asset_key}):
        if selected is not None and key not in selected:
            continue
        if _raw(graph.get_check_spec(key).metadata.get(GATE_KEY)):
            return True
    return False
