"""The end-to-end benches' parts, fast: a real run takes minutes (Spark start, dbt), so these
keep the scripts from rotting without running the graph: their data passes the contracts and
lands through the IO manager, memory is measured across a process tree, scans are counted."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import demo  # noqa: E402
import e2e  # noqa: E402
import incremental  # noqa: E402
import synthetic  # noqa: E402
from process_memory import run_measured  # noqa: E402

from lakehouse.io_manager import IcebergIOManager  # noqa: E402
from lakehouse.quality import validate_table  # noqa: E402
from lakehouse.raw.schemas import SCHEMAS  # noqa: E402
from lakehouse.settings import load_settings  # noqa: E402

NOW = dt.datetime(2024, 6, 30, tzinfo=dt.UTC)


def _batches() -> dict[str, object]:
    start = NOW - dt.timedelta(days=3)
    return {
        "users": synthetic.users(50, before=NOW),
        "products": synthetic.products(before=NOW),
        "purchases": synthetic.purchases(200, start=start, end=NOW, users=50),
    }


def test_synthetic_raw_tables_pass_the_raw_contracts() -> None:
    for stream, table in _batches().items():
        report = validate_table(SCHEMAS[stream], table)
        assert report.passed, f"{stream}: {report.summary()}"


def test_synthetic_raw_lands_through_the_io_manager_and_scans_are_counted(tmp_path) -> None:
    environ = {"LAKEHOUSE_HOME": str(tmp_path)}
    asset = synthetic.build_synthetic_raw_asset(_batches())
    result = dg.materialize(
        [asset], resources={"io_manager": IcebergIOManager(settings=load_settings(environ))}
    )
    assert result.success
    catalog = incremental.build_catalog(incremental.load_settings(environ))
    with incremental.counting_scans() as scans:
        assert catalog.load_table("raw.faker_purchases").scan().to_arrow().num_rows == 200
    assert scans["raw.faker_purchases"] == (3, 200)  # one file per day: partitioned by day


def test_process_tree_memory_includes_grandchildren(tmp_path) -> None:
    grandchild = "b = bytearray(150 * 1024 * 1024); import time; time.sleep(1.0)"
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}])"
    measured = run_measured([sys.executable, "-c", child], log=tmp_path / "log")
    assert measured.returncode == 0
    assert measured.peak_tree_bytes > 150 * 1024 * 1024


def test_e2e_report_prints_growth(capsys: pytest.CaptureFixture[str]) -> None:
    row = {
        "job_seconds": 2.0,
        "process_seconds": 3.0,
        "peak_tree_mb": 100.0,
        "peak_process_mb": 50.0,
    }
    results = {
        10: {layer: dict(row) for layer in e2e.LAYERS},
        100: {layer: {key: value * 4 for key, value in row.items()} for layer in e2e.LAYERS},
    }
    e2e.report(results, "synthetic", 30)
    out = capsys.readouterr().out
    assert "growth 10 -> 100 (10x the purchases)" in out
    assert "4.00x" in out


def test_the_platform_report_puts_the_runtimes_side_by_side(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import argparse
    import runpy

    bench = argparse.Namespace(**runpy.run_path(str(BENCH / "platform" / "__main__.py")))

    row = {"job_seconds": 2.0}
    layers = {
        (10, "embedded"): {layer: dict(row) for layer in e2e.LAYERS},
        (10, "platform"): {layer: {"job_seconds": 6.0} for layer in e2e.LAYERS},
    }
    queries = {
        (10, "embedded"): {"first_seconds": 1.0, "median_seconds": 0.1},
        (10, "platform"): {"first_seconds": 2.0, "median_seconds": 0.5},
    }
    bench.report(layers, queries, argparse.Namespace(source="synthetic", days=30))
    out = capsys.readouterr().out
    total = next(line for line in out.splitlines() if " total " in line)
    assert total.split() == ["10", "total", "8.0", "24.0", "3.0x"]
    assert "5.0x" in out and "Trino 2.00 s" in out


@pytest.mark.parametrize("script", ["e2e.py", "incremental.py", "platform"])
def test_bench_scripts_parse_their_arguments(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "--reps" in done.stdout


def test_demo_bench_reads_the_stage_durations_the_demo_prints() -> None:
    lines = [
        "lakehouse demo: embedded runtime; the engines' log goes to x.log",
        "✓ [1/3] raw  extract source-faker's streams  2,100 new records  25.1 s",
        "✓ [2/3] transforms  staging and analytics over 324 months, 2000-01 to 2026-12, in 1 run"
        "  1,000 raw purchases  1 min 05 s",
        "✗ [3/3] ml  churn set  FAILED  3.0 s",
        "table    rows",
    ]
    assert demo.stage_seconds(lines) == {"raw": 25.1, "transforms": 65.0, "ml": 3.0}


def test_demo_bench_parses_its_arguments() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "demo.py"), "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "--repo" in done.stdout


def test_demo_bench_reads_each_steps_time_and_the_gaps_between_runs_from_the_log() -> None:
    def event(at: str, kind: str, step: str | None = None) -> str:
        where = f"{step} - " if step else ""
        return f"2026-12-04 05:{at} +0000 - dagster - DEBUG - job - 1a-2b - 42 - {where}{kind} - x"

    lines = [
        event("30:35", "RUN_START"),
        event("30:36", "STEP_START", "airbyte_source_faker"),
        "some dbt line in between",
        event("30:41", "STEP_SUCCESS", "airbyte_source_faker"),
        event("30:45", "RUN_SUCCESS"),
        event("31:51", "RUN_START"),
        event("31:52", "STEP_START", "staging__products"),
        event("32:13", "STEP_FAILURE", "staging__products"),
        event("32:14", "RUN_FAILURE"),
    ]
    assert demo.step_seconds(lines) == [
        ("airbyte_source_faker", 5.0),
        ("(before the run)", 66.0),
        ("staging__products", 21.0),
    ]
