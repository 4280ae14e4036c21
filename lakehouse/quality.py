"""pandera as blocking Dagster asset checks: a failed contract stops everything downstream.

``validate_table`` is pure (Arrow in, report out) so it is tested without Dagster; the
check factory is the thin wrapper the layers use. pandera is imported only when a check runs:
with pyspark installed it imports ``pyspark.pandas`` eagerly (~3 s), too much for every
code-location load.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import dagster as dg
import pyarrow as pyarrow_

if TYPE_CHECKING:
    import pandera.errors
    import pandera.pandas as pa


@dataclass(frozen=True)
class Failure:
    """One failed rule: which column, which check, how many rows broke it."""

    column: str
    check: str
    bad_rows: int
    examples: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class QualityReport:
    rows: int
    failures: list[Failure]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def bad_rows(self) -> int:
        return sum(failure.bad_rows for failure in self.failures)

    def summary(self) -> str:
        if self.passed:
            return f"all {self.rows} rows pass"
        parts = [f"{f.column}: {f.check} failed on {f.bad_rows} row(s)" for f in self.failures]
        return "; ".join(parts)

    def markdown(self) -> str:
        lines = ["| column | check | bad rows | examples |", "|---|---|---|---|"]
        lines += [
            f"| {f.column} | {f.check} | {f.bad_rows} | {', '.join(f.examples)} |"
            for f in self.failures
        ]
        return "\n".join(lines)


def validate_table(schema: "pa.DataFrameSchema", table: pyarrow_.Table) -> QualityReport:
    """Validate every row lazily, so one report lists every broken column and check."""
    import pandas as pd
    import pandera.errors

    # Nullable pandas dtypes keep an int column with nulls an int column (not float NaN).
    nullable = {
        pyarrow_.int8(): pd.Int8Dtype(),
        pyarrow_.int16(): pd.Int16Dtype(),
        pyarrow_.int32(): pd.Int32Dtype(),
        pyarrow_.int64(): pd.Int64Dtype(),
        pyarrow_.bool_(): pd.BooleanDtype(),
    }
    frame = table.to_pandas(types_mapper=nullable.get)
    try:
        schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        return QualityReport(rows=table.num_rows, failures=_failures(errors, table.num_rows))
    return QualityReport(rows=table.num_rows, failures=[])


def _failures(errors: "pandera.errors.SchemaErrors", table_rows: int) -> list[Failure]:
    cases = errors.failure_cases
    failures = []
    # A table-wide check reports every column of each bad row: count it once per row.
    wide = (cases["schema_context"] == "DataFrameSchema") & (
        cases["check"] != "column_in_dataframe"
    )
    cases.loc[wide, "column"] = "<row>"
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=True):
        if check == "column_in_dataframe":  # the missing column is the failure case itself
            failures += [
                Failure(str(case), "column_in_dataframe", table_rows)
                for case in group["failure_case"]
            ]
            continue
        rows = group["index"].dropna()
        # Column-level failures (a wrong dtype) have no row index: count their cases.
        bad = int(rows.nunique()) if len(rows) else len(group)
        examples = [str(value)[:40] for value in group["failure_case"].head(3)]
        failures.append(
            Failure(column=str(column), check=str(check), bad_rows=bad, examples=examples)
        )
    return failures


def report_metadata(report: QualityReport) -> dict[str, dg.MetadataValue]:
    metadata: dict[str, dg.MetadataValue] = {
        "rows_checked": dg.MetadataValue.int(report.rows),
        "bad_rows": dg.MetadataValue.int(report.bad_rows),
        "summary": dg.MetadataValue.text(report.summary()),
    }
    if not report.passed:
        metadata["failures"] = dg.MetadataValue.md(report.markdown())
    return metadata


def build_pandera_check(
    asset_key: dg.AssetKey,
    schema: "Callable[[], pa.DataFrameSchema]",
    *,
    description: str,
    name: str = "pandera_contract",
) -> dg.AssetChecksDefinition:
    """A blocking check that loads the asset's table and validates it against ``schema()``."""

    @dg.asset_check(
        asset=asset_key,
        name=name,
        blocking=True,
        description=description,
    )
    def _check(
        context: dg.AssetCheckExecutionContext, table: pyarrow_.Table
    ) -> dg.AssetCheckResult:
        report = validate_table(schema(), table)
        if not report.passed:
            context.log.error(f"{asset_key.to_user_string()}: {report.summary()}")
        return dg.AssetCheckResult(
            passed=report.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=report_metadata(report),
            description=report.summary(),
        )

    return _check
