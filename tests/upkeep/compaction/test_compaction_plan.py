"""The compaction planner, without Iceberg: which partitions, which files, which bins."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse.upkeep.compaction.bin_packing import FileInfo, plan_compaction

MB = 1024 * 1024


def info(path: str, size_mb: float, partition: tuple = ("p",)) -> FileInfo:
    return FileInfo(path, partition, int(size_mb * MB), 10)


def plan(files, *, target=128, small=96, min_small=5):
    return plan_compaction(
        files, target_bytes=target * MB, small_bytes=small * MB, min_small_files=min_small
    )


def test_a_partition_with_enough_small_files_is_packed_into_one_bin():
    groups = plan([info(f"f{i}", 1) for i in range(6)])
    assert len(groups) == 1
    assert sorted(f.path for f in groups[0].files) == [f"f{i}" for i in range(6)]


def test_partitions_below_the_small_file_threshold_count_are_left_alone():
    files = [info(f"a{i}", 1, ("a",)) for i in range(4)] + [
        info(f"b{i}", 1, ("b",)) for i in range(5)
    ]
    (group,) = plan(files)
    assert group.partition == ("b",)


def test_large_files_are_never_rewritten_and_do_not_count_as_small():
    files = [info(f"big{i}", 120) for i in range(10)] + [info(f"s{i}", 1) for i in range(4)]
    assert plan(files) == []


def test_bins_stay_under_the_target_and_single_file_bins_are_dropped():
    files = [info(f"f{i}", 60) for i in range(5)]  # 2 per 128 MB bin, one left over
    groups = plan(files)
    assert [len(g.files) for g in groups] == [2, 2]
    assert all(g.size <= 128 * MB for g in groups)


def test_a_per_table_target_changes_the_bins():
    files = [info(f"f{i}", 3) for i in range(10)]
    assert len(plan(files, target=8, small=6)) == 5  # 2 files of 3 MB per 8 MB bin


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(1, 200)),
        max_size=40,
    ),
    st.integers(2, 6),
)
def test_plans_only_group_small_files_of_one_partition_within_the_target(files, min_small):
    infos = [info(f"f{i}", size, (part,)) for i, (part, size) in enumerate(files)]
    groups = plan(infos, min_small=min_small)
    seen = [f.path for g in groups for f in g.files]
    assert len(seen) == len(set(seen))  # no file in two groups
    for group in groups:
        assert len(group.files) >= 2
        assert group.size <= 128 * MB
        assert {f.partition for f in group.files} == {group.partition}
        assert all(f.size < 96 * MB for f in group.files)
        small_in_partition = [
            i for i in infos if i.partition == group.partition and i.size < 96 * MB
        ]
        assert len(small_in_partition) >= min_small
