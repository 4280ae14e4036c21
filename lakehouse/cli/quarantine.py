"""``lakehouse quarantine list|replay``: what is held back, and re-submitting it after a fix.

Parsing is cheap; the catalog, pandera and the contracts are imported only when a command runs.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandera.pandas as pa

    from lakehouse.settings import Settings
    from lakehouse.wap.replay import ReplayResult

COMMAND = "quarantine"


def add_quarantine_commands(commands: argparse._SubParsersAction) -> None:
    quarantine = commands.add_parser(
        COMMAND, help="list rows kept off main by write-audit-publish, or replay them"
    )
    actions = quarantine.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="one line per quarantine table: rows, batches, rules")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    replay = actions.add_parser(
        "replay", help="re-submit a table's quarantined rows through its contract, once"
    )
    replay.add_argument("table", help="the source table, namespace.table (e.g. raw.faker_users)")


def contracts() -> dict[tuple[str, ...], pa.DataFrameSchema]:
    """The pandera contract of every table the Python layers write, by table identifier."""
    from lakehouse.ml.schemas import CUSTOMER_FEATURES
    from lakehouse.ml.tables import CUSTOMER_FEATURES as FEATURES_KEY
    from lakehouse.raw.schemas import SCHEMAS as RAW
    from lakehouse.raw.streams import STREAMS
    from lakehouse.staging.schemas import SCHEMAS as STAGING
    from lakehouse.staging.tables import STAGING_TABLES

    found: dict[tuple[str, ...], Any] = {s.identifier: RAW[s.name] for s in STREAMS}
    found |= {t.identifier: STAGING[t.contract.table] for t in STAGING_TABLES}
    found[tuple(FEATURES_KEY.path)] = CUSTOMER_FEATURES
    return found


def run_quarantine_command(args: argparse.Namespace) -> int:
    from lakehouse.catalog import get_catalog

    catalog = get_catalog()
    if args.action == "list":
        from lakehouse.wap.quarantine import list_quarantines

        rows = list_quarantines(catalog)
        if args.json:
            print(json.dumps(rows, indent=2))
        elif not rows:
            print("no quarantined rows")
        for row in [] if args.json else rows:
            rules = ", ".join(f"{rule}: {count}" for rule, count in sorted(row["rules"].items()))
            print(f"{row['table']}  {row['rows']} rows in {row['batches']} batch(es)  {rules}")
        return 0
    from lakehouse.quality import validate_rows
    from lakehouse.raw.drift import drift_released
    from lakehouse.settings import get_settings
    from lakehouse.wap.replay import replay

    settings = get_settings()

    identifier = tuple(args.table.split("."))
    schema = contracts().get(identifier)
    if schema is None:
        print(f"error: no contract for {args.table} (lakehouse/cli/quarantine.py)")
        return 2
    result = replay(
        catalog,
        identifier,
        lambda table: validate_rows(schema, table),
        release=drift_released,
        commit_timeout_seconds=settings.commit_timeout_seconds,
    )
    if result.batches:
        _record_replay(settings, args.table, result)
    print(result.summary())
    return 0


def _record_replay(settings: Settings, table: str, result: ReplayResult) -> None:
    """The replay in the audit trail (seed §5.1), with the operator's login as its actor."""
    import getpass

    from lakehouse.governance.audit import audit_store
    from lakehouse.governance.audit.recorders import replay_record

    store = audit_store(settings)
    try:
        store.append(
            [
                replay_record(
                    table,
                    result.batches,
                    result.published_rows,
                    result.still_failing_rows,
                    actor=f"user:{getpass.getuser()}",
                )
            ]
        )
    finally:
        store.close()
