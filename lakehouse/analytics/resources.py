"""The dbt CLI resource of the analytics layer, built from the lakehouse settings.

dagster-dbt starts dbt as a subprocess whose environment is a copy of ``os.environ`` taken inside
``DbtCliResource.cli``, with no hook to add to it. The dbt process needs the same ``LAKEHOUSE_*``
settings as this one (its DuckDB plugin opens the catalog; profiles.yml reads the Trino values)
and the run's id and partition key (snapshot properties), so ``cli`` lays them over
``os.environ`` for the instant the subprocess starts, under a lock.

dagster-dbt gives each invocation a fresh target directory, so dbt never found a partial-parse
state and parsed the whole project on every run; ``cli`` seeds that directory with the state
``python -m lakehouse.analytics.prepare`` saved, which dbt reuses while the project, profile and
vars are unchanged (the partition window travels in the environment for that reason).
"""

# No `from __future__ import annotations`: Dagster reads the resource fields' annotations
# (`dg.ResourceDependency[Settings]`) as objects.

import contextlib
import datetime as dt
import functools
import importlib.metadata
import os
import shutil
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliInvocation, DbtCliResource
from packaging import version

from lakehouse.analytics.commits import PARTITION_KEY_ENV, RUN_ID_ENV, window_environment
from lakehouse.analytics.prepare import dbt_executable
from lakehouse.analytics.prepare import target_path as prepared_target_path
from lakehouse.analytics.project import analytics_project
from lakehouse.settings import Settings

_ENVIRON_LOCK = threading.Lock()


@contextlib.contextmanager
def _environ(overrides: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``overrides`` laid over it, restored on exit."""
    with _ENVIRON_LOCK:
        saved = {key: os.environ.get(key) for key in overrides}
        os.environ.update(overrides)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def partition_label(context: dg.AssetExecutionContext) -> str | None:
    """The run's partition key, or ``first...last`` for a single-run backfill of a range."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    keys = context.partition_key_range
    return keys.start if keys.start == keys.end else f"{keys.start}...{keys.end}"


def run_environment(context: dg.AssetExecutionContext | None) -> dict[str, str]:
    """What the dbt process tells Iceberg about the Dagster run that started it."""
    if context is None:
        return {}
    environment = {RUN_ID_ENV: context.run.run_id}
    if label := partition_label(context):
        environment[PARTITION_KEY_ENV] = label
    return environment


PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# Each dbt invocation writes ~2 MB (manifest, run results, logs) to its own target directory,
# under target/runs/: the newest are kept for debugging, older ones pruned so a laptop's
# checkout does not grow by megabytes a day. Never one younger than an hour (still running).
INVOCATIONS_DIR = "runs"
KEEP_INVOCATIONS = 20
PRUNE_MIN_AGE_SECONDS = 3600.0


def prune_invocations(
    directory: Path, *, keep: int = KEEP_INVOCATIONS, min_age_seconds: float = PRUNE_MIN_AGE_SECONDS
) -> list[Path]:
    """Remove invocation directories beyond the ``keep`` newest, if older than the minimum age."""
    if not directory.is_dir():
        return []
    runs = sorted(
        (path for path in directory.iterdir() if path.is_dir()),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    cutoff = time.time() - min_age_seconds
    removed = [path for path in runs[keep:] if path.stat().st_mtime < cutoff]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


def seed_partial_parse(prepared: Path, target: Path) -> bool:
    """Copy the prepared parse state into an invocation's target directory; True if copied."""
    source = prepared / PARTIAL_PARSE_FILE
    if not source.is_file():
        return False
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target / PARTIAL_PARSE_FILE)
    return True


class LakehouseDbtCliResource(DbtCliResource):
    """``DbtCliResource`` that hands the dbt process the lakehouse settings and run identity."""

    settings: dg.ResourceDependency[Settings]

    @functools.cached_property
    def _cli_version(self) -> version.Version:
        # dagster-dbt runs `dbt --version` (seconds) for this on every resource instance; the
        # dbt executable is this virtualenv's, so its package metadata answers the same.
        return version.parse(importlib.metadata.version("dbt-core"))

    def cli(
        self,
        args: Sequence[str],
        *,
        context: Any = None,
        window: tuple[dt.datetime, dt.datetime] | None = None,
        target_path: Path | None = None,
        **kwargs: Any,
    ) -> DbtCliInvocation:
        """``dbt args`` with the lakehouse environment; ``window`` is the partition window the
        models with ``partition_window`` replace (dbt/macros/partition_window.sql)."""
        asset_context = context if isinstance(context, dg.AssetExecutionContext) else None
        settings = self.settings
        # The dbt process reads these settings back from its environment; the home is passed
        # resolved: dbt runs in the project directory, where a relative one names another catalog.
        overrides = {
            **settings.environment(),
            # profiles.yml picks its target from this variable; the runtime may have decided it.
            "LAKEHOUSE_DBT_TARGET": settings.analytics_target,
            **run_environment(asset_context),
        }
        if window is not None:
            overrides |= window_environment(*window)
        project_dir = Path(self.project_dir)
        if target_path is None:
            unique = self._get_unique_target_path(context=context)
            target_path = unique.parent / INVOCATIONS_DIR / unique.name
            prune_invocations(project_dir / target_path.parent)
        seed_partial_parse(
            project_dir / prepared_target_path(settings.analytics_target), project_dir / target_path
        )
        # dbt's default (eager) also runs the tests of models outside the selection, e.g. the
        # fct_purchases relationship tests when only the dimensions are built, before the fact
        # exists. `buildable` keeps tests whose parents are selected or upstream of the
        # selection; dagster-dbt still sets its own mode when it selects tests one by one.
        if "DBT_INDIRECT_SELECTION" not in os.environ:
            overrides["DBT_INDIRECT_SELECTION"] = "buildable"
        with _environ(overrides):
            return super().cli(args, context=context, target_path=target_path, **kwargs)


def build_dbt_resource(settings: Settings) -> LakehouseDbtCliResource:
    """The dbt resource for ``settings`` (its target: DuckDB embedded, Trino on the platform)."""
    return LakehouseDbtCliResource(
        # DbtCliResource's __init__ takes a DbtProject; its pydantic field says str.
        project_dir=analytics_project(settings.analytics_target),  # type: ignore[arg-type]
        dbt_executable=dbt_executable("lakehouse-dbt"),
        settings=settings,
    )
