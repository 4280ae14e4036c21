"""Reliability fixtures: the counts report, and a throw-away PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import reliability_counts
from throwaway_postgres import ThrowawayPostgres, start_throwaway_postgres


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if reliability_counts.COUNTS:
        terminalreporter.section("reliability counts")
        for line in reliability_counts.lines():
            terminalreporter.write_line(line)
    reliability_counts.write_report()


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """A PostgreSQL server of this test's own, on a free loopback port, stopped at the end."""
    with start_throwaway_postgres() as server:
        yield server
