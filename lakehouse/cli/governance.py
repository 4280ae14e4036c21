"""``lakehouse archive list|restore`` (seed §4.2) and ``lakehouse gdpr export`` (§5.2).

Every restore and export is an audit row with the operator's login as its actor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakehouse.governance.archive import ArchiveManifest
    from lakehouse.governance.audit import AuditRecord
    from lakehouse.settings import Settings

COMMANDS = ("archive", "gdpr")


def add_governance_commands(commands: argparse._SubParsersAction) -> None:
    archive = commands.add_parser("archive", help="list or restore what retention archived")
    actions = archive.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="one line per archive: table, range, rows")
    listing.add_argument("table", nargs="?", help="only this table's archives (namespace.table)")
    listing.add_argument("--json", action="store_true", help="print the manifests as JSON")
    restore = actions.add_parser(
        "restore", help="bring archived rows back as new tables in a scratch namespace"
    )
    restore.add_argument("table", help="the archived table, namespace.table")
    restore.add_argument(
        "range",
        nargs="?",
        help="an archive id, or START..END (days or ISO times): the archives holding rows in "
        "that span; default the latest archive",
    )
    restore.add_argument("--into", default="scratch", help="namespace to restore into")
    gdpr = commands.add_parser("gdpr", help="GDPR portability: a subject's data, exported")
    gdpr_actions = gdpr.add_subparsers(dest="action", required=True)
    export = gdpr_actions.add_parser(
        "export", help="a subject's rows from every PII table, JSON Lines and a manifest"
    )
    export.add_argument("subject", help="the subject's id, as the PII tables key it")
    export.add_argument("--to", default="gdpr-exports", help="directory or s3://bucket/prefix")
    export.add_argument("--table", action="append", help="only this table (repeatable)")


def run_governance_command(args: argparse.Namespace) -> int:
    from lakehouse.governance.archive import ArchiveError
    from lakehouse.governance.audit import AuditStoreError
    from lakehouse.settings import get_settings

    settings = get_settings()
    try:
        if args.command == "gdpr":
            return _gdpr_export(settings, args)
        if args.action == "list":
            return _archive_list(settings, args)
        return _archive_restore(settings, args)
    except (ArchiveError, AuditStoreError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _archive_root(settings: Settings) -> str:
    root = settings.archive_root
    if root is None:
        raise ValueError("LAKEHOUSE_ARCHIVE_LOCATION: no archive location is set")
    return root


def _catalog_properties(settings: Settings) -> dict[str, str]:
    from lakehouse.catalog import shared_catalog

    return dict(shared_catalog(settings).properties)


def _archive_list(settings: Settings, args: argparse.Namespace) -> int:
    from lakehouse.governance.archive import list_archives

    found = list_archives(_archive_root(settings), _catalog_properties(settings), table=args.table)
    if args.json:
        print(json.dumps([json.loads(m.to_json()) for m in found], indent=2))
        return 0
    for manifest in found:
        span = f"{manifest.range['column']} [{manifest.range['start'] or '-inf'}, "
        span += f"{manifest.range['end']})"
        print(f"{manifest.table}  {manifest.archive_id}  {manifest.rows} rows  {span}")
    if not found:
        print("no archives")
    return 0


def _instant(text: str) -> dt.datetime:
    at = dt.datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def chosen_archives(archives: Sequence[ArchiveManifest], which: str | None) -> list:
    """The archives ``which`` names: an id, ``START..END`` (those holding rows in that span;
    either end may be left out), or None for the latest."""
    if not archives:
        return []
    if which is None:
        return [archives[-1]]
    if ".." not in which:
        return [m for m in archives if m.archive_id == which]
    start_text, _, end_text = which.partition("..")
    start = _instant(start_text) if start_text else None
    end = _instant(end_text) if end_text else None
    chosen = []
    for manifest in archives:  # [lower, upper) overlaps [start, end)
        lower, upper = manifest.range["start"], manifest.range["end"]
        if end is not None and lower is not None and _instant(lower) >= end:
            continue
        if start is not None and upper is not None and _instant(upper) <= start:
            continue
        chosen.append(manifest)
    return chosen


def _archive_restore(settings: Settings, args: argparse.Namespace) -> int:
    from lakehouse.catalog import shared_catalog
    from lakehouse.governance.archive import list_archives, restore_archive
    from lakehouse.governance.audit.recorders import archive_record

    catalog = shared_catalog(settings)
    root = _archive_root(settings)
    archives = list_archives(root, dict(catalog.properties), table=args.table)
    chosen = chosen_archives(archives, args.range)
    if not chosen:
        print(f"error: no archive of {args.table} matches {args.range or 'latest'}")
        return 2
    records = []
    for manifest in chosen:
        identifier = restore_archive(catalog, root, manifest, namespace=args.into)
        name = ".".join(identifier)
        print(f"{manifest.table} {manifest.archive_id}: {manifest.rows} rows restored into {name}")
        records.append(
            archive_record(
                manifest.table,
                f"{root}/{manifest.directory}",
                json.loads(manifest.to_json()) | {"restored_into": name},
                action="archive.restore",
                actor=f"user:{getpass.getuser()}",
            )
        )
    _append(settings, records)
    return 0


def _gdpr_export(settings: Settings, args: argparse.Namespace) -> int:
    from lakehouse.catalog import shared_catalog
    from lakehouse.governance.audit.recorders import gdpr_export_record
    from lakehouse.governance.gdpr_export import MANIFEST, export_subject
    from lakehouse.governance.pii import find_pii_tables

    catalog = shared_catalog(settings)
    tables = find_pii_tables(catalog)
    if args.table:
        wanted = {tuple(name.split(".")) for name in args.table}
        if missing := wanted - set(tables):
            names = ", ".join(sorted(".".join(m) for m in missing))
            raise ValueError(f"not tagged PII (no subject column to search): {names}")
        tables = {i: column for i, column in tables.items() if i in wanted}
    done = export_subject(catalog, args.subject, tables, destination=args.to)
    manifest = done.manifest()
    _append(
        settings,
        [gdpr_export_record(manifest, done.location, actor=f"user:{getpass.getuser()}")],
    )
    for table in done.tables:
        print(f"{table.table}: {table.rows} row(s)")
    print(f"export {done.export_id}: {done.rows} row(s), manifest {done.location}/{MANIFEST}")
    return 0


def _append(settings: Settings, records: list[AuditRecord]) -> None:
    from lakehouse.governance.audit import audit_store

    store = audit_store(settings)
    try:
        store.append(records)
    finally:
        store.close()
