"""Photos on disk -> RGBA mask files: what `dof seg PHOTOS... -o DIR` does.

For every photo it writes ``DIR/<stem>.png``: RGB = the photo as read (EXIF orientation applied),
alpha = the person mask. Existing outputs are skipped, so an interrupted job resumes where it
stopped. Photos are decoded on a worker thread while the previous batch runs on the device, and
PNGs are written on another; a photo that cannot be read is reported by name and the job goes on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

import dof_io
from dof_io import DofIOError, read_rgb, write_rgba
from dof_io.tensors import image_to_tensor
from dof_seg.base import Segmenter
from dof_seg.errors import DofSegError
from dof_seg.postprocess import PostProcessConfig, postprocess

#: Peak memory per pixel, in bytes, of one photo through :func:`iter_segment_files` with the
#: selfie segmenter on the CPU (decode, full-size mask, RGBA write; measured at 3 and 12 MP,
#: docs/seg.md). A photo whose estimate is over ``max_memory`` is reported, not segmented.
MEMORY_PER_PIXEL = 28.0


@dataclass
class SegmentReport:
    """What :func:`segment_files` did with each photo."""

    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def output_path(photo: str | Path, out_dir: str | Path) -> Path:
    """Where the RGBA mask of ``photo`` goes: ``out_dir/<stem>.png``."""
    return dof_io.output_path(photo, out_dir)


def _read(photo: Path, max_memory: int | None = None) -> npt.NDArray[np.uint8] | str:
    try:
        dof_io.check_memory(
            photo, bytes_per_pixel=MEMORY_PER_PIXEL, budget=max_memory, what="segmentation"
        )
        return read_rgb(photo)
    except DofIOError as err:
        return getattr(err, "reason", str(err))


def _batches(photos: Sequence[Path], size: int) -> Iterator[list[Path]]:
    for start in range(0, len(photos), size):
        yield list(photos[start : start + size])


def _to_tensor(rgb: npt.NDArray[np.uint8], device: torch.device) -> torch.Tensor:
    return image_to_tensor(rgb, device=device)[0]  # (3, H, W) in [0, 1]


#: What happened to one photo: "done", "skipped" or "failed" (with the reason); the event every
#: batch job reports (:class:`dof_io.PhotoEvent`).
SegmentEvent = dof_io.PhotoEvent


@torch.inference_mode()
def iter_segment_files(
    photos: Iterable[str | Path],
    out_dir: str | Path,
    segmenter: Segmenter,
    *,
    batch_size: int = 8,
    post: PostProcessConfig | None = None,
    overwrite: bool = False,
    max_memory: int | None = dof_io.DEFAULT_MAX_MEMORY,
) -> Iterator[SegmentEvent]:
    """Write ``out_dir/<stem>.png`` (RGBA: photo + mask) for each photo, yielding one
    :class:`SegmentEvent` per photo as it finishes (skipped and refused ones first).

    Args:
        photos: image files (see :func:`dof_io.expand_inputs` for folders).
        out_dir: created if missing.
        segmenter: any :class:`Segmenter`; it runs on its own device.
        batch_size: photos per device batch (of any sizes).
        post: post-processing of each mask (none by default: soft masks).
        overwrite: recompute masks that already exist.
        max_memory: bytes one photo may use (see :data:`MEMORY_PER_PIXEL`); a larger photo
            fails with a message naming the ``--max-memory`` option. None: no limit.

    Nothing is raised for a bad photo: its event has status "failed" and the reason.
    """
    if batch_size < 1:
        raise DofSegError(f"batch_size must be >= 1; got {batch_size}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plan = dof_io.plan_outputs(photos, out_dir, overwrite=overwrite)
    yield from (SegmentEvent(photo, "skipped") for photo in plan.skipped)
    yield from (SegmentEvent(photo, "failed", reason) for photo, reason in plan.refused)
    todo = [planned.photo for planned in plan.todo]
    with ThreadPoolExecutor(max_workers=1) as reader, ThreadPoolExecutor(max_workers=1) as writer:
        batches = list(_batches(todo, batch_size))
        loads = [reader.submit(_read_all, batch, max_memory) for batch in batches[:1]]
        writes: list[tuple[Path, Future[Path]]] = []
        for index, batch in enumerate(batches):
            loaded = loads.pop(0).result()
            if index + 1 < len(batches):  # decode the next batch while this one runs
                loads.append(reader.submit(_read_all, batches[index + 1], max_memory))
            good = []
            for photo, rgb in zip(batch, loaded, strict=True):
                if isinstance(rgb, str):
                    yield SegmentEvent(photo, "failed", rgb)
                else:
                    good.append((photo, rgb))
            for photo, rgb, result in _segment_batch(segmenter, good, post):
                if isinstance(result, str):
                    yield SegmentEvent(photo, "failed", result)
                else:
                    target = output_path(photo, out_dir)
                    writes.append((photo, writer.submit(write_rgba, target, rgb, result)))
            yield from _collect(writes, keep=batch_size)
        yield from _collect(writes, keep=0)


def segment_files(
    photos: Iterable[str | Path],
    out_dir: str | Path,
    segmenter: Segmenter,
    *,
    batch_size: int = 8,
    post: PostProcessConfig | None = None,
    overwrite: bool = False,
) -> SegmentReport:
    """:func:`iter_segment_files` run to the end; returns what happened to each photo."""
    report = SegmentReport()
    for event in iter_segment_files(
        photos, out_dir, segmenter, batch_size=batch_size, post=post, overwrite=overwrite
    ):
        if event.status == "failed":
            report.failed.append((event.photo, event.reason))
        else:
            (report.done if event.status == "done" else report.skipped).append(event.photo)
    return report


def _read_all(batch: list[Path], max_memory: int | None) -> list[npt.NDArray[np.uint8] | str]:
    return [_read(photo, max_memory) for photo in batch]


Loaded = list[tuple[Path, npt.NDArray[np.uint8]]]


def _segment(
    segmenter: Segmenter, good: Loaded, post: PostProcessConfig | None
) -> list[npt.NDArray[np.float32]]:
    device = segmenter.device
    images = [_to_tensor(rgb, device) for _, rgb in good]
    names = [photo.stem for photo, _ in good]
    if post is not None and post.keep != "all" and segmenter.detects_people:
        # the main subject is a detected person, not a connected blob
        found = [segmenter.segment_instances(i, n) for i, n in zip(images, names, strict=True)]
        masks = [
            postprocess(m[None], post, people=None if k is None else k[None])[0] for m, k in found
        ]
    else:
        masks = segmenter.segment_list(images, names)
        if post is not None and not post.is_identity:
            masks = [postprocess(mask[None], post)[0] for mask in masks]
    return [mask[0].float().cpu().numpy() for mask in masks]  # (H, W) each


def _segment_batch(
    segmenter: Segmenter, good: Loaded, post: PostProcessConfig | None
) -> list[tuple[Path, npt.NDArray[np.uint8], npt.NDArray[np.float32] | str]]:
    """Masks for a batch; when the batch fails, photo by photo, so the culprit is named."""
    if not good:
        return []
    masks: Sequence[npt.NDArray[np.float32] | str]
    try:
        masks = _segment(segmenter, good, post)
    except (DofSegError, DofIOError, MemoryError, torch.OutOfMemoryError) as err:
        # out of memory on one huge photo: retry the batch photo by photo, skip only that one
        if len(good) > 1:
            return [item for one in good for item in _segment_batch(segmenter, [one], post)]
        masks = [str(err)]
    return [(photo, rgb, mask) for (photo, rgb), mask in zip(good, masks, strict=True)]


def _collect(writes: list[tuple[Path, Future[Path]]], *, keep: int) -> Iterator[SegmentEvent]:
    """Wait for the oldest writes until at most ``keep`` are pending (removed from ``writes``)."""
    while len(writes) > keep:
        photo, future = writes.pop(0)
        try:
            future.result()
        except (OSError, DofIOError) as err:
            yield SegmentEvent(photo, "failed", f"could not write the mask: {err}")
        else:
            yield SegmentEvent(photo, "done")
