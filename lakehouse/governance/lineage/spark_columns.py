"""Column lineage of the Spark staging transforms, from what ``spark/lineage.py`` declares.

Spark plans are not traced here: the transforms run on a local session, Spark Connect or
spark-submit, and ``spark/`` imports nothing of the lakehouse; so each transform's columns'
sources are declared as data (pyspark-free, read at load), and tests hold the declaration to the
transforms, the contracts and the raw schemas.
"""

from __future__ import annotations

from lakehouse.governance.lineage.columns import ColumnLineage, ColumnSource
from spark.contracts import CONTRACTS
from spark.lineage import COLUMN_LINEAGE


def spark_column_lineage(
    raw_namespace: str = "raw", staging_namespace: str = "staging"
) -> dict[str, ColumnLineage]:
    """``staging.<table>`` -> column -> the raw columns it comes from."""
    result: dict[str, ColumnLineage] = {}
    for table, declared in COLUMN_LINEAGE.items():
        source = f"{raw_namespace}.{CONTRACTS[table].source}"
        result[f"{staging_namespace}.{table}"] = {
            column: [ColumnSource(source, sources, identity=True)]
            if isinstance(sources, str)
            else [ColumnSource(source, raw) for raw in sources]
            for column, sources in declared.items()
        }
    return result
