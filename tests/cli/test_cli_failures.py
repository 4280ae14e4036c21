"""Every known failure of a ``lakehouse`` command is one line naming the fix, exit code 2; the
traceback only with ``--debug``."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import _run

from lakehouse.cli.failures import one_line
from lakehouse.iceberg.unreachable import CatalogUnavailableError
from lakehouse.raw.extraction import ExtractionError

UNREACHABLE = "postgresql+psycopg2://postgres@127.0.0.1:9/none"


@pytest.mark.parametrize("command", [["tables"], ["quarantine", "list"], ["demo"]], ids=" ".join)
def test_an_unreachable_catalog_is_one_line_naming_the_setting(tmp_path, command):
    result = _run(*command, home=tmp_path, LAKEHOUSE_CATALOG_URI=UNREACHABLE)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    # Only Dagster's own warnings (beta parameters, while the definitions load) may precede it.
    (line,) = [line for line in result.stderr.splitlines() if not _dagster_warning(line)]
    assert line.startswith("error: cannot open the sql catalog 'lakehouse' at ")
    assert "127.0.0.1:9" in line and "LAKEHOUSE_CATALOG_URI" in line


def _dagster_warning(line: str) -> bool:
    return (
        "BetaWarning" in line or "PreviewWarning" in line or line == "  return fn(*args, **kwargs)"
    )


def test_debug_shows_the_traceback(tmp_path):
    result = _run("--debug", "tables", home=tmp_path, LAKEHOUSE_CATALOG_URI=UNREACHABLE)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "CatalogUnavailableError" in result.stderr


@pytest.mark.parametrize("command", [["tables"], ["quarantine", "list"], ["demo"]], ids=" ".join)
def test_a_home_that_is_a_file_is_one_line_naming_the_setting(tmp_path, command):
    home = tmp_path / "home"
    home.write_text("not a directory")
    result = _run(*command, home=home)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: invalid lakehouse settings: LAKEHOUSE_HOME: {home} is a file; "
        "name a directory (created if missing)"
    )


def _read_only(warehouse: Path) -> tuple[list[str], bool]:
    """A command prefix making ``warehouse`` read-only for the command, and whether its mode
    does it: for root (whom modes do not stop) a read-only bind mount in a mount namespace of
    the command's own, which goes with it."""
    if os.geteuid() != 0:
        return [], True
    unshare = shutil.which("unshare")
    allowed = (
        unshare is not None
        and subprocess.run([unshare, "-m", "true"], stderr=subprocess.DEVNULL).returncode == 0
    )
    if unshare is None or not allowed:
        reason = (
            "running as root without unshare(1) or the right to make a mount namespace "
            "(CAP_SYS_ADMIN): no way to make a directory read-only"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return [
        unshare,
        "-m",
        "sh",
        "-c",
        'mount --bind -o ro "$0" "$0" && exec "$@"',
        str(warehouse),
    ], False


def test_a_read_only_warehouse_is_one_line_naming_it_before_any_step(tmp_path):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    prefix, by_mode = _read_only(warehouse)
    if by_mode:
        warehouse.chmod(0o555)
    try:
        result = _run("demo", home=tmp_path, prefix=prefix)
    finally:
        warehouse.chmod(0o755)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"error: cannot write {warehouse}: {'Permission denied' if by_mode else 'Read-only file system'}; "
        "LAKEHOUSE_HOME and LAKEHOUSE_WAREHOUSE must name directories this user can write"
    ]
    assert "[1/3]" not in result.stdout  # nothing was started
    assert list(warehouse.iterdir()) == []


def test_a_file_where_the_warehouse_goes_is_one_line_naming_it(tmp_path):
    (tmp_path / "warehouse").write_text("not a directory")
    result = _run("demo", home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: cannot create the directory {tmp_path / 'warehouse'}: a file is in the way; "
        "LAKEHOUSE_HOME and LAKEHOUSE_WAREHOUSE must name directories this user can write"
    ]


def test_an_unwritable_warehouse_names_the_path_and_the_settings():
    error = PermissionError(errno.EROFS, "Read-only file system", "/srv/warehouse/raw")
    assert one_line(error) == (
        "cannot write /srv/warehouse/raw: Read-only file system; LAKEHOUSE_HOME and "
        "LAKEHOUSE_WAREHOUSE must name directories this user can write",
        2,
    )


def test_the_cause_is_found_inside_the_errors_that_wrap_it():
    try:
        try:
            raise ExtractionError("source-faker sync of users failed: 'many' is not an integer")
        except ExtractionError as cause:
            raise RuntimeError("step failed: airbyte_source_faker") from cause
    except RuntimeError as wrapped:
        line, code = one_line(wrapped)
    assert (line, code) == ("source-faker sync of users failed: 'many' is not an integer", 2)
    assert one_line(CatalogUnavailableError("cannot open the rest catalog 'x' at y"))[1] == 2


def test_an_unknown_failure_is_one_line_pointing_at_debug():
    assert one_line(KeyError("oops")) == (
        "KeyError: 'oops' (rerun with --debug for the traceback)",
        1,
    )


DAGSTER = Path(sys.executable).parent / "dagster"
BAD_SETTING = {"LAKEHOUSE_CATALOG_TYPE": "hive"}


def _dagster(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Dagster's own CLI on an instance of its own, telemetry off: on a machine where Dagster
    never ran, its first command prints a welcome banner that is not ours to test."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LAKEHOUSE_", "DAGSTER_"))}
    instance = home / "dagster-instance"
    instance.mkdir(exist_ok=True)
    (instance / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return subprocess.run(
        [str(DAGSTER), *args, "-m", "lakehouse.definitions"],
        env=clean
        | {"LAKEHOUSE_HOME": str(home), "DAGSTER_HOME": str(instance), "NO_COLOR": "1"}
        | BAD_SETTING,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _ours(output: str) -> list[str]:
    """Output lines but Dagster's deprecation notices of its own commands."""
    return [
        line
        for line in output.splitlines()
        if "SupersessionWarning" not in line and line != "  return callback(*args, **kwargs)"
    ]


def test_a_bad_setting_under_dagster_job_execute_is_the_cli_line_alone(tmp_path):
    (cli_line,) = _run("tables", home=tmp_path, **BAD_SETTING).stderr.splitlines()
    assert "LAKEHOUSE_CATALOG_TYPE" in cli_line
    result = _dagster("job", "execute", "-j", "raw_ingest_job", home=tmp_path)
    assert result.returncode == 1
    assert _ours(result.stderr) == [cli_line]
    assert "Traceback" not in result.stdout + result.stderr


def test_a_bad_setting_makes_the_location_fail_to_load_with_the_cli_line(tmp_path):
    (cli_line,) = _run("tables", home=tmp_path, **BAD_SETTING).stderr.splitlines()
    result = _dagster("definitions", "validate", home=tmp_path)
    assert result.returncode == 1
    output = [line for line in _ours(result.stderr + result.stdout) if line.strip()]
    failed = next(
        i for i, line in enumerate(output) if "Validation failed for code location" in line
    )
    # Dagster's heading, then our line first, as the UI shows a location that failed to load.
    assert output[failed + 1] == (
        f"lakehouse.definitions.LocationSettingsError: {cli_line.removeprefix('error: ')}"
    )
