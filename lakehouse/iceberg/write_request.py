"""What a write is asked to do: the table, the mode, the partition window, the upsert keys.

Checked when built, so a wrong asset definition fails before any file is written; the write
itself is writes.py.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, get_args

WriteMode = Literal["overwrite", "append", "upsert"]
WRITE_MODES: tuple[str, ...] = get_args(WriteMode)
# A branch write records its request, so the audit can re-apply it on a newer main (a rebase)
# or with only the good rows, and a quarantine replay can submit rows the same way.
REQUEST_PROPERTY = "lakehouse.write-request"


class WriteRequestError(ValueError):
    """The batch or the asset's metadata do not allow the write; the message says what to fix."""


@dataclass(frozen=True)
class WriteRequest:
    """Where and how to write: the table, the mode, and for partitions the time window."""

    identifier: tuple[str, ...]
    mode: WriteMode = "overwrite"
    partition_column: str | None = None
    window: tuple[dt.datetime, dt.datetime] | None = None
    partition_label: str | None = None
    upsert_keys: tuple[str, ...] = ()
    snapshot_properties: Mapping[str, str] = field(default_factory=dict)
    branch: str | None = None  # an audit branch, started at main's head; None writes main

    def __post_init__(self) -> None:
        if len(self.identifier) < 2:
            raise WriteRequestError(
                f"table {'.'.join(self.identifier)} needs a namespace: give the asset a key "
                "prefix, e.g. key=['staging', 'orders']"
            )
        if self.mode not in WRITE_MODES:
            raise WriteRequestError(
                f"{self.name}: write_mode must be one of {', '.join(WRITE_MODES)}, "
                f"got {self.mode!r}"
            )
        if self.mode == "upsert" and not self.upsert_keys:
            raise WriteRequestError(f"{self.name}: write_mode 'upsert' needs 'upsert_keys'")
        if self.window is not None and not self.partition_column:
            raise WriteRequestError(
                f"{self.name}: a time-partitioned asset needs metadata "
                "'partition_expr' naming its time column"
            )

    @property
    def name(self) -> str:
        return ".".join(self.identifier)

    def to_json(self) -> str:
        """The request without its branch, as ``from_json`` reads it back."""
        window = [bound.isoformat() for bound in self.window] if self.window else None
        properties = {k: v for k, v in self.snapshot_properties.items() if k != REQUEST_PROPERTY}
        return json.dumps(
            {
                "identifier": list(self.identifier),
                "mode": self.mode,
                "partition_column": self.partition_column,
                "window": window,
                "partition_label": self.partition_label,
                "upsert_keys": list(self.upsert_keys),
                "snapshot_properties": properties,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str, **changes: object) -> WriteRequest:
        values = json.loads(text)
        window = values.pop("window")
        request = cls(
            identifier=tuple(values.pop("identifier")),
            upsert_keys=tuple(values.pop("upsert_keys")),
            window=tuple(dt.datetime.fromisoformat(b) for b in window) if window else None,  # type: ignore[arg-type]
            **values,
        )
        return replace(request, **changes) if changes else request  # type: ignore[arg-type]
