"""Arrow into and out of a local Spark session through Parquet files, batch by batch.

``createDataFrame(arrow)`` and ``toArrow()`` hold the whole batch in the driver's heap (and
``toArrow`` a second copy in Python): a 3M-row month range failed with the default 1 GB
driver. Through a Parquet file Spark reads and writes lazily, in its own bounded tasks, and
pyarrow reads the result back one record batch at a time for the IO manager's streamed write.
A Spark Connect session (its own machine, its own files) keeps the in-memory path.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

# Spark's own keys in the schema metadata of the files it writes (its schema, its version).
_SPARK_METADATA = b"org.apache.spark."


def is_local(spark_or_df: Any) -> bool:
    """Whether the session (or a DataFrame's) is a classic one, in this process's JVM."""
    return not type(spark_or_df).__module__.startswith("pyspark.sql.connect")


def spill_to_spark(spark: Any, reader: pa.RecordBatchReader, directory: Path) -> Any:
    """A Spark DataFrame of ``reader``'s rows, written to a Parquet file under ``directory``
    one batch at a time; the file must outlive the DataFrame (the caller removes it)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{uuid.uuid4().hex}.parquet"
    with pq.ParquetWriter(path, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
    df = spark.read.parquet(str(path))
    required = {field.name for field in reader.schema if not field.nullable}
    if not required:
        return df
    # Spark reads every Parquet column as nullable, and no DataFrame operation makes one
    # non-nullable again; the JVM's createDataFrame(rows, schema) does, without the rows
    # leaving the JVM. The transforms carry it to the staging tables' required columns.
    from pyspark.sql import DataFrame
    from pyspark.sql.types import StructField, StructType

    schema = StructType(
        [
            StructField(f.name, f.dataType, f.nullable and f.name not in required, f.metadata)
            for f in df.schema.fields
        ]
    )
    session = spark._jsparkSession
    rows = session.createDataFrame(df._jdf.javaRDD(), session.parseDataType(schema.json()))
    return DataFrame(rows, spark)


def spark_to_arrow(df: Any) -> pa.Table | pa.RecordBatchReader:
    """The DataFrame's rows for the Iceberg IO manager, with column comments as Arrow ``doc``
    metadata (Iceberg column docs): streamed through Parquet from a local session, else
    ``toArrow()``."""
    spark_fields = {field.name: field for field in df.schema.fields}
    if not is_local(df):
        table = df.toArrow()
        schema = _documented(table.schema, spark_fields)
        return pa.Table.from_batches(table.to_batches(), schema=schema)
    directory = Path(tempfile.mkdtemp(prefix="lakehouse-spark-out-"))
    try:
        df.write.mode("overwrite").parquet(str(directory / "rows"))
        dataset = ds.dataset(directory / "rows", format="parquet")
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    schema = _documented(dataset.schema, spark_fields)
    return pa.RecordBatchReader.from_batches(schema, _batches(dataset, schema, directory))


def _batches(dataset: ds.Dataset, schema: pa.Schema, directory: Path) -> Iterator[pa.RecordBatch]:
    """The dataset's batches as ``schema``; the files are removed once read (or abandoned)."""
    try:
        for batch in dataset.to_batches():
            yield pa.RecordBatch.from_arrays(batch.columns, schema=schema)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _documented(schema: pa.Schema, spark_fields: dict[str, Any]) -> pa.Schema:
    """Spark's column comments as ``doc`` and its nullability (its Parquet files mark every
    column optional)."""
    fields = []
    for field in schema:
        spark_field = spark_fields.get(field.name)
        comment = spark_field.metadata.get("comment") if spark_field else None
        field = (
            field.with_metadata({b"doc": comment.encode()}) if comment else field.remove_metadata()
        )
        fields.append(field.with_nullable(spark_field.nullable) if spark_field else field)
    metadata = {
        k: v for k, v in (schema.metadata or {}).items() if not k.startswith(_SPARK_METADATA)
    }
    return pa.schema(fields, metadata=metadata or None)
