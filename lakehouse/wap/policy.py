"""What an audit does with bad rows: the asset's policy, and the pure decision it leads to.

Per asset, in its definition metadata: ``wap/enabled`` (default true) opts out of
write-audit-publish; ``wap/on_bad_rows`` is ``all_or_nothing`` (default: one bad row keeps the
whole batch off ``main``) or ``publish_good_rows`` (the good rows are published when at most
``wap/max_bad_fraction`` of the batch is bad). Either way no row is lost: a row that does not
reach ``main`` goes to the quarantine table with its reasons. ``wap/volatile_columns`` names
columns that differ each time the same record is written (an extraction id or time): the
quarantine's fingerprint leaves them out, so a record refused again is not quarantined twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import dagster as dg

OnBadRows = Literal["all_or_nothing", "publish_good_rows"]
ENABLED_KEY = "wap/enabled"
ON_BAD_ROWS_KEY = "wap/on_bad_rows"
MAX_BAD_FRACTION_KEY = "wap/max_bad_fraction"
VOLATILE_COLUMNS_KEY = "wap/volatile_columns"
BATCH_REJECTED = "batch_rejected"  # the rule recorded for a good row of a rejected batch
# A row kept for the record, not for a fault: a newer version of its key was published. A
# replay never re-submits it (it would overwrite the newer version).
SUPERSEDED = "superseded_duplicate"
BATCH = "<batch>"  # the column recorded for a batch-wide reason

Reasons = list[tuple[str, str]]  # (column, rule)


class PolicyError(ValueError):
    """The asset's ``wap/*`` metadata is not a valid policy; the message says what to fix."""


def _raw(value: Any) -> Any:
    return value.value if isinstance(value, dg.MetadataValue) else value


@dataclass(frozen=True)
class WapPolicy:
    enabled: bool = True
    on_bad_rows: OnBadRows = "all_or_nothing"
    max_bad_fraction: float = 0.0
    volatile_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.on_bad_rows not in get_args(OnBadRows):
            raise PolicyError(
                f"{ON_BAD_ROWS_KEY} must be one of {', '.join(get_args(OnBadRows))}, "
                f"got {self.on_bad_rows!r}"
            )
        if not 0.0 <= self.max_bad_fraction <= 1.0:
            raise PolicyError(
                f"{MAX_BAD_FRACTION_KEY} must be in [0, 1], got {self.max_bad_fraction}"
            )

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None) -> WapPolicy:
        metadata = metadata or {}
        enabled = _raw(metadata.get(ENABLED_KEY, True))
        on_bad_rows = _raw(metadata.get(ON_BAD_ROWS_KEY, "all_or_nothing"))
        fraction = _raw(metadata.get(MAX_BAD_FRACTION_KEY, 0.0))
        volatile = tuple(_raw(metadata.get(VOLATILE_COLUMNS_KEY)) or ())
        return cls(bool(enabled), on_bad_rows, float(fraction), volatile)


@dataclass(frozen=True)
class Decision:
    """``publish``: main may move (after dropping ``quarantine``'s rows from the batch).
    ``quarantine`` maps batch row positions to their reasons."""

    publish: bool
    quarantine: dict[int, Reasons] = field(default_factory=dict)
    reason: str = ""


def decide(
    *,
    batch_rows: int,
    rest_rows: int,
    by_row: Mapping[int, Reasons],
    table_level: Reasons,
    policy: WapPolicy,
    summary: str,
) -> Decision:
    """Decide from one validation of ``rest + batch`` (rows ``rest_rows..`` are the batch).

    A failure with no row, or on a row already on ``main`` that the batch's bad rows do not
    explain, rejects the batch whatever the policy: dropping rows cannot fix it.
    """
    if not by_row and not table_level:
        return Decision(publish=True)
    bad = {row - rest_rows: reasons for row, reasons in by_row.items() if row >= rest_rows}
    rest_bad = any(row < rest_rows for row in by_row)
    fraction = len(bad) / batch_rows if batch_rows else 1.0
    if table_level:
        why = f"the batch as a whole fails: {summary}"
    elif rest_bad and not bad:
        why = f"rows already on main fail (not caused by this batch): {summary}"
    elif len(bad) == batch_rows:
        why = f"all {batch_rows} rows of the batch fail: {summary}"
    elif policy.on_bad_rows == "all_or_nothing":
        why = f"{len(bad)} of {batch_rows} rows fail and the policy is all_or_nothing: {summary}"
    elif fraction > policy.max_bad_fraction:
        why = (
            f"{len(bad)} of {batch_rows} rows fail ({fraction:.1%}), above "
            f"{MAX_BAD_FRACTION_KEY} {policy.max_bad_fraction:.1%}: {summary}"
        )
    else:
        return Decision(True, bad, f"{len(bad)} of {batch_rows} rows quarantined: {summary}")
    everything = {row: bad.get(row) or _rejected(table_level) for row in range(batch_rows)}
    return Decision(False, everything, why)


def _rejected(table_level: Reasons) -> Reasons:
    return list(table_level) or [(BATCH, BATCH_REJECTED)]
