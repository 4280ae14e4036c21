"""SIGKILL during Iceberg writes: the table stays at a committed snapshot, a re-run repairs it,
and what the killed run left behind is found by orphan removal (after its safety window).

Three writers are killed (see ``crash_workers``): raw ingest, the Spark staging write and the
dbt analytics write. Each trial kills a worker at a uniformly random moment of its write
(between the asset handing over its batch and the process's end, as measured on clean runs),
then checks the table, re-runs the write to completion and compares it with a clean run's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import crash_workers
import pyarrow as pa
import pytest
import reliability_counts
from pyiceberg.catalog import Catalog

from lakehouse.catalog import build_catalog, catalog_properties
from lakehouse.iceberg import latest_snapshot_property
from lakehouse.raw.streams import STATE_PROPERTY
from lakehouse.settings import Settings, load_settings
from lakehouse.upkeep.rules import rules_for
from lakehouse.upkeep.snapshots.orphans import remove_orphans
from lakehouse.upkeep.snapshots.reachability import load_history, metadata_files, reachable_files
from lakehouse.upkeep.storage import Storage

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
KILLS_PER_KIND = 7  # x 3 kinds = 21 >= the 20; RELIABILITY_SCALE multiplies it
SECTION = "crash safety (SIGKILL)"


@pytest.fixture(scope="module")
def forkserver() -> BaseContext:
    """One forkserver with the heavy imports done once; each worker is a fork of it."""
    return crash_workers.forkserver()


@dataclass
class Kind:
    """One kind of write under test: its worker, its table and its versions' arguments."""

    name: str
    worker: Callable[..., None]
    identifier: tuple[str, str]
    key: str
    args: Callable[[str, int], tuple[Any, ...]]  # (home, version) -> worker args before ready
    prepare: Callable[[str], None] = lambda home: None
    reference: dict[int, pa.Table] = field(default_factory=dict)


def _settings(home: str) -> Settings:
    return load_settings({"LAKEHOUSE_HOME": home})


def _catalog(home: str) -> Catalog:
    return build_catalog(_settings(home))


def _rows(home: str, kind: Kind) -> pa.Table:
    """The table as a reader sees it now: a fresh catalog, the current snapshot, sorted."""
    table = _catalog(home).load_table(kind.identifier)
    assert table.current_snapshot() is not None, f"{kind.name}: no committed snapshot"
    return table.scan().to_arrow().sort_by(kind.key)


def _run(context: BaseContext, kind: Kind, home: str, version: int, kill_after: float | None):
    """Run the worker; with ``kill_after``, SIGKILL it that long into its write.

    Returns (killed while running, seconds from the start of the write to the process's end).
    """
    ready = context.Event()
    process = context.Process(target=kind.worker, args=(*kind.args(home, version), ready))
    process.start()
    deadline = time.monotonic() + 300
    while not ready.wait(timeout=0.05):
        if not process.is_alive() or time.monotonic() > deadline:
            process.kill()
            process.join()
            pytest.fail(f"{kind.name} worker never reached its write (exit {process.exitcode})")
    started = time.monotonic()
    if kill_after is not None:
        time.sleep(kill_after)
        if process.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
    process.join(timeout=300)
    elapsed = time.monotonic() - started
    if process.exitcode == -signal.SIGKILL and kill_after is not None:
        return True, elapsed
    assert process.exitcode == 0, f"{kind.name} worker failed with exit code {process.exitcode}"
    return False, elapsed


def _files(home: str, kind: Kind) -> set[str]:
    table = _catalog(home).load_table(kind.identifier)
    storage = Storage(catalog_properties(_settings(home)))
    return {entry.uri for entry in storage.list(table.location())}


def _referenced(home: str, kind: Kind) -> set[str]:
    from lakehouse.upkeep.storage import canonical

    table = _catalog(home).load_table(kind.identifier)
    return {canonical(p) for p in reachable_files(load_history(table)) | metadata_files(table)}


def _same(actual: pa.Table, expected: pa.Table) -> bool:
    return actual.num_rows == expected.num_rows and actual.equals(expected, check_metadata=False)


def _check_committed_state(home: str, kind: Kind, before: int, attempted: int) -> int:
    """The table reads whole at the previous or the attempted version; return which."""
    rows = _rows(home, kind)
    keys = rows.column(kind.key)
    assert len(keys.unique()) == rows.num_rows, f"{kind.name}: duplicate {kind.key} after a kill"
    matches = [v for v in (before, attempted) if _same(rows, kind.reference[v])]
    assert matches, (
        f"{kind.name}: after a kill the table is neither version {before} nor {attempted} "
        f"({rows.num_rows} rows): a partial batch"
    )
    version = matches[-1] if before != attempted else before
    if kind.name == "raw ingest":  # data and Airbyte state commit together or not at all
        table = _catalog(home).load_table(kind.identifier)
        state = latest_snapshot_property(table, STATE_PROPERTY)
        assert state == crash_workers.state_json(version), "state and rows disagree"
    return version


def _kinds(spark_arrow: Callable[[Path, int], str], tmp_path: Path) -> list[Kind]:
    def staging_args(home: str, version: int) -> tuple[Any, ...]:
        return (home, spark_arrow(tmp_path, version))

    def dbt_prepare(home: str) -> None:
        from lakehouse.iceberg import WriteRequest, write
        from lakehouse.staging.tables import STAGING_TABLES_BY_NAME

        data = pa.ipc.open_file(spark_arrow(tmp_path, 0)).read_all()
        table = STAGING_TABLES_BY_NAME["purchases"]
        write(_catalog(home), data, WriteRequest(table.identifier, partition_column="created_at"))

    return [
        Kind(
            "raw ingest",
            crash_workers.raw_ingest,
            ("raw", "faker_purchases"),
            "id",
            lambda home, version: (home, version),
        ),
        Kind(
            "spark staging write",
            crash_workers.staging_write,
            ("staging", "purchases"),
            "purchase_id",
            staging_args,
        ),
        Kind(
            "dbt analytics write",
            crash_workers.dbt_store,
            ("analytics", "fct_purchases"),
            "purchase_id",
            lambda home, version: (home, version),
            dbt_prepare,
        ),
    ]


@pytest.fixture(scope="module")
def spark_arrow(spark) -> Callable[[Path, int], str]:
    """The real staging transform (spark/transforms.py) of each raw version, as Arrow files."""
    from lakehouse.staging.spill import spark_to_arrow
    from spark.transforms import stage_purchases

    made: dict[tuple[Path, int], str] = {}

    def arrow_file(directory: Path, version: int) -> str:
        if (directory, version) not in made:
            raw = spark.createDataFrame(crash_workers.raw_purchases(version))
            staged = spark_to_arrow(stage_purchases(raw))
            if isinstance(staged, pa.RecordBatchReader):  # a local session streams its rows
                staged = staged.read_all()
            path = directory / f"staging-purchases-v{version}.arrow"
            with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, staged.schema) as out:
                out.write_table(staged)
            made[(directory, version)] = str(path)
        return made[(directory, version)]

    return arrow_file


def test_sigkill_mid_write_loses_nothing_and_leaves_only_orphans(
    forkserver: BaseContext, spark_arrow: Callable[[Path, int], str], tmp_path: Path
) -> None:
    rng = random.Random(20240301)
    kills = reliability_counts.scaled(KILLS_PER_KIND)
    report: dict[str, Any] = {}
    for kind in _kinds(spark_arrow, tmp_path):
        clean, home = (
            str(tmp_path / f"{kind.identifier[0]}-clean"),
            str(tmp_path / kind.identifier[0]),
        )
        kind.prepare(clean)
        kind.prepare(home)
        durations = []
        for version in (0, 1):  # the clean runs every re-run must reproduce
            _, elapsed = _run(forkserver, kind, clean, version, None)
            durations.append(elapsed)
            kind.reference[version] = _rows(clean, kind)
        assert not _same(kind.reference[0], kind.reference[1])
        window = min(durations)  # kills land inside the write, not after the process ended

        _run(forkserver, kind, home, 0, None)
        current, leftovers, landed, trials, missed = 0, set(), 0, 0, 0
        while trials < kills:
            attempted = 1 - current
            before = _files(home, kind)
            killed, _ = _run(forkserver, kind, home, attempted, rng.uniform(0, window))
            state = _check_committed_state(home, kind, current, attempted)
            if not killed:  # the write finished first: no trial, the table moved on whole
                assert state == attempted
                missed += 1
                current = attempted
                continue
            trials += 1
            landed += state == attempted
            leftovers |= _files(home, kind) - before - _referenced(home, kind)
            _run(forkserver, kind, home, attempted, None)  # the re-run
            assert _same(_rows(home, kind), kind.reference[attempted]), (
                f"{kind.name}: the re-run after a kill differs from a clean run"
            )
            current = attempted

        _check_orphans(home, kind, leftovers)
        report[kind.name] = {
            "kills": trials,
            "landed before the kill": landed,
            "orphans": len(leftovers),
            "kills that came after the write ended": missed,
        }
        reliability_counts.add(SECTION, "kills tried", trials)
        reliability_counts.add(SECTION, "kills survived", trials)
        reliability_counts.add(SECTION, "orphans found", len(leftovers))
    print(json.dumps(report, indent=1))


def _check_orphans(home: str, kind: Kind, leftovers: set[str]) -> None:
    """Inside the safety window the killed runs' files are kept; after it, exactly they go."""
    settings = _settings(home)
    catalog = build_catalog(settings)
    rules = rules_for(settings, kind.identifier)
    storage = Storage(catalog_properties(settings))
    # The ages count from the table's own newest file, not the calendar.
    now = max(
        entry.modified for entry in storage.list(catalog.load_table(kind.identifier).location())
    )
    kept = remove_orphans(catalog, kind.identifier, rules, storage, now=now, dry_run=True)
    assert kept.orphans == [], "orphan removal would delete files inside its safety window"
    assert kept.young_unreferenced == len(leftovers)

    later = now + rules.orphan_safety_window + dt.timedelta(minutes=1)
    before = _rows(home, kind)
    removed = remove_orphans(catalog, kind.identifier, rules, storage, now=later)
    assert {entry.uri for entry in removed.orphans} == leftovers
    assert removed.deleted == len(leftovers)
    assert _same(_rows(home, kind), before), "orphan removal changed what the table reads"
    table = catalog.load_table(kind.identifier)
    for snapshot in table.snapshots():  # every snapshot still reads: nothing referenced went
        table.scan(snapshot_id=snapshot.snapshot_id).to_arrow()
