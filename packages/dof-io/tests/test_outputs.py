"""The one output planner: collisions, inputs never overwritten, finished photos skipped."""

from __future__ import annotations

from pathlib import Path

from dof_io import plan_outputs, protected_inputs


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_each_photo_gets_its_own_file(tmp_path: Path) -> None:
    photos = [_touch(tmp_path / "in" / "a.jpg"), _touch(tmp_path / "in" / "b.jpg")]
    plan = plan_outputs(photos, tmp_path / "out", tails={"plain": ".png", "overlay": "_o.png"})
    assert [p.photo for p in plan.todo] == photos
    assert plan.todo[1].targets == {
        "plain": tmp_path / "out" / "b.png",
        "overlay": tmp_path / "out" / "b_o.png",
    }
    assert not plan.skipped and not plan.refused
    assert not (tmp_path / "out").exists()  # planning writes nothing


def test_the_photo_itself_and_other_inputs_are_never_targets(tmp_path: Path) -> None:
    photo = _touch(tmp_path / "p.png")
    plan = plan_outputs([photo], tmp_path)
    assert plan.refused[0][0] == photo and "overwrite the photo itself" in plan.refused[0][1]
    jpg, png = _touch(tmp_path / "x.jpg"), _touch(tmp_path / "x.png")
    plan = plan_outputs([jpg, png], tmp_path)  # x.jpg -> x.png would replace the other input
    assert {p for p, _ in plan.refused} == {jpg, png}
    masks = tmp_path / "masks"
    _touch(masks / "q.png")
    q = _touch(tmp_path / "in" / "q.jpg")
    plan = plan_outputs([q], masks, protected=protected_inputs([q], [masks, None]))
    assert "is an input" in plan.refused[0][1]


def test_second_photo_with_the_same_name_is_refused(tmp_path: Path) -> None:
    first, second = _touch(tmp_path / "a" / "p.jpg"), _touch(tmp_path / "b" / "p.png")
    plan = plan_outputs([first, second], tmp_path / "out")
    assert [p.photo for p in plan.todo] == [first]
    assert plan.refused == [(second, f"{first} also writes {tmp_path / 'out' / 'p.png'}; "
                             "rename one of them")]  # fmt: skip


def test_finished_photos_are_skipped_unless_overwrite(tmp_path: Path) -> None:
    a, b = _touch(tmp_path / "in" / "a.jpg"), _touch(tmp_path / "in" / "b.jpg")
    _touch(tmp_path / "out" / "a.png")
    _touch(tmp_path / "out" / "b.png")  # only one of b's two outputs exists
    tails = {"plain": ".png", "overlay": "_o.png"}
    _touch(tmp_path / "out" / "a_o.png")
    plan = plan_outputs([a, b], tmp_path / "out", tails=tails)
    assert plan.skipped == [a] and [p.photo for p in plan.todo] == [b]
    plan = plan_outputs([a, b], tmp_path / "out", tails=tails, overwrite=True)
    assert not plan.skipped and len(plan.todo) == 2
