"""What ``lakehouse demo`` shows a person: a line per stage, a bar while it runs, engine logs aside.

The engines write to the process's file descriptors 1 and 2: Spark's JVM, dbt (dagster-dbt
prints its lines), Dagster's console logger, Python warnings. ``engine_output_to`` points both
at a log file for the length of the demo, children included, and hands back a stream on the
terminal for the demo's own lines, so the user reads what happened and where the detail is.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

TAIL_LINES = 25


@contextlib.contextmanager
def engine_output_to(path: Path) -> Iterator[TextIO]:
    """File descriptors 1 and 2 (this process and its children) append to ``path`` inside the
    block; the stream yielded writes to the terminal's stdout as it was before."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(1), "w", buffering=1)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    try:
        yield terminal
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)
        terminal.close()


def log_tail(path: Path, lines: int = TAIL_LINES) -> list[str]:
    """The last ``lines`` lines of a log file (empty if it does not exist)."""
    if not path.is_file():
        return []
    return path.read_text(errors="replace").splitlines()[-lines:]


def duration(seconds: float) -> str:
    """``4.2 s``, ``1 min 05 s``: how long a stage took, for a person."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


class Stage:
    """One stage on the screen: a live line with a spinner or a bar, then its final line."""

    def __init__(self, console: DemoConsole, label: str, what: str, total: int | None) -> None:
        self._console, self.label, self.what = console, label, what
        self._started = time.monotonic()
        self._progress: Progress | None = None
        self._task = None
        if console.live:
            columns = [SpinnerColumn(), TextColumn("{task.description}")]
            if total is not None:
                columns += [BarColumn(), MofNCompleteColumn()]
            self._progress = Progress(
                *columns, TimeElapsedColumn(), console=console.rich, transient=True
            )
            self._task = self._progress.add_task(f"{label}  {what}", total=total)
            self._progress.start()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def advance(self, steps: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, steps)

    def doing(self, detail: str) -> None:
        """What the stage is busy with right now (shown live only)."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=f"{self.label}  {self.what}: {detail}")

    def _finish(self, mark: str, outcome: str) -> None:
        if self._progress is not None:
            self._progress.stop()
        self._console.line(f"{mark} {self.label}  {self.what}  {outcome}  {duration(self.elapsed)}")

    def done(self, outcome: str = "done") -> None:
        self._finish("✓", outcome)

    def failed(self, outcome: str = "FAILED") -> None:
        self._finish("✗", outcome)


class DemoConsole:
    """The demo's output stream; live bars only on a terminal, plain lines elsewhere."""

    def __init__(self, out: TextIO | None = None, *, live: bool | None = None) -> None:
        self.rich = Console(file=out or sys.stdout, highlight=False, soft_wrap=True)
        self.live = self.rich.is_terminal if live is None else live
        self.lines: list[str] = []

    def line(self, text: str = "") -> None:
        self.lines.append(text)
        self.rich.print(text, markup=False)

    def stage(self, label: str, what: str, total: int | None = None) -> Stage:
        return Stage(self, label, what, total)
