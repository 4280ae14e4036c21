"""Schema drift on raw ingestion: what the source's records carried against the stream's contract.

A column the contract does not declare is an allowed change: it is recorded and the table's
schema grows (Iceberg schema evolution). A declared column that no record of a sync carried is
breaking: the batch is put on hold (``lakehouse.wap.hold``), so it waits in quarantine with the
reason until the contract in ``lakehouse/raw/streams.py`` is updated and the batch replayed.
Type changes need no rule here: a value of another type is a row fault (``records.py``), and a
source that changed a column's type for every record passes the asset's bad-row threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from lakehouse.raw.streams import AIRBYTE_META_FIELDS, STREAMS_BY_NAME, RawStream
from lakehouse.wap.hold import Hold

BREAKING_DRIFT = "schema_drift_breaking"


@dataclass(frozen=True)
class Drift:
    added: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)

    def describe(self) -> str:
        parts = [f"added {', '.join(self.added)}"] if self.added else []
        parts += [f"removed {', '.join(self.removed)}"] if self.removed else []
        return "; ".join(parts) or "none"


def schema_drift(stream: RawStream, observed: pa.Schema, *, records: int) -> Drift:
    """``observed``: the columns the sync's records carried (``StreamBatch.observed``)."""
    if records == 0:
        return Drift((), ())
    meta = {f.name for f in AIRBYTE_META_FIELDS}
    declared = [f.name for f in stream.schema if f.name not in meta]
    seen = set(observed.names)
    added = tuple(sorted(seen - set(declared)))
    removed = tuple(name for name in declared if name not in seen)
    return Drift(added, removed)


def drift_hold(stream: RawStream, drift: Drift) -> Hold | None:
    """The hold a breaking change puts on the batch, or None."""
    if not drift.removed:
        return None
    return Hold(
        BREAKING_DRIFT,
        f"{stream.name}: the source stopped sending declared column(s) "
        f"{', '.join(drift.removed)}; update the contract in lakehouse/raw/streams.py, then "
        f"`lakehouse quarantine replay` the batch",
        {"stream": stream.name, "removed": list(drift.removed), "added": list(drift.added)},
    )


def drift_released(hold: Hold) -> bool:
    """A replay's ``release``: a breaking change is resolved once the stream's current contract
    no longer declares the columns the source stopped sending."""
    stream = STREAMS_BY_NAME.get(str(hold.details.get("stream")))
    if hold.rule != BREAKING_DRIFT or stream is None:
        return False
    return not set(hold.details.get("removed") or ()) & set(stream.schema.names)
