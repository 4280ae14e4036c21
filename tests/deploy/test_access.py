"""Least privilege on data: Trino's rules come from the access table and the PII tags.

The generated files must be the generator's output; evaluated as Trino does
(tests/deploy/trino_access.py), the rules give every principal exactly its row of
deploy/access/access.yaml and mask every column the lakehouse tags PII for groups without the
pii role, in the table, its quarantine copy and its metadata tables.
"""

from __future__ import annotations

import copy
import json
import re

import pytest
import yaml
from access_table import AccessTableError, load, parse
from access_trino import MASK, PRIVILEGES, trino_rules
from deploy_checks import DEPLOY
from generate_access import TRINO_RULES, render
from trino_access import (
    Identity,
    catalog_access,
    column_masks,
    query_access,
    schema_owner,
    table_privileges,
)

TABLE = load()
CATALOG = TABLE.trino_catalog


def _identity(principal) -> Identity:
    if principal.trino_user:
        return Identity(principal.trino_user)
    return Identity(f"someone-in-{principal.name}", frozenset({principal.name}))


@pytest.fixture(scope="module")
def rules(personal_data):
    return trino_rules(TABLE, personal_data)


def test_the_committed_files_are_the_generators_output(personal_data):
    stale = [
        str(path.relative_to(DEPLOY))
        for path, text in render(TABLE, personal_data).items()
        if not path.exists() or path.read_text() != text
    ]
    assert stale == [], "run .venv/bin/python deploy/access/generate_access.py"


def test_the_lakehouse_declares_pii_where_the_rules_look(personal_data):
    """The tags the generator reads exist (raw, staging and analytics user tables)."""
    tables = set(personal_data.pii_columns)
    assert {("raw", "faker_users"), ("staging", "users"), ("analytics", "dim_customers")} <= tables
    assert "email" in personal_data.pii_columns[("staging", "users")]
    assert ("ml", "customer_features") in personal_data.tables  # a subject id: personal data


def test_each_principal_gets_exactly_its_row(rules):
    for principal in TABLE.principals:
        who = _identity(principal)
        for namespace in TABLE.namespaces:
            level = principal.access.get(namespace)
            got = table_privileges(rules, who, CATALOG, namespace, "a_table_without_pii")
            assert got == set(PRIVILEGES[level] if level else []), (principal.name, namespace)
            assert schema_owner(rules, who, CATALOG, namespace) == (level == "write")


def test_analysts_read_analytics_and_ml_only():
    (analyst,) = [p for p in TABLE.groups if p.name == "data-analyst"]
    assert analyst.access == {"analytics": "read", "ml": "read"} and not analyst.pii
    (engineer,) = [p for p in TABLE.groups if p.name == "data-engineer"]
    assert {engineer.access[ns] for ns in ("raw", "staging", "analytics", "ml")} == {"write"}


def test_pii_columns_are_masked_for_groups_without_the_pii_role(rules, personal_data):
    suffix = personal_data.quarantine_suffix
    checked = 0
    for principal in TABLE.principals:
        who = _identity(principal)
        for (namespace, table), columns in personal_data.pii_columns.items():
            if namespace not in principal.access:
                assert table_privileges(rules, who, CATALOG, namespace, table) == set()
                continue
            for name in (table, f"{table}{suffix}"):
                masks = column_masks(rules, who, CATALOG, namespace, name)
                expected = {} if principal.pii else dict.fromkeys(columns, MASK)
                assert masks == expected, (principal.name, namespace, name)
                assert table_privileges(rules, who, CATALOG, namespace, name)
                # $files and $partitions hold column bounds: refused where masks apply.
                meta = table_privileges(rules, who, CATALOG, namespace, f"{name}$files")
                assert bool(meta) == principal.pii, (principal.name, name)
                checked += 1
    assert checked >= 6  # analysts and scientists meet dim_customers and staging.users


def test_a_person_in_two_groups_gets_the_more_privileged_row(rules):
    both = Identity("alice", frozenset({"data-analyst", "data-engineer"}))
    assert "INSERT" in table_privileges(rules, both, CATALOG, "analytics", "dim_customers")
    assert column_masks(rules, both, CATALOG, "analytics", "dim_customers") == {}


def test_strangers_get_nothing_and_only_admins_see_others_queries(rules):
    stranger = Identity("mallory", frozenset({"contractors"}))
    assert catalog_access(rules, stranger, CATALOG) == "none"
    assert all(
        table_privileges(rules, stranger, CATALOG, ns, "t") == set() for ns in TABLE.namespaces
    )
    assert query_access(rules, stranger) == {"execute"}
    admin = Identity("root", frozenset({"platform-admin"}))
    assert query_access(rules, admin) == {"execute", "view", "kill"}
    assert rules["impersonation"] == []  # every client runs as the user its token names


def test_trino_reads_the_generated_rules(rendered):
    values = yaml.safe_load((DEPLOY / "helm" / "trino-values.yaml").read_text())
    properties = dict(
        line.split("=", 1) for line in values["accessControl"]["properties"].splitlines()
    )
    assert values["accessControl"]["type"] == "properties"
    assert properties["access-control.name"] == "file"
    (mount,) = [m for m in values["configMounts"] if m["configMap"] == "trino-access-rules"]
    assert "subPath" not in mount  # a directory mount: updates reach the running coordinator
    assert properties["security.config-file"] == f"{mount['path']}/rules.json"
    for docs in rendered.values():
        (configmap,) = [d for d in docs if d["metadata"]["name"] == "trino-access-rules"]
        assert json.loads(configmap["data"]["rules.json"]) == json.loads(TRINO_RULES.read_text())


# ---- mutation tests ----


def test_a_dropped_mask_is_caught(rules, personal_data):
    broken = copy.deepcopy(rules)
    for rule in broken["tables"]:
        rule["columns"] = [c for c in rule.get("columns", []) if c["name"] != "email"]
    analyst = Identity("bob", frozenset({"data-analyst"}))
    masks = column_masks(broken, analyst, CATALOG, "analytics", "dim_customers")
    assert (
        "email" not in masks
        and "email" in personal_data.pii_columns[("analytics", "dim_customers")]
    )


def test_a_namespace_wide_rule_first_would_unmask(rules):
    broken = copy.deepcopy(rules)
    analyst = Identity("bob", frozenset({"data-analyst"}))
    broken["tables"].insert(
        0, {"group": "data-analyst", "schema": "analytics", "privileges": ["SELECT"]}
    )
    assert column_masks(broken, analyst, CATALOG, "analytics", "dim_customers") == {}
    assert column_masks(rules, analyst, CATALOG, "analytics", "dim_customers")


def test_the_table_refuses_unknown_namespaces_and_levels():
    data = yaml.safe_load((DEPLOY / "access" / "access.yaml").read_text())
    wrong = copy.deepcopy(data)
    wrong["groups"]["data-analyst"]["access"]["finance"] = "read"
    with pytest.raises(AccessTableError, match="finance"):
        parse(wrong)
    wrong = copy.deepcopy(data)
    wrong["groups"]["data-analyst"]["access"]["ml"] = "admin"
    with pytest.raises(AccessTableError, match="read or write"):
        parse(wrong)


def test_the_lakehouses_trino_users_are_service_accounts_of_the_table(rendered):
    """No impersonation: dbt and the upkeep must run as the user their token names."""
    users = {p.trino_user for p in TABLE.services}
    for env, docs in rendered.items():
        config = next(d for d in docs if d["metadata"]["name"] == "lakehouse-settings")["data"]
        for name in ("LAKEHOUSE_TRINO_USER", "LAKEHOUSE_UPKEEP_TRINO_USER"):
            assert config[name] in users, (env, name)


def test_the_readme_table_is_the_access_table():
    """deploy/README.md shows the table; it must say what access.yaml says."""
    readme = (DEPLOY / "README.md").read_text()
    section = readme.split("## Access to data", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    header = next(line for line in section.splitlines() if line.startswith("| | raw"))
    columns = [c.strip() for c in header.strip("|").split("|")][1:]
    shown = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        for name in re.findall(r"`([\w-]+)`", cells[0]):
            shown[name] = dict(zip(columns, cells[1:], strict=True))
    assert set(shown) == {p.name for p in TABLE.principals}
    for principal in TABLE.principals:
        row = shown[principal.name]
        for namespace in TABLE.namespaces:
            assert row[namespace] == principal.access.get(namespace, ""), (
                principal.name,
                namespace,
            )
        assert row["pii"] == ("yes" if principal.pii else "no"), principal.name
        assert row["Dagster UI"] == (principal.dagster_ui or ""), principal.name
