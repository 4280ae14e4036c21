"""A commit another writer makes to main between the audit and the publish is never lost."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pytest

from lakehouse.iceberg.write_request import WriteRequest
from lakehouse.iceberg.writes import write
from lakehouse.quality import RowValidation, validate_rows
from lakehouse.raw.schemas import SCHEMAS
from lakehouse.wap.audit import PUBLISH_CONFLICT, run_audit
from lakehouse.wap.quarantine import RULE, read_quarantine
from lakehouse.wap.target import AuditTarget
from tests.raw.raw_batches import products
from tests.wap.conftest import TABLE, main_ids_by_duckdb

IDENTIFIER = ("raw", "faker_products")
BRANCH = "audit/run-1"


@pytest.fixture
def staged(catalog) -> AuditTarget:
    """Main holds ids 1-3; ids 4-5 wait on the audit branch."""
    write(catalog, products([1, 2, 3], [1.0, 2.0, 3.0]), WriteRequest(IDENTIFIER, mode="append"))
    request = WriteRequest(IDENTIFIER, mode="append", branch=BRANCH)
    write(catalog, products([4, 5], [4.0, 5.0]), request)
    return AuditTarget(catalog, IDENTIFIER, BRANCH, "run-1")


def _racing(catalog, ids: list[list[int]]) -> Callable[[pa.Table], RowValidation]:
    """The contract, plus another writer committing to main while each audit validates."""
    pending = list(ids)

    def validate(table: pa.Table) -> RowValidation:
        if pending:
            batch = pending.pop(0)
            write(catalog, products(batch, [9.0] * len(batch)), WriteRequest(IDENTIFIER, "append"))
        return validate_rows(SCHEMAS["products"], table)

    return validate


def test_main_moving_during_the_audit_is_rebased_and_revalidated(catalog, staged):
    outcome = run_audit(staged, _racing(catalog, [[90]]))

    assert outcome.published and outcome.attempts == 2
    assert main_ids_by_duckdb(catalog) == [1, 2, 3, 4, 5, 90]
    assert list(catalog.load_table(TABLE).refs()) == ["main"]


def test_a_rebase_that_breaks_the_contract_is_not_published(catalog, staged):
    # The other writer commits id 4 too: the rebased batch now duplicates a key on main.
    outcome = run_audit(staged, _racing(catalog, [[4]]))

    assert not outcome.published
    assert main_ids_by_duckdb(catalog) == [1, 2, 3, 4]
    assert sorted(read_quarantine(catalog, IDENTIFIER)["id"].to_pylist()) == [4, 5]


def test_a_main_that_keeps_moving_ends_in_quarantine_never_overwritten(catalog, staged):
    outcome = run_audit(staged, _racing(catalog, [[90], [91], [92], [93]]))

    assert not outcome.published
    assert main_ids_by_duckdb(catalog) == [1, 2, 3, 90, 91, 92, 93]
    quarantined = read_quarantine(catalog, IDENTIFIER)
    assert sorted(quarantined["id"].to_pylist()) == [4, 5]
    assert set(quarantined[RULE].to_pylist()) == {PUBLISH_CONFLICT}
