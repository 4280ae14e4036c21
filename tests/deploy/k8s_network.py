"""Which flows the rendered NetworkPolicies admit, evaluated offline as a CNI would.

A connection needs both sides: an egress rule of the source's namespace (when a policy with
Egress selects the source) and an ingress rule of the destination's. ``ipBlock`` peers match by
address (``cidr`` minus ``except``); a pod is given an address in the pod network, and what sits
outside it (nodes, the API server, the SMTP relay) is an ``external`` Pod with its own address,
which no namespace or pod selector matches.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from k8s_manifests import Doc

POD_NETWORK_ADDRESS = "10.244.3.17"  # any pod's address, inside the cluster's pod CIDR


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: Mapping[str, str]
    ports: Mapping[str, int] = field(default_factory=dict)  # named container ports
    ip: str = POD_NETWORK_ADDRESS
    external: bool = False  # outside the pod network: no namespace, matched by ipBlock only


def external(ip: str) -> Pod:
    return Pod("", {}, ip=ip, external=True)


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A Kubernetes label selector; an empty one selects everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _namespace_labels(docs: list[Doc], namespace: str) -> dict[str, str]:
    labels = {"kubernetes.io/metadata.name": namespace}
    for doc in docs:
        if doc["kind"] == "Namespace" and doc["metadata"]["name"] == namespace:
            labels.update(doc["metadata"].get("labels") or {})
    return labels


def _in_block(block: Doc, ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    if address not in ipaddress.ip_network(block["cidr"]):
        return False
    return not any(address in ipaddress.ip_network(e) for e in block.get("except") or [])


def _peer_matches(docs: list[Doc], peer: Doc, policy_ns: str, pod: Pod) -> bool:
    if "ipBlock" in peer:
        return _in_block(peer["ipBlock"], pod.ip)
    if pod.external:
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], _namespace_labels(docs, pod.namespace)):
            return False
    elif pod.namespace != policy_ns:
        return False
    return selects(peer.get("podSelector"), pod.labels)


def _port_matches(ports: list[Doc] | None, port: int, target: Pod) -> bool:
    if not ports:
        return True
    for item in ports:
        if item.get("protocol", "TCP") != "TCP":
            continue
        wanted = item.get("port")
        if wanted is None or wanted == port or target.ports.get(str(wanted)) == port:
            return True
        if isinstance(wanted, int) and wanted <= port <= item.get("endPort", wanted):
            return True
    return False


def _policy_types(spec: Doc) -> list[str]:
    """policyTypes, or the API's default: Ingress, plus Egress when egress rules are set."""
    return spec.get("policyTypes") or ["Ingress"] + (["Egress"] if "egress" in spec else [])


def _side_allows(
    docs: list[Doc], direction: str, subject: Pod, peer: Pod, port: int, target: Pod
) -> bool:
    """Whether the policies selecting ``subject`` let it send (egress) or take (ingress)."""
    kind, peers_key = ("Egress", "to") if direction == "egress" else ("Ingress", "from")
    if subject.external:
        return True  # no NetworkPolicy governs what is outside the pod network
    policies = [
        d
        for d in docs
        if d["kind"] == "NetworkPolicy"
        and d["metadata"]["namespace"] == subject.namespace
        and kind in _policy_types(d["spec"])
        and selects(d["spec"].get("podSelector"), subject.labels)
    ]
    if not policies:
        return True  # not isolated in this direction
    return any(
        (
            not rule.get(peers_key)
            or any(_peer_matches(docs, p, subject.namespace, peer) for p in rule[peers_key])
        )
        and _port_matches(rule.get("ports"), port, target)
        for policy in policies
        for rule in policy["spec"].get(direction) or []
    )


def allows(docs: list[Doc], source: Pod, destination: Pod, port: int) -> bool:
    """Whether ``source`` may open a TCP connection to ``destination`` on ``port``."""
    return _side_allows(docs, "egress", source, destination, port, destination) and _side_allows(
        docs, "ingress", destination, source, port, destination
    )
