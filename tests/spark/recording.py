"""A DataFrameWriterV2 and DataFrame stand-in that record the native write's calls.

Spark 4 has no Iceberg runtime here, so the native write is checked by what it asks Spark to do.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any


class RecordingWriter:
    """A DataFrameWriterV2 stand-in that records its calls."""

    def __init__(self, calls: list[tuple], fail_create: bool = False) -> None:
        self.calls, self.fail_create = calls, fail_create

    def option(self, key: str, value: str) -> RecordingWriter:
        self.calls.append(("option", key, value))
        return self

    def partitionedBy(self, column: Any) -> RecordingWriter:
        self.calls.append(("partitionedBy", str(column)))
        return self

    def create(self) -> None:
        if self.fail_create:
            from pyspark.errors import AnalysisException

            raise AnalysisException("[TABLE_OR_VIEW_ALREADY_EXISTS] table already exists")
        self.calls.append(("create",))

    def overwrite(self, condition: Any) -> None:
        self.calls.append(("overwrite", str(condition)))

    def overwritePartitions(self) -> None:
        self.calls.append(("overwritePartitions",))


def recording_frame(exists: bool, fail_create: bool = False) -> tuple[Any, list[tuple]]:
    """A DataFrame whose table ``exists`` or not; ``limit(n)`` records itself and returns it."""
    calls: list[tuple] = []
    catalog = SimpleNamespace(tableExists=lambda name: exists)
    session = SimpleNamespace(
        catalog=catalog, sql=lambda statement: calls.append(("sql", statement))
    )
    frame = SimpleNamespace(
        sparkSession=session,
        writeTo=lambda name: calls.append(("writeTo", name)) or RecordingWriter(calls, fail_create),
    )
    frame.limit = lambda n: calls.append(("limit", n)) or frame
    frame.sortWithinPartitions = lambda *c: calls.append(("sortWithinPartitions", *c)) or frame
    return frame, calls


def names(calls: list[tuple]) -> list[str]:
    """The calls that do something, without the writer's target and options."""
    return [
        call[0] for call in calls if call[0] not in ("writeTo", "option", "sortWithinPartitions")
    ]
