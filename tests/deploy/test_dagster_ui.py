"""Two Dagster UIs, each behind its own oauth2-proxy group rule from the access table, and
webservers that survive a node: spread over nodes and guarded by disruption budgets."""

from __future__ import annotations

import json
import string

import yaml
from access_table import load
from deploy_checks import DEPLOY, ENVIRONMENTS, load_documents
from flows import inventory
from k8s_job import load_values

HELM = DEPLOY / "helm"
UIS = {  # oauth2-proxy release -> (its values file, the webserver component, dagster_ui)
    "oauth2-proxy": ("oauth2-proxy-dagster-values.yaml", "dagster-webserver", "full"),
    "oauth2-proxy-read-only": (
        "oauth2-proxy-dagster-read-only-values.yaml",
        "dagster-webserver-read-only",
        "read-only",
    ),
}
# The realm import's variable for each release's public URL (deploy/README.md, Prerequisites).
REALM_URL = {
    "oauth2-proxy": "DAGSTER_EXTERNAL_URL",
    "oauth2-proxy-read-only": "DAGSTER_READ_ONLY_EXTERNAL_URL",
}
# The chart's pod labels of each webserver (templates/helpers/_deployment-webserver.tpl).
SELECTOR = {"app.kubernetes.io/name": "dagster", "app.kubernetes.io/instance": "dagster"}


def _proxies(env: str) -> dict[str, dict]:
    """oauth2-proxy release -> its Application's Helm source, in the environment."""
    found = {}
    for app in load_documents(DEPLOY / "argocd" / f"{env}.yaml"):
        for source in app["spec"].get("sources") or []:
            if source.get("chart") == "oauth2-proxy":
                found[source["helm"]["releaseName"]] = source["helm"]
    return found


def _webserver_replicas(env: str) -> int:
    for app in load_documents(DEPLOY / "argocd" / f"{env}.yaml"):
        for source in app["spec"].get("sources") or []:
            if source.get("chart") == "dagster":
                overrides = source["helm"].get("valuesObject", {}).get("dagsterWebserver", {})
                return overrides.get(
                    "replicaCount", load_values()["dagsterWebserver"]["replicaCount"]
                )
    raise AssertionError(f"no dagster Application in {env}")


def test_the_chart_runs_a_read_only_webserver_beside_the_full_one():
    assert load_values()["dagsterWebserver"]["enableReadOnly"] is True


def test_each_ui_admits_exactly_the_groups_the_access_table_gives_it():
    table = load()
    hosts = {h: name for name, c in inventory()["components"].items() for h in c.get("hosts", [])}
    common = yaml.safe_load((HELM / "oauth2-proxy-values.yaml").read_text())
    assert "allowed_groups" not in common["config"]["configFile"]  # no rule shared by both
    for release, (values_file, component, ui) in UIS.items():
        args = yaml.safe_load((HELM / values_file).read_text())["extraArgs"]
        assert args["allowed-group"].split(",") == table.dagster_groups(ui), release
        host = args["upstream"].split("//")[1].split(":")[0]
        assert hosts[host] == component, release
    assert "data-analyst" not in table.dagster_groups("full")


def test_every_environment_deploys_both_proxies_with_their_rules():
    for env in ENVIRONMENTS:
        proxies = _proxies(env)
        assert set(proxies) == set(UIS), env
        for release, helm in proxies.items():
            files = [f.rsplit("/", 1)[-1] for f in helm["valueFiles"]]
            assert files == ["oauth2-proxy-values.yaml", UIS[release][0]], (env, release)
        hosts = {r: h["valuesObject"]["ingress"]["hosts"][0] for r, h in proxies.items()}
        assert len(set(hosts.values())) == 2, env  # one host per UI
        for release, helm in proxies.items():
            args = helm["valuesObject"]["extraArgs"]
            assert args["redirect-url"] == f"https://{hosts[release]}/oauth2/callback"
            assert args["cookie-domain"] == hosts[release]


def test_webserver_replicas_spread_over_nodes_and_keep_one_through_a_drain(rendered):
    """Issue 16: the README claimed 2+ replicas spread over nodes, with no spread or PDB."""
    affinity = load_values()["dagsterWebserver"]["affinity"]["podAntiAffinity"]
    (term,) = affinity["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert term["podAffinityTerm"]["labelSelector"]["matchLabels"] == SELECTOR
    assert term["podAffinityTerm"]["matchLabelKeys"] == ["component"]
    for env, docs in rendered.items():
        replicas = _webserver_replicas(env)
        assert replicas >= (1 if env == "dev" else 2), env
        budgets = {
            d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "PodDisruptionBudget"
        }
        for _, component, _ in UIS.values():
            budget = budgets[component]
            assert budget["selector"]["matchLabels"] == {**SELECTOR, "component": component}
            assert replicas - budget["maxUnavailable"] >= (0 if env == "dev" else 1), env


def test_the_realm_lets_each_ui_log_in_at_its_own_host_and_nowhere_else():
    """One Keycloak client, oauth2-proxy, serves both releases: its redirect URIs, with the
    realm import's variables set to each environment's hosts, are exactly the two callbacks."""
    realm = json.loads((DEPLOY / "keycloak" / "lakehouse-realm.json").read_text())
    (client,) = [c for c in realm["clients"] if c["clientId"] == "oauth2-proxy"]
    assert client["standardFlowEnabled"] and not client["serviceAccountsEnabled"]
    assert not client["implicitFlowEnabled"] and not client["directAccessGrantsEnabled"]
    for env in ENVIRONMENTS:
        proxies = _proxies(env)
        hosts = {r: h["valuesObject"]["ingress"]["hosts"][0] for r, h in proxies.items()}
        variables = {REALM_URL[r]: f"https://{hosts[r]}" for r in proxies}
        allowed = {string.Template(u).substitute(variables) for u in client["redirectUris"]}
        callbacks = {h["valuesObject"]["extraArgs"]["redirect-url"] for h in proxies.values()}
        assert allowed == callbacks, env
