"""Compaction delegated to Trino or Spark: the statements, checked as SQL, and their issuing."""

from __future__ import annotations

import sqlglot
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import BucketTransform, DayTransform, IdentityTransform
from pyiceberg.types import DateType, LongType, NestedField, StringType, TimestamptzType
from upkeep_tables import events

from lakehouse.settings import load_settings
from lakehouse.upkeep.compaction.bin_packing import LAST_COMPACTION_PROPERTY, CompactionGroup
from lakehouse.upkeep.compaction.engines import compact_with_engine, compaction_statements
from lakehouse.upkeep.rules import rules_for

SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=True),
    NestedField(2, "country", StringType()),
    NestedField(3, "created_at", TimestamptzType()),
    NestedField(4, "day", DateType()),
)
SPEC = PartitionSpec(
    PartitionField(2, 1000, IdentityTransform(), "country"),
    PartitionField(3, 1001, DayTransform(), "created_at_day"),
)
RULES = rules_for(load_settings({}), ("raw", "events"))


def group(*partition) -> CompactionGroup:
    return CompactionGroup(partition, 0, ())


def test_trino_optimizes_each_partition_with_a_where_clause():
    (sql,) = compaction_statements(
        "trino", "lakehouse", ("raw", "events"), SPEC, SCHEMA, [group("FR", 19723)], RULES
    )
    assert sql == (
        'ALTER TABLE "lakehouse"."raw"."events" EXECUTE '
        "optimize(file_size_threshold => '100663296B') WHERE \"country\" = 'FR' AND "
        "\"created_at\" >= TIMESTAMP '2024-01-01 00:00:00 UTC' AND "
        "\"created_at\" < TIMESTAMP '2024-01-02 00:00:00 UTC'"
    )
    where = sql.split(" WHERE ", 1)[1]
    parsed = sqlglot.parse_one(f"SELECT 1 FROM t WHERE {where}", read="trino")
    assert parsed.find(sqlglot.exp.Where) is not None


def test_spark_calls_rewrite_data_files_with_the_rules_options():
    (sql,) = compaction_statements(
        "spark", "lakehouse", ("raw", "events"), SPEC, SCHEMA, [group("O'Hara", 19723)], RULES
    )
    assert sql.startswith(
        "CALL `lakehouse`.system.rewrite_data_files(table => 'raw.events', strategy => 'binpack', "
    )
    assert "where => \"`country` = 'O''Hara' AND `created_at` >= TIMESTAMP" in sql
    assert "'target-file-size-bytes', '134217728'" in sql
    assert "'min-input-files', '5'" in sql
    where = sql.split('where => "', 1)[1].split('", options', 1)[0]
    sqlglot.parse_one(f"SELECT 1 FROM t WHERE {where}", read="spark")


def test_inexpressible_partitions_fall_back_to_one_whole_table_statement():
    spec = PartitionSpec(PartitionField(1, 1000, BucketTransform(8), "id_bucket"))
    statements = compaction_statements(
        "trino", "lakehouse", ("raw", "events"), spec, SCHEMA, [group(1), group(2)], RULES
    )
    assert statements == [
        'ALTER TABLE "lakehouse"."raw"."events" EXECUTE '
        "optimize(file_size_threshold => '100663296B')"
    ]
    assert compaction_statements("trino", "c", ("a", "b"), spec, SCHEMA, [], RULES) == []


def test_the_engine_client_receives_the_planned_statements(catalog, append, tmp_path):
    for batch in range(5):
        append(events(batch * 10, 10, day=0), partition_column="created_at")
    settings = load_settings(
        {"LAKEHOUSE_HOME": str(tmp_path), "LAKEHOUSE_UPKEEP_COMPACTION_ENGINE": "trino"}
    )
    sent: list[str] = []

    class Recorder:
        def execute(self, sql: str) -> None:
            sent.append(sql)

    rules = rules_for(settings, ("raw", "events"))
    statements = compact_with_engine(catalog, ("raw", "events"), rules, settings, Recorder())
    assert sent == statements and len(sent) == 1
    assert "\"created_at\" >= TIMESTAMP '2024-01-01 00:00:00 UTC'" in sent[0]
    assert LAST_COMPACTION_PROPERTY in catalog.load_table(("raw", "events")).properties
