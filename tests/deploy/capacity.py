"""The most every namespace can ask for at once: each workload at its ceiling, in pods, requests
and limits, to hold against the namespace's ResourceQuota.

Ceilings: a Deployment's HPA maximum (else its replicas), the Trino chart's autoscaling
maximum, Spark's dynamic-allocation maximum (Spark Connect and the SparkApplication), the
Dagster run queue (maxConcurrentRuns run pods, plus a pod per step when the executor launches
steps as pods), DaemonSets on every node, one pod per CronJob (concurrencyPolicy Forbid). A
container without resources gets its namespace's LimitRange defaults, as the admission does.
Helm releases are followed from their values (no Helm binary here); what the platform team
installs is sized from the seed's annex A (`PLATFORM`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml
from k8s_manifests import DEPLOY, Doc
from kubernetes.utils import parse_quantity

RESOURCES = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
HELM = DEPLOY / "helm"
CORE, STORAGE, INTEGRATION = (
    "data-platform-core",
    "data-platform-storage",
    "data-platform-integration",
)
PROCESSING, OBSERVABILITY = "data-platform-processing", "data-platform-observability"
# DaemonSets (node-exporter, Alloy) run a pod per node: the largest cluster each quota holds.
NODES = {"dev": 3, "staging": 6, "prod": 12}


@dataclass(frozen=True)
class Workload:
    namespace: str
    name: str
    pods: int
    containers: tuple[dict[str, Any], ...]  # each container's `resources` ({} when unset)


def quantity(value: Any) -> Decimal:
    return Decimal(parse_quantity(str(value)))


def spark_memory(value: str) -> Decimal:
    """Spark's memory units (3g = 3 GiB), which Kubernetes would read as other things."""
    units = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
    return Decimal(value[:-1]) * units[value[-1].lower()]


def _limit_defaults(docs: list[Doc]) -> dict[str, dict[str, dict]]:
    found = {}
    for doc in docs:
        if doc["kind"] == "LimitRange":
            (item,) = [i for i in doc["spec"]["limits"] if i["type"] == "Container"]
            found[doc["metadata"]["namespace"]] = {
                "requests": item["defaultRequest"],
                "limits": item["default"],
            }
    return found


def pod_demand(workload: Workload, defaults: dict[str, dict]) -> dict[str, Decimal]:
    """One pod's requests and limits, LimitRange defaults filling what a container leaves out."""
    total = dict.fromkeys(RESOURCES, Decimal(0))
    for resources in workload.containers:
        for kind in ("requests", "limits"):
            given = resources.get(kind) or {}
            for name in ("cpu", "memory"):
                # An unset request takes the limit when there is one (Kubernetes), else the default.
                value = given.get(name)
                if value is None and kind == "requests":
                    value = (resources.get("limits") or {}).get(name)
                if value is None:
                    value = defaults[kind][name]
                total[f"{kind}.{name}"] += quantity(value)
    return total


def demand(workloads: list[Workload], docs: list[Doc]) -> dict[str, dict[str, Decimal]]:
    """Namespace -> {pods, requests.cpu, ...} at every workload's ceiling."""
    defaults = _limit_defaults(docs)
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for w in workloads:
        per_pod = pod_demand(w, defaults[w.namespace])
        totals[w.namespace]["pods"] += w.pods
        for name, value in per_pod.items():
            totals[w.namespace][name] += value * w.pods
    return totals


def quotas(docs: list[Doc]) -> dict[str, dict[str, Decimal]]:
    return {
        d["metadata"]["namespace"]: {k: quantity(v) for k, v in d["spec"]["hard"].items()}
        for d in docs
        if d["kind"] == "ResourceQuota"
    }


# ---- the overlay's own objects ----


def _pod_containers(spec: dict) -> tuple[dict, ...]:
    """Containers whose resources a pod holds while it runs: its containers and native sidecars
    (init containers with restartPolicy Always). Plain init containers run before them, each
    alone: the pod's figure is the larger of the two (Kubernetes' effective request)."""
    running = [c.get("resources") or {} for c in spec.get("containers", [])]
    running += [
        c.get("resources") or {}
        for c in spec.get("initContainers", [])
        if c.get("restartPolicy") == "Always"
    ]
    one_off = [
        c.get("resources") or {}
        for c in spec.get("initContainers", [])
        if c.get("restartPolicy") != "Always"
    ]
    return (*running, *_excess(one_off, running))


def _excess(one_off: list[dict], running: list[dict]) -> list[dict]:
    """A pseudo-container making up the difference when an init container asks for more than
    the running ones together (rare here; kept exact rather than assumed away)."""
    if not one_off:
        return []
    extra: dict[str, dict[str, str]] = {"requests": {}, "limits": {}}
    for kind in ("requests", "limits"):
        for name in ("cpu", "memory"):
            init = max(quantity((c.get(kind) or {}).get(name, 0)) for c in one_off)
            run = sum(quantity((c.get(kind) or {}).get(name, 0)) for c in running)
            extra[kind][name] = str(max(init - run, Decimal(0)))
    return [extra]


def _scaled(docs: list[Doc]) -> dict[tuple[str, str], int]:
    """(namespace, Deployment) -> its HPA's maxReplicas."""
    return {
        (d["metadata"]["namespace"], d["spec"]["scaleTargetRef"]["name"]): d["spec"]["maxReplicas"]
        for d in docs
        if d["kind"] == "HorizontalPodAutoscaler"
    }


def _spark_pod(cores: Any, limit: Any, memory: str, overhead: str) -> dict:
    total = spark_memory(memory) + spark_memory(overhead)
    return {
        "requests": {"cpu": str(cores), "memory": str(total)},
        "limits": {"cpu": str(limit or cores), "memory": str(total)},
    }


def overlay_workloads(docs: list[Doc], nodes: int) -> list[Workload]:
    hpa = _scaled(docs)
    found = []
    for doc in docs:
        kind, meta = doc["kind"], doc["metadata"]
        ns, name = meta.get("namespace", ""), meta["name"]
        if kind in ("Deployment", "StatefulSet"):
            pods = hpa.get((ns, name), doc["spec"].get("replicas", 1))
            found.append(Workload(ns, name, pods, _pod_containers(doc["spec"]["template"]["spec"])))
        elif kind == "DaemonSet":
            found.append(
                Workload(ns, name, nodes, _pod_containers(doc["spec"]["template"]["spec"]))
            )
        elif kind == "CronJob":
            assert doc["spec"]["concurrencyPolicy"] == "Forbid", name  # else no bound on pods
            spec = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            found.append(Workload(ns, name, 1, _pod_containers(spec)))
        elif kind == "Job":
            pods = doc["spec"].get("parallelism", 1)
            found.append(Workload(ns, name, pods, _pod_containers(doc["spec"]["template"]["spec"])))
        elif kind == "SparkApplication":
            found += _spark_application(doc)
    found += _spark_connect_executors(docs)
    return found


def _spark_application(doc: Doc) -> list[Workload]:
    spec, ns, name = doc["spec"], doc["metadata"]["namespace"], doc["metadata"]["name"]
    driver, executor = spec["driver"], spec["executor"]
    allocation = spec.get("dynamicAllocation") or {}
    executors = allocation["maxExecutors"] if allocation.get("enabled") else executor["instances"]
    return [
        Workload(
            ns,
            f"{name}-driver",
            1,
            (
                _spark_pod(
                    driver["cores"],
                    driver.get("coreLimit"),
                    driver["memory"],
                    driver["memoryOverhead"],
                ),
            ),
        ),
        Workload(
            ns,
            f"{name}-executors",
            executors,
            (
                _spark_pod(
                    executor["cores"],
                    executor.get("coreLimit"),
                    executor["memory"],
                    executor["memoryOverhead"],
                ),
            ),
        ),
    ]


def _spark_connect_executors(docs: list[Doc]) -> list[Workload]:
    """Spark Connect's executors: dynamic allocation up to SPARK_MAX_EXECUTORS, each sized by
    the executor pod template (which matches the server's executor conf)."""
    (server,) = [
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "spark-connect"
    ]
    (container,) = [
        c for c in server["spec"]["template"]["spec"]["containers"] if c["name"] == "spark-connect"
    ]
    maximum = int(next(e["value"] for e in container["env"] if e["name"] == "SPARK_MAX_EXECUTORS"))
    (template,) = [d for d in docs if d["metadata"]["name"].startswith("spark-executor-template")]
    pod = yaml.safe_load(template["data"]["executor.yaml"])
    return [Workload(PROCESSING, "spark-connect-executors", maximum, _pod_containers(pod["spec"]))]
