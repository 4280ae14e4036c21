"""What ``lakehouse demo`` shows: stage lines, engine output in a log file, its tail on failure."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from lakehouse.cli.console import DemoConsole, duration, log_tail


def test_durations_read_as_a_person_says_them() -> None:
    assert duration(4.24) == "4.2 s"
    assert duration(65) == "1 min 05 s"
    assert duration(3599.6) == "60 min 00 s"


def test_a_stage_ends_in_one_line_with_its_outcome() -> None:
    out = io.StringIO()
    console = DemoConsole(out, live=False)
    stage = console.stage("[1/3] raw", "extract the sources", total=10)
    stage.advance(3)
    stage.done("2,100 new records")
    console.stage("[2/3] transforms", "staging and analytics").failed()
    assert console.lines[0].startswith("✓ [1/3] raw  extract the sources  2,100 new records  ")
    assert console.lines[0].endswith(" s")
    assert console.lines[1].startswith("✗ [2/3] transforms  staging and analytics  FAILED  ")
    assert out.getvalue().splitlines() == console.lines


ENGINE_SCRIPT = """
import subprocess, sys, warnings
from pathlib import Path
from lakehouse.cli.console import engine_output_to
with engine_output_to(Path(sys.argv[1])) as terminal:
    print("from python")
    warnings.warn("a beta warning")
    subprocess.run([sys.executable, "-c", "print('from a child')"], check=True)
    terminal.write("for the person\\n")
print("after the block")
"""


def test_engine_output_of_the_process_and_its_children_goes_to_the_log(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "demo.log"
    done = subprocess.run(
        [sys.executable, "-c", ENGINE_SCRIPT, str(log)], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == ["for the person", "after the block"]
    assert done.stderr == ""
    text = log.read_text()
    for line in ("from python", "a beta warning", "from a child"):
        assert line in text
    assert "for the person" not in text and "after the block" not in text


def test_the_log_tail_is_its_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "engine.log"
    assert log_tail(log) == []
    log.write_text("".join(f"line {n}\n" for n in range(100)))
    assert log_tail(log, 3) == ["line 97", "line 98", "line 99"]
