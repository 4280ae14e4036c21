"""The NetworkPolicies allow every flow of deploy/flows.yaml, and deny the flows it does not list.

Evaluated per overlay as Kubernetes would (tests/deploy/k8s_network.py): default deny, pod and
namespace selectors, named and numbered ports, ipBlock ranges, both the source's egress and the
destination's ingress.
"""

from __future__ import annotations

import copy

import pytest
from flows import Flow, addressed, configured, covers, inventory, listed, pods
from k8s_network import allows

# Destinations holding data or credentials: any source the inventory does not list is refused.
GUARDED = (
    ("postgresql", 5432),
    ("minio", 9000),
    ("lakekeeper", 8443),
    ("lakekeeper", 8181),
    ("keycloak", 8443),
    ("trino-coordinator", 8443),
    ("trino-coordinator", 8080),
    ("trino-worker", 8080),
    ("spark-connect", 15443),
    ("spark-connect", 15002),
    ("airbyte-server", 8443),
    ("dagster-webserver", 8080),
    ("dagster-webserver-read-only", 8080),
    ("code-server", 3030),
)


def _blocked(docs, flows) -> list[Flow]:
    everyone = pods()
    return [f for f in flows if not allows(docs, everyone[f.source], everyone[f.target], f.port)]


def test_the_inventory_names_known_components_and_says_why():
    names = set(inventory()["components"])
    for flow in inventory()["flows"]:
        assert {flow["from"], flow["to"]} <= names, flow
        assert isinstance(flow["port"], int) and len(flow["why"].split()) >= 2, flow


def test_every_listed_flow_is_allowed(env_docs):
    env, docs = env_docs
    assert _blocked(docs, sorted(listed(), key=str)) == [], env


def test_every_flow_the_configuration_makes_is_listed(env_docs):
    env, docs = env_docs
    derived = configured(docs)
    assert len(derived) > 30, "the configuration names the platform's services"
    assert sorted(derived - listed(), key=str) == [], env


def _opened(docs, target: str, port: int) -> list[str]:
    """Components the inventory does not list as clients of ``target:port`` that reach it."""
    everyone = pods()
    clients = {f.source for f in listed() if (f.target, f.port) == (target, port)}
    return [
        name
        for name, pod in everyone.items()
        if not any(covers(client, name) for client in clients)
        and name != target
        and not pod.external
        and allows(docs, pod, everyone[target], port)
    ]


@pytest.mark.parametrize(("target", "port"), GUARDED)
def test_unlisted_flows_to_guarded_services_are_denied(rendered, target, port):
    for env, docs in rendered.items():
        assert _opened(docs, target, port) == [], (env, target, port)


def test_the_blocked_flows_of_the_review_are_open(rendered):
    """The flows issue 16 found closed: Keycloak's database, the login's back channel, the disk
    and backup metrics, and the email receiver."""
    review = [
        Flow("keycloak", "postgresql", 5432),
        Flow("oauth2-proxy", "keycloak", 8443),
        Flow("prometheus", "node", 10250),
        Flow("prometheus", "node", 9100),
        Flow("prometheus", "velero", 8085),
        Flow("alertmanager", "smtp-relay", 587),
    ]
    assert set(review) <= listed()
    for docs in rendered.values():
        assert _blocked(docs, review) == []


# ---- mutation tests ----


def test_a_removed_egress_rule_is_caught(rendered):
    docs = copy.deepcopy(rendered["prod"])
    (policy,) = [d for d in docs if d["metadata"]["name"] == "allow-keycloak-egress"]
    policy["spec"]["egress"] = []
    assert Flow("keycloak", "postgresql", 5432) in _blocked(docs, listed())


def test_engines_reopened_to_postgresql_are_caught(rendered):
    """Today's review: Trino and Spark (analytics pods) reached PostgreSQL."""
    docs = copy.deepcopy(rendered["prod"])
    assert _opened(docs, "postgresql", 5432) == []
    (ingress,) = [d for d in docs if d["metadata"]["name"] == "allow-postgresql-clients"]
    ingress["spec"]["ingress"][0]["from"].append(
        {
            "namespaceSelector": {
                "matchLabels": {"kubernetes.io/metadata.name": "data-platform-processing"}
            }
        }
    )
    (egress,) = [d for d in docs if d["metadata"]["name"] == "allow-engine-egress"]
    egress["spec"]["egress"].append({"ports": [{"protocol": "TCP", "port": 5432}]})
    assert {"trino-coordinator", "trino-worker", "spark-connect"} <= set(
        _opened(docs, "postgresql", 5432)
    )


def test_addresses_resolve_to_components_and_ports():
    text = (
        "LAKEHOUSE_CATALOG_URI=https://lakekeeper.data-platform-governance.svc.cluster.local:8443/catalog\n"
        "host: postgresql.data-platform-storage.svc.cluster.local\n"
        "smtp_smarthost: smtp.data-platform.local:587\n"
        "url: https://unknown.data-platform-core.svc.cluster.local\n"
    )
    assert addressed(text) == {("lakekeeper", 8443), ("postgresql", 5432), ("smtp-relay", 587)}
