"""Consent traceability (seed §5.2): ``governance.consents``, one row per grant or withdrawal.

The table is append-only history (subject, purpose, status, when, where from); who may be used
for a purpose is derived from it as of an instant, so a withdrawal is honoured from its time on
and the history stays auditable. The ml features leave out ``withdrawn_subjects(...,
PROFILING, as_of)``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError

from lakehouse.governance.files import Location
from lakehouse.iceberg.write_request import WriteRequest
from lakehouse.iceberg.writes import write

IDENTIFIER = ("governance", "consents")
PROFILING = "profiling"
STATUSES = ("granted", "withdrawn")
SCHEMA = pa.schema(
    [
        pa.field("subject", pa.string(), nullable=False),
        pa.field("purpose", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("source", pa.string()),
    ]
)


class ConsentError(ValueError):
    """A consent row is malformed; the message names the row and the field."""


@dataclass(frozen=True)
class Consent:
    subject: str
    purpose: str
    status: Literal["granted", "withdrawn"]
    at: dt.datetime
    source: str | None = None


def consent_rows(consents: Iterable[Consent]) -> pa.Table:
    rows = list(consents)
    return pa.table(
        {
            name: [getattr(row, name) for row in rows]
            for name in ("subject", "purpose", "status", "at", "source")
        },
        schema=SCHEMA,
    )


def check_consents(table: pa.Table) -> None:
    """Refuse rows a decision cannot rest on: an unknown status, no subject, purpose or time."""
    for name in ("subject", "purpose", "status", "at"):
        if name not in table.column_names:
            raise ConsentError(f"{'.'.join(IDENTIFIER)}: column {name} is missing")
        if table[name].null_count:
            index = pc.index(pc.is_null(table[name]), True).as_py()
            raise ConsentError(f"{'.'.join(IDENTIFIER)} row {index}: {name} is empty")
    unknown = pc.invert(pc.is_in(table["status"], pa.array(STATUSES)))
    if pc.any(unknown).as_py():
        index = pc.index(unknown, True).as_py()
        raise ConsentError(
            f"{'.'.join(IDENTIFIER)} row {index}: status {table['status'][index].as_py()!r} "
            f"is not one of {', '.join(STATUSES)}"
        )


def withdrawn_subjects(consents: pa.Table, purpose: str, as_of: dt.datetime) -> frozenset[str]:
    """Subjects whose latest decision for ``purpose`` at or before ``as_of`` is a withdrawal
    (a grant and a withdrawal at the same instant count as withdrawn)."""
    check_consents(consents)
    if as_of.tzinfo is None:
        raise ValueError(f"as_of {as_of!r} has no time zone")
    relevant = consents.filter(
        pc.and_(pc.equal(consents["purpose"], purpose), pc.less_equal(consents["at"], as_of))
    )
    if relevant.num_rows == 0:
        return frozenset()
    ranked = relevant.append_column(
        "_rank", pc.cast(pc.equal(relevant["status"], "withdrawn"), pa.int8())
    ).sort_by([("subject", "ascending"), ("at", "ascending"), ("_rank", "ascending")])
    latest = ranked.group_by("subject", use_threads=False).aggregate([("status", "last")])
    withdrawn = latest.filter(pc.equal(latest["status_last"], "withdrawn"))
    return frozenset(withdrawn["subject"].to_pylist())


def without_subjects(table: pa.Table, column: str, subjects: Iterable[str]) -> pa.Table:
    """``table`` less the rows whose ``column`` (any type; compared as text) names a subject."""
    excluded = pa.array(sorted(set(subjects)), pa.string())
    keys = pc.cast(table[column], pa.string())
    return table.filter(pc.invert(pc.fill_null(pc.is_in(keys, excluded), False)))


def read_consents(catalog: Catalog) -> pa.Table:
    """The whole history; empty when nobody recorded a consent yet."""
    try:
        return catalog.load_table(IDENTIFIER).scan().to_arrow()
    except NoSuchTableError:
        return SCHEMA.empty_table()


def record_consents(
    catalog: Catalog, consents: Iterable[Consent], *, commit_timeout_seconds: float = 120.0
) -> int:
    """Append decisions to ``governance.consents`` (created on first use); rows written."""
    rows = consent_rows(consents)
    check_consents(rows)
    catalog.create_namespace_if_not_exists(IDENTIFIER[0])
    write(
        catalog,
        rows,
        WriteRequest(IDENTIFIER, mode="append"),
        commit_timeout_seconds=commit_timeout_seconds,
    )
    return rows.num_rows


def _decision(line: str, where: str) -> Consent:
    """One inbox line: ``{"subject", "purpose", "status", "at"}`` (``at`` ISO 8601 with zone)."""
    try:
        data = json.loads(line)
        at = dt.datetime.fromisoformat(data["at"])
        if at.tzinfo is None:
            raise ValueError(f"at {data['at']!r} has no time zone")
        if data["status"] not in STATUSES:
            raise ValueError(f"status {data['status']!r} is not one of {', '.join(STATUSES)}")
        return Consent(str(data["subject"]), data["purpose"], data["status"], at, where)
    except (ValueError, KeyError, TypeError) as error:
        raise ConsentError(f"{where}: not a consent decision ({error!r})") from None


def inbox_decisions(inbox: Location, ingested: Iterable[str]) -> pa.Table:
    """The decisions of every ``*.jsonl`` file in ``inbox`` not ingested yet (the ``source``
    column names the file, so a file is read once however often the asset runs)."""
    files = {name.split(":", 1)[0] for name in ingested}
    decisions = []
    for name in inbox.list():
        if not name.endswith(".jsonl") or name in files:
            continue
        lines = inbox.read_bytes(name).decode().splitlines()
        decisions += [
            _decision(line, f"{name}:{number}")
            for number, line in enumerate(lines, 1)
            if line.strip()
        ]
    rows = consent_rows(decisions)
    check_consents(rows)
    return rows
