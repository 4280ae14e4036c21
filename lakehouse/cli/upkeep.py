"""``lakehouse restore`` and ``lakehouse erase``: backups and GDPR erasure from the command line.

Parsing is cheap; the work is imported only when a command runs.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

    from lakehouse.settings import Settings
    from lakehouse.upkeep.storage import Storage

COMMANDS = ("restore", "erase")


def add_upkeep_commands(commands: argparse._SubParsersAction) -> None:
    restore = commands.add_parser(
        "restore", help="list backups, restore tables from one, or run the restore check"
    )
    restore.add_argument("--list", action="store_true", help="list the completed backups")
    restore.add_argument("--backup", default="latest", help="backup id (default: latest)")
    restore.add_argument(
        "--table", action="append", default=[], help="namespace.table to restore (repeatable)"
    )
    restore.add_argument(
        "--into", default="restored", help="namespace to restore into as <ns>__<table>"
    )
    restore.add_argument("--replace", action="store_true", help="drop earlier restores first")
    restore.add_argument(
        "--check", action="store_true", help="run the restore check (RPO/RTO, checksums)"
    )
    erase = commands.add_parser("erase", help="GDPR: erase a data subject from every PII table")
    erase.add_argument("subject_id", help="the subject's id, as in the PII tables")
    erase.add_argument("--requested-by", required=True, help="who asked (kept in the audit)")
    erase.add_argument(
        "--queue", action="store_true", help="queue it for the scheduled erasure job instead"
    )


def run_upkeep_command(args: argparse.Namespace) -> int:
    from lakehouse.catalog import catalog_properties, get_catalog
    from lakehouse.settings import get_settings
    from lakehouse.upkeep.storage import Storage

    settings = get_settings()
    storage = Storage(catalog_properties(settings))
    if args.command == "erase":
        return _erase(args, settings, storage, get_catalog)
    return _restore(args, settings, storage, get_catalog)


def _erase(
    args: argparse.Namespace,
    settings: Settings,
    storage: Storage,
    get_catalog: Callable[[], Catalog],
) -> int:
    from lakehouse.upkeep.erasure import requests as erasure_requests
    from lakehouse.upkeep.erasure.erase import erase_subject

    if args.queue:
        root = settings.erasure_inbox
        uri = erasure_requests.submit(storage, root, args.subject_id, args.requested_by)
        print(f"queued: {uri}")
        return 0
    from lakehouse.governance.audit import audit_store

    audit = audit_store(settings)
    try:
        report = erase_subject(
            get_catalog(),
            args.subject_id,
            args.requested_by,
            timeout_seconds=settings.commit_timeout_seconds,
            audit=audit,
        )
    finally:
        audit.close()
    print(json.dumps({k: v.__dict__ for k, v in report.tables.items()}, indent=2))
    print(f"erasure {report.request_id}: {report.rows_deleted} rows deleted, audit recorded")
    return 0


def _restore(
    args: argparse.Namespace,
    settings: Settings,
    storage: Storage,
    get_catalog: Callable[[], Catalog],
) -> int:
    from lakehouse.upkeep.backup.restore import restore_table
    from lakehouse.upkeep.backup.restore_check import (
        check_restored,
        run_restore_check,
        scratch_identifier,
    )
    from lakehouse.upkeep.backup.store import list_backups, load_backup
    from lakehouse.upkeep.erasure.replay import reapply_erasures

    root = settings.backup_root
    if args.list:
        for backup_id in list_backups(storage, root):
            backup = load_backup(storage, root, backup_id)
            state = f"FAILED {sorted(backup.failed)}" if backup.failed else "ok"
            print(f"{backup_id}  {len(backup.tables)} tables  {state}")
        return 0
    catalog = get_catalog()
    if args.check:
        report = run_restore_check(
            catalog,
            storage,
            root,
            namespace=settings.upkeep_restore_namespace,
            rpo_limit_seconds=settings.upkeep_rpo_seconds,
            rto_limit_seconds=settings.upkeep_rto_seconds,
            backup_id=args.backup,
        )
        print(
            f"backup {report.backup_id}: RPO {report.rpo_seconds:.0f} s, RTO {report.rto_seconds:.1f} s"
        )
        for problem in report.all_problems():
            print(f"  PROBLEM {problem}")
        print("restore check " + ("passed" if report.ok else "FAILED"))
        return 0 if report.ok else 1
    backup = load_backup(storage, root, args.backup)
    chosen = [backup.table(name) for name in args.table] if args.table else backup.tables
    failed = False
    for table_backup in chosen:
        target = scratch_identifier(args.into, table_backup.identifier)
        restored = restore_table(catalog, storage, root, table_backup, target, replace=args.replace)
        problems = check_restored(restored.table, table_backup)
        failed |= bool(problems)
        source = table_backup.parts
        if erased := reapply_erasures(catalog, target, backup.created, source):
            print(f"{'.'.join(target)}: {erased} rows of subjects erased since the backup removed")
        print(
            f"{table_backup.identifier} -> {'.'.join(target)}: {table_backup.row_count} rows, "
            f"{restored.files_copied} files" + ("" if not problems else f", PROBLEMS {problems}")
        )
    return 1 if failed else 0
