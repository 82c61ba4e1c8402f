"""Which output file each photo of a batch job goes to: one planner for every command.

The rules, the same for `dof seg`, `dof smooth` and `dof apply`:

- photo ``x.jpg`` writes ``OUT/x<tail>`` for each of the job's tails (``.png``, ``_overlay.png``);
- an output that is the photo itself, another input photo or a protected input (a mask, a depth
  map) is refused: inputs are never overwritten;
- two photos that would write the same file: the second is refused (rename one of them);
- a photo whose outputs all exist is skipped unless ``overwrite``, so an interrupted job resumes;
- under torchrun each process keeps its share of the photos (:mod:`dof_io.ranks`), taken from
  the photos in sorted order after the refusals above, so the shares do not depend on which
  outputs exist yet and two processes never write the same file;
- a photo that fails by its own fault (:data:`PHOTO_FAULTS`) is reported with the reason and
  the job goes on; any other error (a bug, a device fault) stops the job with its traceback
  (:func:`run_planned`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

from dof_io.errors import ImageReadError, PhotoError
from dof_io.ranks import process_share, rank_share

Status = Literal["done", "skipped", "failed"]

#: A photo's own faults, the one rule of every batch job: it cannot be read, it is too large
#: (for the memory budget, or the memory ran out on it), its mask does not fit it. The job
#: records them and goes on; anything else (a programming error, a device fault) stops it.
#: Packages add their own photo errors by deriving them from :class:`PhotoError`; the torch
#: layer's :data:`dof_io.tensors.PHOTO_FAULTS` adds a device out of memory.
PHOTO_FAULTS: tuple[type[BaseException], ...] = (PhotoError, MemoryError)


class PhotoEvent(NamedTuple):
    """What happened to one photo of a batch job: "done", "skipped" or "failed" (with why)."""

    photo: Path
    status: Status
    reason: str = ""


@dataclass(frozen=True)
class PlannedPhoto:
    """One photo to do and the file each of its outputs goes to (``{key: path}``)."""

    photo: Path
    targets: dict[str, Path]

    @property
    def target(self) -> Path:
        """The output, for jobs that write one file per photo."""
        return next(iter(self.targets.values()))


@dataclass(frozen=True)
class OutputPlan:
    """What :func:`plan_outputs` decided: photos to do, already done, and refused (with why)."""

    todo: list[PlannedPhoto] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    refused: list[tuple[Path, str]] = field(default_factory=list)


def output_path(photo: str | Path, out_dir: str | Path, tail: str = ".png") -> Path:
    """Where an output of ``photo`` goes: ``out_dir/<stem><tail>``."""
    return Path(out_dir) / f"{Path(photo).stem}{tail}"


def protected_inputs(
    photos: Iterable[str | Path], folders: Iterable[str | Path | None], tail: str = ".png"
) -> set[Path]:
    """The per-photo input files ``folder/<stem><tail>`` (masks, depth maps) a job reads."""
    stems = [Path(p).stem for p in photos]
    return {
        (Path(folder) / f"{stem}{tail}").resolve()
        for folder in folders
        if folder is not None
        for stem in stems
    }


def photo_share(photos: Iterable[str | Path], share: tuple[int, int] | None = None) -> list[Path]:
    """This process's photos under torchrun (resolved paths): every ``world``-th of the sorted,
    distinct photos from its rank on (:func:`dof_io.rank_share`), whatever exists yet."""
    return rank_share(sorted({Path(p).resolve() for p in photos}), share)


def plan_outputs(
    photos: Iterable[str | Path],
    out_dir: str | Path,
    *,
    tails: Mapping[str, str] | None = None,
    protected: Iterable[str | Path] = (),
    overwrite: bool = False,
    share: tuple[int, int] | None = None,
) -> OutputPlan:
    """Decide, for each photo, which files it writes, or why it must not run.

    Args:
        photos: the input photos, in order (the first of two same-named photos wins).
        out_dir: the output folder.
        tails: ``{key: tail}``, one output ``out_dir/<stem><tail>`` per key; default
            ``{"": ".png"}``.
        protected: other input files that must never be written (masks, depth maps); every
            photo is protected as well.
        overwrite: plan photos whose outputs all exist instead of skipping them.
        share: ``(rank, world_size)`` of this process; default from torchrun's environment
            (``(0, 1)``, everything, outside torchrun).

    Returns:
        An :class:`OutputPlan` of this process's share; nothing is created or written.
    """
    tails = dict(tails) if tails is not None else {"": ".png"}
    paths = [Path(p) for p in photos]
    inputs = {p.resolve() for p in paths} | {Path(p).resolve() for p in protected}
    plan = OutputPlan()
    owners: dict[Path, Path] = {}
    for photo in paths:
        targets = {key: output_path(photo, out_dir, tail) for key, tail in tails.items()}
        reason = _refusal(photo, targets.values(), inputs, owners)
        if reason is not None:
            plan.refused.append((photo, reason))
            continue
        owners.update({target.resolve(): photo for target in targets.values()})
        if not overwrite and all(target.exists() for target in targets.values()):
            plan.skipped.append(photo)
        else:
            plan.todo.append(PlannedPhoto(photo, targets))
    share = process_share() if share is None else share
    if share == (0, 1):
        return plan
    mine = set(photo_share(paths, share))
    return OutputPlan(
        todo=[t for t in plan.todo if t.photo.resolve() in mine],
        skipped=[p for p in plan.skipped if p.resolve() in mine],
        refused=[(p, why) for p, why in plan.refused if p.resolve() in mine],
    )


def _refusal(
    photo: Path, targets: Iterable[Path], inputs: set[Path], owners: dict[Path, Path]
) -> str | None:
    for target in targets:
        key = target.resolve()
        if key == photo.resolve():
            return f"{target} would overwrite the photo itself; choose another -o"
        if key in inputs:
            return f"{target} is an input (photo, mask or depth map); choose another -o"
        if key in owners:
            return f"{owners[key]} also writes {target}; rename one of them"
    return None


def run_planned(
    plan: OutputPlan,
    work: Callable[[PlannedPhoto], object],
    *,
    failures: tuple[type[BaseException], ...] = (),
) -> Iterator[PhotoEvent]:
    """Do ``work`` on each photo of ``plan``, one :class:`PhotoEvent` per photo: the skipped and
    refused ones first, then each photo as it finishes.

    A photo that raises one of :data:`PHOTO_FAULTS` or of ``failures`` (a package's own typed
    photo errors) is "failed" with the reason (without its path when the error is about the
    photo itself) and the job goes on; anything else propagates with its traceback and stops
    the job: a RuntimeError or ValueError is a bug or a device fault, not the photo's.
    """
    yield from (PhotoEvent(photo, "skipped") for photo in plan.skipped)
    yield from (PhotoEvent(photo, "failed", reason) for photo, reason in plan.refused)
    caught: tuple[type[BaseException], ...] = (*PHOTO_FAULTS, *failures)
    for planned in plan.todo:
        try:
            work(planned)
        except caught as err:
            reason = str(err) or type(err).__name__
            if isinstance(err, ImageReadError) and err.path == planned.photo:
                reason = err.reason
            yield PhotoEvent(planned.photo, "failed", reason)
        else:
            yield PhotoEvent(planned.photo, "done")


def process_photos(
    photos: Iterable[str | Path],
    out_dir: str | Path,
    work: Callable[[PlannedPhoto], object],
    *,
    tails: Mapping[str, str] | None = None,
    reads: Iterable[str | Path | None] = (),
    overwrite: bool = False,
    failures: tuple[type[BaseException], ...] = (),
) -> Iterator[PhotoEvent]:
    """A batch job over photo files: plan the outputs (:func:`plan_outputs`, with the per-photo
    files ``reads/<stem>.png`` of each folder in ``reads`` protected), create ``out_dir``, and
    :func:`run_planned` ``work`` on each planned photo, one :class:`PhotoEvent` per photo.

    A photo's own fault (:data:`PHOTO_FAULTS`, plus the package's ``failures``) is recorded and
    the job goes on; any other error stops it with its traceback."""
    photos = [Path(p) for p in photos]
    protected = protected_inputs(photos, reads)
    plan = plan_outputs(photos, out_dir, tails=tails, protected=protected, overwrite=overwrite)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    yield from run_planned(plan, work, failures=failures)
