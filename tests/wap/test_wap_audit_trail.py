"""Write-audit-publish tells governance what it did: each quarantined batch is an audit row
(seed §5.1), each contract rule an OpenLineage assertion on the check (§3.1), each replay a row."""

from __future__ import annotations

import json
import os
import subprocess

import dagster as dg

from lakehouse.governance.audit.configured import audit_store
from lakehouse.governance.lineage.dagster_lineage import ASSERTIONS_METADATA
from lakehouse.wap.quarantine import BATCH, read_quarantine
from tests.raw.raw_batches import products
from tests.wap.test_quarantine_replay import LAKEHOUSE

IDENTIFIER = ("raw", "faker_products")


def test_a_quarantined_batch_is_an_audit_row_with_the_rules_it_broke(run_products, settings):
    assert run_products(products([1, 2], [1.0, 2.0]))[0].success
    assert audit_store(settings).list(object="raw.faker_products") == []

    bad, _ = run_products(products([3, 4, 5], [-3.0, None, 5.0]))

    assert not bad.success
    (row,) = [r.record for r in audit_store(settings).list(object="raw.faker_products")]
    assert (row.action, row.run_id) == ("wap.quarantine", bad.run_id)
    assert row.details["rows"] == 3
    assert row.details["rules"] == {
        "price: greater_than_or_equal_to(0)": 1,
        "price: not_nullable": 1,
        "<batch>: batch_rejected": 1,
    }
    assert audit_store(settings).verify().ok


def test_the_gate_reports_every_contract_rule_as_an_assertion(run_products):
    bad, _ = run_products(products([3, 3], [1.0, 2.0]))

    (evaluation,) = bad.get_asset_check_evaluations()
    assertions = evaluation.metadata[ASSERTIONS_METADATA].value
    assert isinstance(evaluation.metadata[ASSERTIONS_METADATA], dg.JsonMetadataValue)
    by_rule = {(a.get("column"), a["name"]): a["success"] for a in assertions}
    assert by_rule[("id", "field_uniqueness")] is False
    assert by_rule[("price", "not_nullable")] is True
    assert len(by_rule) == len(assertions) > 3


def test_a_replay_from_the_cli_is_an_audit_row(run_products, catalog, settings, tmp_path):
    assert not run_products(products([3, 4], [-3.0, 4.0]))[0].success
    batch = read_quarantine(catalog, IDENTIFIER)[BATCH][0].as_py()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["LAKEHOUSE_HOME"] = str(tmp_path)

    done = subprocess.run(
        [str(LAKEHOUSE), "quarantine", "replay", "raw.faker_products"],
        env=env,
        capture_output=True,
        text=True,
    )

    assert done.returncode == 0, done.stderr
    actions = [r.record for r in audit_store(settings).list(object="raw.faker_products")]
    assert [r.action for r in actions] == ["wap.quarantine", "wap.replay"]
    assert actions[0].details["batch"] == batch
    assert actions[1].details == {"batches": 1, "published_rows": 1, "still_failing_rows": 1}
    assert json.loads(json.dumps(actions[1].details))  # plain JSON, as audit list --json prints
