"""Orphan removal: files under a table's location that no metadata references.

A file an in-flight commit has written is referenced by nothing yet, so age is the only
protection: files younger than the safety window are never candidates. The listing is taken
before the metadata is read, so a commit landing in between only adds references.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from pyiceberg.catalog import Catalog

from lakehouse.upkeep.rules import TableRules
from lakehouse.upkeep.snapshots.reachability import load_history, metadata_files, reachable_files
from lakehouse.upkeep.storage import FileEntry, Storage, canonical

log = logging.getLogger(__name__)


@dataclass
class OrphanResult:
    table: str
    orphans: list[FileEntry] = field(default_factory=list)
    young_unreferenced: int = 0
    deleted: int = 0

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.orphans)


def find_orphans(
    listed: Iterable[FileEntry],
    referenced: Iterable[str],
    *,
    now: dt.datetime,
    safety_window: dt.timedelta,
    excluded_prefixes: Iterable[str] = (),
) -> tuple[list[FileEntry], int]:
    """(orphans older than the window, count of unreferenced files the window protects)."""
    known = {canonical(path) for path in referenced}
    excluded = tuple(canonical(p).rstrip("/") + "/" for p in excluded_prefixes)
    cutoff = now - safety_window
    orphans, young = [], 0
    for entry in listed:
        uri = canonical(entry.uri)
        if uri in known or uri.startswith(excluded):
            continue
        if entry.modified >= cutoff:
            young += 1
        else:
            orphans.append(entry)
    return sorted(orphans, key=lambda e: e.uri), young


def remove_orphans(
    catalog: Catalog,
    identifier: tuple[str, ...],
    rules: TableRules,
    storage: Storage,
    *,
    now: dt.datetime | None = None,
    other_locations: Iterable[str] = (),
    dry_run: bool = False,
) -> OrphanResult:
    """Delete (or, with ``dry_run``, only list) the table's orphan files.

    ``other_locations`` are other tables' locations: one nested under this table's location
    keeps its files.
    """
    now = now or dt.datetime.now(dt.UTC)
    location = catalog.load_table(identifier).location()
    listed = storage.list(location)  # before reading metadata: see the module docstring
    table = catalog.load_table(identifier)
    referenced = reachable_files(load_history(table)) | metadata_files(table)
    nested = [p for p in other_locations if canonical(p).startswith(canonical(location) + "/")]
    orphans, young = find_orphans(
        listed,
        referenced,
        now=now,
        safety_window=rules.orphan_safety_window,
        excluded_prefixes=nested,
    )
    result = OrphanResult(".".join(identifier), orphans, young)
    if not dry_run:
        result.deleted = sum(storage.delete(entry.uri) for entry in orphans)
        log.info("%s: removed %d orphan files", result.table, result.deleted)
    return result
