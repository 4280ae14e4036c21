"""Data contracts: a pandera schema run over an Arrow table, and the report it gives.

Pure (Arrow in, report out, no Dagster): the write-audit-publish gate (``lakehouse/wap/gate.py``),
the quarantine replay and the benchmarks all call it. pandera is imported only when a table is
validated: with pyspark installed it imports ``pyspark.pandas`` eagerly (~3 s), too much for
every code-location load.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pyarrow_

if TYPE_CHECKING:
    import pandas as pd
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


@dataclass(frozen=True)
class RowValidation:
    """The report plus, per row position, the (column, check) pairs that row broke; failures
    with no row (a missing column) are in ``table_level``."""

    report: QualityReport
    by_row: dict[int, list[tuple[str, str]]]
    table_level: list[Failure]


def validate_table(schema: "pa.DataFrameSchema", table: pyarrow_.Table) -> QualityReport:
    """Validate every row lazily, so one report lists every broken column and check."""
    return validate_rows(schema, table).report


# Rows validated per pandas frame: the pandas copy of a chunk (object strings) is several
# times its Arrow size, so a whole 10M-row table at once would need tens of GB.
# Rows per pandas chunk: a raw users row is ≈ 1 KB as pandas (object strings) and pandera's
# checks copy some columns, so 250k rows peak at ≈ 0.8 GB above the chunk's Arrow.
CHUNK_ROWS = 250_000
DUPLICATES_MEMORY = "1GB"


def validate_rows(
    schema: "pa.DataFrameSchema",
    table: "pyarrow_.Table | Iterable[pyarrow_.Table]",
    *,
    chunk_rows: int = CHUNK_ROWS,
) -> RowValidation:
    """``validate_table`` that also says which rows broke which rule (for the quarantine).

    A table longer than ``chunk_rows`` is validated chunk by chunk, and so are chunks given
    in order (an audit streaming a table): ``unique`` columns are checked over all the rows in
    Arrow (a chunk only sees its own duplicates), and the report is the same.
    """
    if isinstance(table, pyarrow_.Table):
        if table.num_rows <= chunk_rows:
            return _validate_frame(schema, table)
        table = [table.slice(offset, chunk_rows) for offset in range(0, table.num_rows, chunk_rows)]
    unique = [name for name, column in schema.columns.items() if column.unique]
    relaxed = schema.update_columns({name: {"unique": False} for name in unique})
    parts: list[RowValidation] = []
    keys: list[pyarrow_.Table] = []
    rows = 0
    for chunk in table:
        parts.append(_validate_frame(relaxed, chunk, rows))
        keys.append(chunk.select([name for name in unique if name in chunk.column_names]))
        rows += chunk.num_rows
    if keys:
        columns = pyarrow_.concat_tables(keys, promote_options="permissive")
        parts += [_duplicates(columns, name) for name in columns.column_names]
    return _merge(parts, rows)


def _repeated(table: pyarrow_.Table, column: str) -> pyarrow_.Array:
    """The values of ``column`` found more than once. DuckDB's grouping, in a memory limit it
    spills beyond: Arrow's own ``group_by`` over ten million e-mails took 1.7 GB at once."""
    import duckdb

    with duckdb.connect(config={"memory_limit": DUPLICATES_MEMORY, "threads": 2}) as con:
        con.register("keys", table.select([column]))
        name = '"' + column.replace('"', '""') + '"'
        query = f"SELECT {name} FROM keys GROUP BY 1 HAVING count(*) > 1"  # nulls too, as pandera
        found = con.execute(query).fetch_arrow_table()
    return found.column(0).combine_chunks().cast(table.schema.field(column).type)


def _duplicates(table: pyarrow_.Table, column: str) -> RowValidation:
    """Pandera's ``field_uniqueness`` over the whole table: every row whose value repeats."""
    import pyarrow.compute as pc

    repeated = _repeated(table, column)
    if len(repeated) == 0:
        return RowValidation(QualityReport(table.num_rows, []), {}, [])
    mask = pc.is_in(table.column(column), value_set=repeated)
    rows = pc.indices_nonzero(mask).to_pylist()
    examples = [str(value)[:40] for value in table.column(column).take(rows[:3]).to_pylist()]
    failure = Failure(column, "field_uniqueness", len(rows), examples)
    by_row = {row: [(column, "field_uniqueness")] for row in rows}
    return RowValidation(QualityReport(table.num_rows, [failure]), by_row, [])


def _merge(parts: list[RowValidation], rows: int) -> RowValidation:
    """One validation of the whole table from its chunks' (row positions already absolute)."""
    merged: dict[tuple[str, str], Failure] = {}
    for part in parts:
        for failure in part.report.failures:
            key = (failure.column, failure.check)
            if failure.check == "column_in_dataframe":  # each chunk reports the whole chunk
                merged[key] = Failure(*key, rows, failure.examples)
            elif (seen := merged.get(key)) is None:
                merged[key] = failure
            else:
                examples = (seen.examples + failure.examples)[:3]
                merged[key] = Failure(*key, seen.bad_rows + failure.bad_rows, examples)
    # pandera's order: by column and check, missing columns (no column of their own) last.
    keys = sorted(merged, key=lambda key: (key[1] == "column_in_dataframe", key))
    order = {key: position for position, key in enumerate(keys)}
    by_row: dict[int, list[tuple[str, str]]] = {}
    for part in parts:
        for row, broken in part.by_row.items():
            by_row.setdefault(row, []).extend(broken)
    by_row = {row: sorted(by_row[row], key=order.__getitem__) for row in sorted(by_row)}
    failures = [merged[key] for key in keys]
    with_rows = {pair for broken in by_row.values() for pair in broken}
    table_level = [f for f in failures if (f.column, f.check) not in with_rows]
    return RowValidation(QualityReport(rows, failures), by_row, table_level)


def _validate_frame(
    schema: "pa.DataFrameSchema", table: pyarrow_.Table, offset: int = 0
) -> RowValidation:
    """One pandas frame's validation; row positions start at ``offset``."""
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
    # Row positions, whatever the Arrow metadata says.
    frame.index = pd.RangeIndex(offset, offset + len(frame))
    try:
        schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        failures = _failures(errors, table.num_rows)
        by_row: dict[int, list[tuple[str, str]]] = {}
        table_level: list[Failure] = []
        cases = errors.failure_cases
        for failure in failures:
            rows = _rows_of(cases, failure)
            if not rows:
                table_level.append(failure)
            for row in rows:
                by_row.setdefault(row, []).append((failure.column, failure.check))
        return RowValidation(QualityReport(table.num_rows, failures), by_row, table_level)
    return RowValidation(QualityReport(rows=table.num_rows, failures=[]), {}, [])


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


def _rows_of(cases: "pd.DataFrame", failure: Failure) -> list[int]:
    """Row positions of one failure (``_failures`` already renamed table-wide checks)."""
    if failure.check == "column_in_dataframe":
        return []
    group = cases[
        (cases["column"].astype(str) == failure.column) & (cases["check"] == failure.check)
    ]
    return sorted({int(row) for row in group["index"].dropna()})
