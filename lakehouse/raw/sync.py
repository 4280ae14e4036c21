"""A connector's output, once read, as one sync: each stream's batch, and proof that every
record it emitted is in one.

Apart from running the connector (``extraction``): this part is pure, so the hostile-input
tests drive it with the lines a source could send, exactly as a sync does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lakehouse.raw.batches import StreamBatch, refused_rows, stream_batch
from lakehouse.raw.protocol import EPOCH, RefusedRecord, SyncReader


class ExtractionError(RuntimeError):
    """The sync failed; the message names the streams, the connector, the cause and the log."""


@dataclass(frozen=True)
class Sync:
    """One sync: each stream's batch, the records of streams nobody asked for, and the log."""

    batches: dict[str, StreamBatch]
    unknown: list[tuple[str | None, RefusedRecord]]
    log: Path | None

    def __getitem__(self, name: str) -> StreamBatch:
        return self.batches[name]

    def items(self) -> Any:
        return self.batches.items()

    @property
    def emitted(self) -> int:
        return sum(b.records for b in self.batches.values()) + len(self.unknown)


def assemble_sync(
    reader: SyncReader,
    names: Sequence[str],
    *,
    connector: str,
    started: dt.datetime,
    log: Path | None,
    log_path: Path | str,
) -> Sync:
    """The sync ``reader`` read (fed every line, the connector exited 0); ``ExtractionError``
    when its states or counts are refused, or when a record emitted is in no batch."""
    reads = reader.finish()
    if reader.problems:
        raise ExtractionError(
            f"{connector} sync of {', '.join(names)} refused, no state stored: "
            f"{'; '.join(reader.problems)} (log: {log_path})"
        )
    fallback_ms = (started - EPOCH) // dt.timedelta(milliseconds=1)
    batches = {name: stream_batch(read, fallback_ms=fallback_ms) for name, read in reads.items()}
    if reader.unknown and names:  # a source-named table of their own would let it create tables
        first = batches[names[0]]
        foreign = refused_rows(first.stream, [r for _, r in reader.unknown], fallback_ms)
        batches[names[0]] = replace(
            first, refused=first.refused + foreign, foreign_records=len(reader.unknown)
        )
    sync = Sync(batches, reader.unknown, log)
    accounted = sum(batch.accounted for batch in batches.values())
    if accounted != sync.emitted:  # a bug of ours, never the source's: refuse to go on
        raise ExtractionError(
            f"{connector} sync of {', '.join(names)}: {sync.emitted} record(s) emitted "
            f"but {accounted} accounted for; no state stored (log: {log_path})"
        )
    return sync
