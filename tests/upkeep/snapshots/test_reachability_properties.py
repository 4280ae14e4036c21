"""Property tests of the file reachability shared by expiry and orphan removal.

Random histories of appends, overwrites, deletes, tags, branches and expiries, first on a model
(fast, many examples), then on real Iceberg tables (slow, few examples). In both, a file is
deleted if and only if no retained snapshot reaches it. More examples:
LAKEHOUSE_HYPOTHESIS_EXAMPLES=200 pytest tests/upkeep/test_reachability_properties.py
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from dataclasses import dataclass, field, replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyiceberg.expressions import LessThan
from upkeep_tables import EVENTS, events

from lakehouse.catalog import build_catalog
from lakehouse.settings import load_settings
from lakehouse.upkeep.rules import rules_for
from lakehouse.upkeep.snapshots.expiry import expire_table
from lakehouse.upkeep.snapshots.reachability import (
    History,
    SnapshotNode,
    load_history,
    reachable_files,
    retained_snapshots,
    unreachable_files,
)
from lakehouse.upkeep.storage import Storage, canonical

SCALE = int(os.environ.get("LAKEHOUSE_HYPOTHESIS_EXAMPLES", "0"))
MODEL_EXAMPLES = max(SCALE, 100)
TABLE_EXAMPLES = max(SCALE // 20, 4)

Op = tuple[str, int, int]
operations = st.lists(
    st.tuples(
        st.sampled_from(["append", "overwrite", "delete", "tag", "branch", "expire"]),
        st.integers(0, 10),
        st.integers(0, 10),
    ),
    min_size=1,
    max_size=25,
)


@dataclass
class Model:
    """Iceberg-like bookkeeping: manifests are shared between snapshots until rewritten."""

    history: History = field(default_factory=History)
    truth: dict[int, set[str]] = field(default_factory=dict)  # snapshot -> files it reaches
    disk: set[str] = field(default_factory=set)
    clock: int = 0
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def commit(self, branch: str, added: list[str], removed: set[str]) -> None:
        parent = self.history.branches.get(branch)
        kept: list[str] = []
        if parent is not None:
            for manifest in self.history.manifests[self.history.snapshots[parent].manifest_list]:
                live = self.history.live_files[manifest]
                if live & removed:  # rewritten without the removed files
                    rest = live - removed
                    if rest:
                        kept.append(self._manifest(rest))
                else:
                    kept.append(manifest)
        if added:
            kept.append(self._manifest(set(added)))
        snapshot_id = next(self.ids)
        self.clock += 1
        manifest_list = f"snap-{snapshot_id}.avro"
        self.history.snapshots[snapshot_id] = SnapshotNode(
            snapshot_id, parent, self.clock, manifest_list
        )
        self.history.manifests[manifest_list] = frozenset(kept)
        self.history.branches[branch] = snapshot_id
        self.disk |= {manifest_list, *added}
        self.truth[snapshot_id] = {manifest_list, *kept}
        for manifest in kept:
            self.truth[snapshot_id] |= self.history.live_files[manifest]

    def _manifest(self, files: set[str]) -> str:
        name = f"m-{next(self.ids)}.avro"
        self.history.live_files[name] = frozenset(files)
        self.disk.add(name)
        return name

    def live(self, branch: str) -> list[str]:
        head = self.history.branches.get(branch)
        if head is None:
            return []
        return sorted(f for f in self.truth[head] if f.startswith("data-"))

    def expire(self, max_age: int, min_keep: int) -> None:
        before = self.history
        keep = retained_snapshots(before, now_ms=self.clock, max_age_ms=max_age, min_keep=min_keep)
        # retention: refs, young snapshots and each branch's last min_keep are all kept
        assert set(before.tags.values()) | set(before.branches.values()) <= keep
        assert {
            s for s, n in before.snapshots.items() if n.timestamp_ms >= self.clock - max_age
        } <= keep
        for head in before.branches.values():
            assert set(list(before.ancestors(head))[:min_keep]) <= keep
        after = History(
            {i: n for i, n in before.snapshots.items() if i in keep},
            dict(before.branches),
            dict(before.tags),
            before.manifests,
            before.live_files,
        )
        deleted = unreachable_files(before, after)
        # the property: deleted iff reached by some snapshot and by no retained one
        reached_before = set().union(*(self.truth[s] for s in before.snapshots))
        reached_after = set().union(*(self.truth[s] for s in keep))
        assert deleted == reached_before - reached_after
        assert reachable_files(after) == reached_after
        self.disk -= deleted
        self.history = after
        for snapshot_id in set(self.truth) - keep:
            del self.truth[snapshot_id]


def apply(model: Model, op: Op, files: itertools.count) -> None:
    kind, a, b = op
    branch = "main" if a % 3 else "dev"
    if kind == "append":
        model.commit(branch, [f"data-{next(files)}.parquet" for _ in range(1 + b % 3)], set())
    elif kind in ("overwrite", "delete") and model.live(branch):
        live = model.live(branch)
        removed = set(live[b % len(live) :: 1 + a % 3])
        added = [f"data-{next(files)}.parquet"] if kind == "overwrite" else []
        model.commit(branch, added, removed)
    elif kind == "tag" and model.history.snapshots:
        ids = sorted(model.history.snapshots)
        model.history.tags[f"t{a}"] = ids[b % len(ids)]
    elif (
        kind == "branch"
        and "main" in model.history.branches
        and "dev" not in model.history.branches
    ):
        ids = sorted(model.history.snapshots)
        model.history.branches["dev"] = ids[b % len(ids)]
    elif kind == "expire":
        model.expire(max_age=b, min_keep=1 + a % 3)


@settings(max_examples=MODEL_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_a_file_is_deleted_iff_no_retained_snapshot_reaches_it(ops: list[Op]) -> None:
    model, files = Model(), itertools.count()
    for op in [*ops, ("expire", 1, 0)]:
        apply(model, op, files)
    # everything the surviving metadata reaches is still on disk
    assert reachable_files(model.history) <= model.disk


table_operations = st.lists(
    st.tuples(
        st.sampled_from(["append", "append", "overwrite", "delete", "tag", "branch", "expire"]),
        st.integers(0, 10),
        st.integers(0, 10),
    ),
    min_size=2,
    max_size=8,
)


def _on_disk(table) -> set[str]:
    return {canonical(entry.uri) for entry in Storage().list(table.location())}


def _ids(table, snapshot_id: int) -> list[int]:
    return sorted(table.scan(snapshot_id=snapshot_id).to_arrow().column("id").to_pylist())


def _check_expiry(catalog, identifier, pivot: int, min_keep: int):
    before_table = catalog.load_table(identifier)
    before = load_history(before_table)
    expected = {snapshot_id: _ids(before_table, snapshot_id) for snapshot_id in before.snapshots}
    rules = replace(
        rules_for(load_settings({}), identifier),
        snapshot_max_age=dt.timedelta(days=7),
        snapshot_min_keep=min_keep,
    )
    ids = sorted(before.snapshots, key=lambda i: before.snapshots[i].timestamp_ms)
    now_ms = before.snapshots[ids[pivot % len(ids)]].timestamp_ms + 7 * 86_400_000
    now = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC)
    result = expire_table(catalog, identifier, rules, now=now)

    table = catalog.load_table(identifier)
    after = load_history(table)
    disk = _on_disk(table)
    reached_after = {canonical(f) for f in reachable_files(after)}
    gone = {canonical(f) for f in reachable_files(before)} - reached_after
    assert reached_after <= disk  # nothing a retained snapshot reaches was deleted
    assert not gone & disk  # everything only expired snapshots reached was deleted
    assert {canonical(f) for f in result.deleted_files} == gone
    assert set(after.tags.values()) | set(after.branches.values()) <= set(after.snapshots)
    for snapshot_id in after.snapshots:  # every retained snapshot still reads the same rows
        assert _ids(table, snapshot_id) == expected[snapshot_id]


@settings(max_examples=TABLE_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(table_operations)
def test_expiry_on_a_real_table_deletes_exactly_the_unreachable_files(tmp_path_factory, ops):
    catalog = build_catalog(load_settings({"LAKEHOUSE_HOME": str(tmp_path_factory.mktemp("h"))}))
    identifier = ("raw", "history")
    table = catalog.create_table(identifier, schema=EVENTS)
    next_id = itertools.count()

    for kind, a, b in [*ops, ("expire", 0, 0)]:
        branch = "dev" if a % 3 == 0 and "dev" in table.metadata.refs else "main"
        if kind == "append":
            start = next(next_id) * 10
            table.append(events(start, 1 + b % 4), branch=branch)
        elif kind in ("overwrite", "delete") and table.metadata.snapshot_by_name(branch):
            cut = LessThan("id", (b % 5) * 10 + 5)
            if kind == "delete":
                table.delete(cut, branch=branch)
            else:
                table.overwrite(events(next(next_id) * 10, 2), overwrite_filter=cut, branch=branch)
        elif kind == "tag" and table.metadata.snapshots:
            snapshots = table.metadata.snapshots
            table.manage_snapshots().create_tag(
                snapshots[b % len(snapshots)].snapshot_id, f"t{a}"
            ).commit()
        elif kind == "branch" and table.metadata.snapshots and "dev" not in table.metadata.refs:
            snapshots = table.metadata.snapshots
            table.manage_snapshots().create_branch(
                snapshots[b % len(snapshots)].snapshot_id, "dev"
            ).commit()
        elif kind == "expire" and table.metadata.snapshots:
            _check_expiry(catalog, identifier, pivot=b, min_keep=1 + a % 3)
        table.refresh()
