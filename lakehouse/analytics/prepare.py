"""Build the dbt manifest ahead of code-location load: ``python -m lakehouse.analytics.prepare``.

Runs ``dbt parse`` into ``dbt/target/<target>/`` for the settings' target (or ``--target``), so
the DuckDB and Trino manifests live side by side and switching runtimes needs no rebuild. A stamp
records a fingerprint of the dbt sources, the target and the dbt version; while it matches,
preparing again is a no-op, so ``make setup`` and ``dagster dev`` reloads stay cheap.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from lakehouse.settings import REPO_ROOT

# Kept free of dagster-dbt (about 10 s to import) so a no-op prepare returns at once.
DBT_PROJECT_DIR = REPO_ROOT / "dbt"
TARGET_ROOT = "target"  # dbt_project.yml's target-path; each target parses into a subdirectory
STAMP_FILE = "lakehouse_prepare.json"
# Generated or local files: they never change what dbt parses.
_SKIPPED_DIRS = {"target", "logs", "dbt_packages", "__pycache__"}


class PrepareError(RuntimeError):
    """``dbt parse`` failed; the message carries its output."""


def dbt_executable(name: str = "dbt") -> str:
    """The dbt of this virtualenv, so no PATH lookup picks another one; ``lakehouse-dbt`` is
    dbt with Trino's token handled (lakehouse/analytics/dbt_entry.py), what runs build models."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else name


def _project_files(project_dir: Path) -> Iterator[Path]:
    for path in sorted(project_dir.rglob("*")):
        relative = path.relative_to(project_dir)
        hidden = relative.name.startswith(".")
        if path.is_file() and not hidden and not (_SKIPPED_DIRS & set(relative.parts[:-1])):
            yield path


def fingerprint(project_dir: Path, target: str) -> str:
    """What the manifest depends on: every project file, the target and dbt's version."""
    digest = hashlib.sha256(f"{target}\0{importlib.metadata.version('dbt-core')}".encode())
    for path in _project_files(project_dir):
        digest.update(str(path.relative_to(project_dir)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def target_path(target: str) -> str:
    """The target path (relative to the project) holding ``target``'s manifest."""
    return f"{TARGET_ROOT}/{target}"


def manifest_path(target: str, project_dir: Path = DBT_PROJECT_DIR) -> Path:
    return project_dir / target_path(target) / "manifest.json"


def is_fresh(target: str, project_dir: Path = DBT_PROJECT_DIR) -> bool:
    """Whether the manifest was built from the current files for ``target``."""
    manifest = manifest_path(target, project_dir)
    stamp = project_dir / target_path(target) / STAMP_FILE
    lineage = project_dir / target_path(target) / "column_lineage.json"  # column_lineage.py
    if not (manifest.is_file() and stamp.is_file() and lineage.is_file()):
        return False
    recorded = json.loads(stamp.read_text())
    # A manual `dbt build` rewrites target/manifest.json (with its own vars): not ours any more.
    return recorded.get("manifest_sha256") == _file_sha256(manifest) and recorded.get(
        "fingerprint"
    ) == fingerprint(project_dir, target)


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _parse(target: str, project_dir: Path) -> None:
    directory = str(project_dir)
    env = {key: value for key, value in os.environ.items() if key != "DBT_TARGET_PATH"}
    # As dagster-dbt sets them for its runs: the rendered profile (external_root) must match,
    # or the runs cannot reuse this parse (dbt re-parses when the profile changes).
    env |= {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_PROJECT_DIR": directory}
    command = [
        dbt_executable(),
        "parse",
        "--project-dir",
        directory,
        "--profiles-dir",
        directory,
        "--target",
        target,
        "--target-path",
        target_path(target),
    ]
    done = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise PrepareError(f"`{' '.join(command)}` failed:\n{done.stdout}{done.stderr}")
    from lakehouse.analytics.column_lineage import write_column_lineage

    try:  # the models' column lineage, for the UI and the data catalog
        write_column_lineage(dbt_executable(), project_dir, project_dir / target_path(target), env)
    except (RuntimeError, ValueError, OSError) as error:  # DbtLineageError is a ValueError
        raise PrepareError(f"dbt column lineage: {error}") from None


def prepare(target: str, *, project_dir: Path = DBT_PROJECT_DIR, force: bool = False) -> bool:
    """Build the manifest unless it is fresh; True when ``dbt parse`` ran.

    A lock file serialises concurrent calls (``make setup`` beside a test run).
    """
    target_dir = project_dir / target_path(target)
    target_dir.mkdir(parents=True, exist_ok=True)
    with open(target_dir / ".prepare.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and is_fresh(target, project_dir):
            return False
        _parse(target, project_dir)
        stamp = {
            "target": target,
            "fingerprint": fingerprint(project_dir, target),
            "manifest_sha256": _file_sha256(manifest_path(target, project_dir)),
        }
        (target_dir / STAMP_FILE).write_text(json.dumps(stamp))
    return True


def using_dagster_dev() -> bool:
    """True under ``dagster dev`` (the variable dagster-dbt's own check reads)."""
    return bool(os.getenv("DAGSTER_IS_DEV_CLI"))


def prepare_if_dev(target: str, project_dir: Path = DBT_PROJECT_DIR) -> None:
    """Under ``dagster dev`` only, rebuild a stale manifest so model edits show on reload."""
    if using_dagster_dev():
        prepare(target, project_dir=project_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--target",
        choices=["duckdb", "trino"],
        help="dbt target (default: from the lakehouse settings: LAKEHOUSE_DBT_TARGET, "
        "else duckdb embedded and trino on the platform)",
    )
    parser.add_argument("--force", action="store_true", help="parse even if the manifest is fresh")
    args = parser.parse_args(argv)
    if args.target is None:
        from lakehouse.settings import get_settings

        args.target = get_settings().analytics_target
    parsed = prepare(args.target, force=args.force)
    state = "built" if parsed else "up to date"
    print(f"dbt manifest for target {args.target} {state}: {manifest_path(args.target)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
