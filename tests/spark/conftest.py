"""Hand-made DataFrames for the transform tests, on the shared session (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pyarrow as pa
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StructType

Frame = Callable[[str, Sequence[tuple]], DataFrame]


@pytest.fixture
def frame(spark: SparkSession) -> Frame:
    """``frame("id bigint not null, ...", [(1, ...)])``, built through Arrow: Python tuples would
    need Spark's Python workers, whose first start costs ~20 s on 2 cores."""

    def build(ddl: str, rows: Sequence[tuple]) -> DataFrame:
        schema = StructType.fromDDL(ddl)
        assert isinstance(schema, StructType)
        records = [dict(zip(schema.names, row, strict=True)) for row in rows]
        table = pa.Table.from_pylist(records, schema=to_arrow_schema(schema))
        return spark.createDataFrame(table)

    return build
