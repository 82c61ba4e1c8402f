"""One share rule for batch jobs under torchrun: env parsing, shares, and the output planner."""

from __future__ import annotations

from pathlib import Path

import pytest

from dof_io import local_device, local_rank, plan_outputs, process_share, rank_share


def test_process_share_reads_torchrun_environment() -> None:
    assert process_share({}) == (0, 1)
    assert process_share({"RANK": "2", "WORLD_SIZE": "3"}) == (2, 3)
    with pytest.raises(ValueError, match="RANK=3 is outside WORLD_SIZE=3"):
        process_share({"RANK": "3", "WORLD_SIZE": "3"})
    with pytest.raises(ValueError, match="whole numbers"):
        process_share({"RANK": "x", "WORLD_SIZE": "3"})


def test_rank_shares_partition_the_list() -> None:
    items = list("abcdefg")
    shares = [rank_share(items, (rank, 3)) for rank in range(3)]
    assert shares == [["a", "d", "g"], ["b", "e"], ["c", "f"]]
    assert rank_share(items, (0, 1)) == items


def test_plan_shares_do_not_depend_on_outputs_already_written(tmp_path: Path) -> None:
    photos = [tmp_path / f"{name}.jpg" for name in ("e", "a", "d", "b", "c")]  # unsorted input
    out = tmp_path / "out"

    def todo(rank: int) -> list[str]:
        plan = plan_outputs(photos, out, share=(rank, 2))
        return sorted(p.photo.stem for p in plan.todo) + [p.stem + "*" for p in plan.skipped]

    assert (todo(0), todo(1)) == (["a", "c", "e"], ["b", "d"])  # sorted, then every 2nd
    out.mkdir()
    (out / "b.png").write_bytes(b"done")  # rank 1 got ahead: rank 0's share stays the same
    assert (todo(0), todo(1)) == (["a", "c", "e"], ["d", "b*"])


def test_plan_share_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photos = [tmp_path / f"{name}.jpg" for name in "abc"]
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert [p.photo.stem for p in plan_outputs(photos, tmp_path / "out").todo] == ["b"]


def test_each_process_of_a_machine_gets_its_own_gpu() -> None:
    two = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}
    assert local_device("cuda", two) == "cuda:1"
    assert local_device("cuda", {"RANK": "1", "WORLD_SIZE": "2"}) == "cuda:1"  # LOCAL = RANK
    assert local_device("cuda:0", two) == "cuda:0"  # a device the user named stays
    assert local_device("cpu", two) == "cpu"
    assert local_device("cuda", {}) == "cuda"  # one process: as is
    assert local_rank(two) == 1
    with pytest.raises(ValueError, match="LOCAL_RANK"):
        local_rank({"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "x"})
