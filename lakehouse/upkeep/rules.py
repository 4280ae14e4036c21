"""Per-table upkeep rules in one place: defaults from settings, then namespace, then table.

A table's rules answer every upkeep question about it: its target file size, how long its
snapshots live, how old its rows may get (raw 90 days, transformed 365 days, the seed's
retention policy) and which column carries a data subject's id for GDPR erasure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields, replace

from lakehouse.settings import Settings
from lakehouse.wap.quarantine import AT as QUARANTINED_AT
from lakehouse.wap.quarantine import SUFFIX as QUARANTINE_SUFFIX

TIME_COLUMN_PROPERTY = "lakehouse.time-column"
GOVERNANCE_NAMESPACE = "governance"


@dataclass(frozen=True)
class TableRules:
    target_file_size_bytes: int
    small_file_fraction: float
    min_small_files: int
    snapshot_max_age: dt.timedelta
    snapshot_min_keep: int
    orphan_safety_window: dt.timedelta
    retention: dt.timedelta | None = None
    time_column: str | None = None
    subject_column: str | None = None

    @property
    def small_file_bytes(self) -> int:
        return int(self.target_file_size_bytes * self.small_file_fraction)


@dataclass(frozen=True)
class Override:
    """Only the fields given replace the broader rule; ``None`` means "inherit"."""

    target_file_size_bytes: int | None = None
    min_small_files: int | None = None
    snapshot_max_age: dt.timedelta | None = None
    snapshot_min_keep: int | None = None
    retention: dt.timedelta | None = None
    time_column: str | None = None
    subject_column: str | None = None


_DAY = dt.timedelta(days=1)
_TRANSFORMED = Override(retention=365 * _DAY)

# Keys are a namespace ("raw") or a table ("raw.faker_users"); the table's entry wins.
OVERRIDES: dict[str, Override] = {
    "raw": Override(retention=90 * _DAY, time_column="_airbyte_extracted_at"),
    "staging": _TRANSFORMED,
    "analytics": _TRANSFORMED,
    "ml": _TRANSFORMED,
    # The seed keeps audit records seven years.
    GOVERNANCE_NAMESPACE: Override(retention=7 * 365 * _DAY, time_column="requested_at"),
    # Tables holding personal data (pseudonymous keys included, as GDPR counts them) and the
    # column with the data subject's id; the erasure job also sets them as table properties.
    "raw.faker_users": Override(subject_column="id"),
    "raw.faker_purchases": Override(subject_column="user_id"),
    # Consent decisions name their subject. No time column: retention never ages them out (a
    # purged withdrawal would put the subject back into profiling).
    "governance.consents": Override(subject_column="subject"),
    **{
        table: Override(subject_column="user_id")
        for table in (
            "staging.users",
            "staging.purchases",
            "analytics.dim_customers",
            "analytics.fct_purchases",
            "analytics.customer_lifetime_value",
            "ml.customer_features",
            "ml.churn_training_set",
        )
    },
}


def default_rules(settings: Settings) -> TableRules:
    return TableRules(
        target_file_size_bytes=settings.upkeep_target_file_size_bytes,
        small_file_fraction=settings.upkeep_small_file_fraction,
        min_small_files=settings.upkeep_min_small_files,
        snapshot_max_age=dt.timedelta(days=settings.upkeep_snapshot_max_age_days),
        snapshot_min_keep=settings.upkeep_snapshot_min_keep,
        orphan_safety_window=dt.timedelta(hours=settings.upkeep_orphan_safety_hours),
    )


def _apply(rules: TableRules, override: Override | None) -> TableRules:
    if override is None:
        return rules
    changes = {
        f.name: getattr(override, f.name)
        for f in fields(override)
        if getattr(override, f.name) is not None
    }
    return replace(rules, **changes)


def rules_for(
    settings: Settings,
    identifier: tuple[str, ...],
    overrides: dict[str, Override] | None = None,
) -> TableRules:
    """The rules of one table: settings' defaults, its namespace's override, then its own.

    A quarantine table (``<table>__quarantine``) holds its source's rows, personal data
    included: it follows the source's rules, its rows aged from when they were quarantined.
    """
    if identifier[-1].endswith(QUARANTINE_SUFFIX):
        source = (*identifier[:-1], identifier[-1].removesuffix(QUARANTINE_SUFFIX))
        return replace(rules_for(settings, source, overrides), time_column=QUARANTINED_AT)
    table = overrides if overrides is not None else OVERRIDES
    rules = default_rules(settings)
    rules = _apply(rules, table.get(".".join(identifier[:-1])))
    return _apply(rules, table.get(".".join(identifier)))


def pii_tables(overrides: dict[str, Override] | None = None) -> dict[str, str]:
    """``namespace.table`` -> subject column, for the tables this module declares PII and
    their quarantine tables (rows held back from a PII table are the same personal data)."""
    table = overrides if overrides is not None else OVERRIDES
    declared = {name: o.subject_column for name, o in table.items() if o.subject_column}
    return declared | {f"{name}{QUARANTINE_SUFFIX}": column for name, column in declared.items()}
