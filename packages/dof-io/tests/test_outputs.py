"""The one output planner: collisions, inputs never overwritten, finished photos skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from dof_io import (
    ImageReadError,
    PhotoEvent,
    PlannedPhoto,
    plan_outputs,
    process_photos,
    protected_inputs,
    run_planned,
)


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


def test_run_planned_reports_every_photo_and_goes_on_past_failures(tmp_path: Path) -> None:
    photos = [_touch(tmp_path / "in" / f"{n}.jpg") for n in ("a", "b", "c", "d", "e")]
    _touch(tmp_path / "out" / "a.png")  # finished: skipped
    plan = plan_outputs([*photos, tmp_path / "other" / "b.jpg"], tmp_path / "out")
    written = []

    def work(planned: PlannedPhoto) -> None:
        name = planned.photo.stem
        if name == "b":
            raise ImageReadError(planned.photo, "not an image file")  # about the photo itself
        if name == "c":
            raise ImageReadError(tmp_path / "masks" / "c.png", "no mask")  # about another file
        if name == "d":
            raise ValueError("too small")
        written.append(planned.target.name)

    events = list(run_planned(plan, work, failures=(ValueError,)))
    assert events == [
        PhotoEvent(photos[0], "skipped"),
        PhotoEvent(tmp_path / "other" / "b.jpg", "failed",
                   f"{photos[1]} also writes {tmp_path / 'out' / 'b.png'}; rename one of them"),
        PhotoEvent(photos[1], "failed", "not an image file"),
        PhotoEvent(photos[2], "failed", f"{tmp_path / 'masks' / 'c.png'}: no mask"),
        PhotoEvent(photos[3], "failed", "too small"),
        PhotoEvent(photos[4], "done"),
    ]  # fmt: skip
    assert written == ["e.png"]
    # an error that is not a photo's fault is a bug: it stops the job
    plan = plan_outputs(photos[4:], tmp_path / "out", overwrite=True)
    with pytest.raises(ZeroDivisionError):
        list(run_planned(plan, lambda planned: 1 / 0))


def test_process_photos_plans_protects_creates_and_reports(tmp_path: Path) -> None:
    photos = [tmp_path / "a.jpg", tmp_path / "b.jpg"]
    masks = tmp_path / "masks"
    done: list[str] = []

    def work(planned: PlannedPhoto) -> None:
        if planned.photo.stem == "b":
            raise ValueError("no mask")
        planned.target.write_bytes(b"x")
        done.append(planned.photo.stem)

    out = tmp_path / "out"
    events = list(process_photos(photos, out, work, failures=(ValueError,)))
    assert [(e.photo.stem, e.status, e.reason) for e in events] == [
        ("a", "done", ""),
        ("b", "failed", "no mask"),
    ]
    assert done == ["a"] and (out / "a.png").is_file()
    refused = list(process_photos(photos, masks, work, reads=[masks]))  # out = the masks folder
    assert {e.status for e in refused} == {"failed"} and done == ["a"]
    assert all("is an input" in e.reason for e in refused)


def test_a_photos_own_fault_is_recorded_and_a_bug_stops_the_job(tmp_path: Path) -> None:
    """One rule for every batch job: unreadable, too large, wrong mask go on; a bug stops."""
    from dof_io import PHOTO_FAULTS, MaskFormatError, MemoryBudgetError, PhotoError

    assert issubclass(ImageReadError, PhotoError) and issubclass(MaskFormatError, PhotoError)
    photos = [_touch(tmp_path / "in" / f"{name}.jpg") for name in ("a", "b", "c", "d", "e")]
    faults = {
        "a": ImageReadError(photos[0], "not an image file"),
        "b": MaskFormatError("the mask is 4x4 but its photo is 5x5"),
        "c": MemoryBudgetError(photos[2], "too large for the memory budget"),
        "d": MemoryError(),
    }

    def work(planned: PlannedPhoto) -> None:
        if planned.photo.stem in faults:
            raise faults[planned.photo.stem]

    events = list(process_photos(photos, tmp_path / "out", work))
    assert [(e.photo.stem, e.status) for e in events] == [
        ("a", "failed"), ("b", "failed"), ("c", "failed"), ("d", "failed"), ("e", "done"),
    ]  # fmt: skip
    assert events[0].reason == "not an image file" and "4x4" in events[1].reason
    assert events[3].reason == "MemoryError"
    assert MemoryError in PHOTO_FAULTS

    def buggy(planned: PlannedPhoto) -> None:
        if planned.photo.stem == "b":
            raise RuntimeError("a bug, or a sticky device error")

    seen = []
    with pytest.raises(RuntimeError, match="sticky device error"):
        for event in process_photos(photos, tmp_path / "out2", buggy):
            seen.append(event.photo.stem)
    assert seen == ["a"]  # the job stopped at the bug, with its traceback
    with pytest.raises(ValueError, match="wrong call"):
        list(process_photos(photos, tmp_path / "out3", lambda p: _raise(ValueError("wrong call"))))


def _raise(err: Exception) -> None:
    raise err
