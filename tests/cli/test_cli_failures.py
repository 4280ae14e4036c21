"""Every known failure of a ``lakehouse`` command is one line naming the fix, exit code 2; the
traceback only with ``--debug``."""

from __future__ import annotations

import errno

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


def test_a_home_that_is_a_file_is_one_line_naming_the_setting(tmp_path):
    home = tmp_path / "home"
    home.write_text("not a directory")
    result = _run("tables", home=home)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: invalid lakehouse settings: LAKEHOUSE_HOME: {home} is a file; "
        "name a directory (created if missing)"
    )


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
