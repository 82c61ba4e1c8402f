"""Rendering test photos through any set of methods into folders that dof-eval then reads.

dof-eval does not know the smoothing baselines, segmenters or generators: the caller (the
``dof report`` app) passes them as plain callables, and everything after this step reads files.

Layout written under ``out_dir``::

    renders.json            columns (label -> folder), photos and their credits, the size
    input/<name>.png        the test photo at the evaluation size
    mask/<name>.png         its person mask (ground truth, else from the fallback segmenter)
    ignore/<name>.png       regions not to score (COCO crowd), where the photo has them
    <column>/<name>.png     one folder per method, e.g. box/, lens/, cyclegan/, combined-overlay/
    seg-<name>/<name>.png   masks of each segmenter scored for IoU
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from dof_eval.credits import Attribution
from dof_eval.errors import DatasetError
from dof_eval.photos import (
    EvalPhoto,
    checked_size,
    fit_size,
    read_image,
    read_mask_tensor,
    write_image,
)
from dof_io import atomic_write_text
from dof_io.tensors import PHOTO_FAULTS

#: image (1, 3, H, W) in [0, 1], mask (1, 1, H, W) in [0, 1] -> output (1, 3, H, W) in [0, 1].
Renderer = Callable[[Tensor, Tensor], Tensor]
#: image (1, 3, H, W) in [0, 1] -> person mask (1, 1, H, W) in [0, 1].
Segmenter = Callable[[Tensor], Tensor]
#: called with the photo and the reason when a photo fails; the batch goes on.
OnError = Callable[[Path, str], None]

RESERVED = ("input", "mask", "ignore")


def on_device(fn: Callable[..., Tensor], device: str | torch.device) -> Callable[..., Tensor]:
    """Run a renderer or segmenter on ``device``: its tensor arguments are moved there, its
    result comes back as float32 on the CPU, where dof-eval keeps its images."""

    def call(*tensors: Tensor) -> Tensor:
        return fn(*(t.to(device) for t in tensors)).float().cpu()

    return call


def slug(label: str) -> str:
    """A folder name for a column label: 'run 1 + overlay' -> 'run-1-overlay'."""
    text = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    return text or "column"


@dataclass(frozen=True)
class RenderSet:
    """What :func:`render_columns` wrote (also stored as ``renders.json``).

    Attributes:
        root: the folder.
        names: photo names (file stems) in order.
        columns: method label -> folder name under ``root``, in gallery order.
        segmenters: segmenter label -> folder name.
        credits: photo name -> attribution.
        size: the long side the photos were resized to (None = original size).
        pictures: columns shown in the gallery but not scored (a generator's defocus map).
    """

    root: Path
    names: tuple[str, ...]
    columns: dict[str, str]
    segmenters: dict[str, str] = field(default_factory=dict)
    credits: dict[str, Attribution] = field(default_factory=dict)
    size: int | None = None
    pictures: tuple[str, ...] = ()

    def path(self, folder: str, name: str) -> Path:
        """The PNG of photo ``name`` in ``folder`` (``input``, ``mask``, or a column's folder)."""
        return self.root / folder / f"{name}.png"

    def save(self) -> Path:
        data: dict[str, Any] = {
            "names": list(self.names),
            "columns": self.columns,
            "segmenters": self.segmenters,
            "credits": {k: vars(v) for k, v in self.credits.items()},
            "size": self.size,
            "pictures": list(self.pictures),
        }
        path = self.root / "renders.json"
        atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return path

    @classmethod
    def load(cls, root: str | Path) -> RenderSet:
        """Read ``root/renders.json``.

        Raises:
            DatasetError: when the file is missing or malformed.
        """
        root = Path(root)
        try:
            data = json.loads((root / "renders.json").read_text(encoding="utf-8"))
            return cls(
                root=root,
                names=tuple(data["names"]),
                columns=dict(data["columns"]),
                segmenters=dict(data.get("segmenters", {})),
                credits={k: Attribution(**v) for k, v in data.get("credits", {}).items()},
                size=data.get("size"),
                pictures=tuple(data.get("pictures", ())),
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DatasetError(
                f"{root} is not a render folder ({error}): write it with render_columns"
            ) from error


#: a photo's own faults, the batch goes on past them (with ``on_error``): dof-io's rule
#: (unreadable, a mask of another size, out of memory on it) and a photo this evaluation
#: cannot use (too small, no mask). A bug in a renderer stops the batch with its traceback.
PHOTO_FAILURES: tuple[type[BaseException], ...] = (*PHOTO_FAULTS, DatasetError)


def _folders(labels: Iterable[str], prefix: str = "") -> dict[str, str]:
    folders: dict[str, str] = {}
    for label in labels:
        base = prefix + slug(label)
        name, n = base, 2
        while name in folders.values() or name in RESERVED:
            name, n = f"{base}-{n}", n + 1
        folders[label] = name
    return folders


def _render_one(
    photo: EvalPhoto,
    out: RenderSet,
    renderers: Mapping[str, Renderer],
    segmenters: Mapping[str, Segmenter],
    fallback: Segmenter | None,
) -> None:
    size = fit_size(*checked_size(photo), out.size)
    image = read_image(photo.image, size)
    if photo.mask is not None:
        mask = read_mask_tensor(photo.mask, size)
    elif fallback is not None:
        mask = fallback(image).float().clamp(0, 1)
    else:
        raise DatasetError(f"{photo.image} has no person mask and no segmenter was given")
    write_image(out.path("input", photo.name), image)
    write_image(out.path("mask", photo.name), mask)
    if photo.ignore is not None:
        write_image(out.path("ignore", photo.name), read_mask_tensor(photo.ignore, size))
    for label, render in renderers.items():
        write_image(out.path(out.columns[label], photo.name), render(image, mask).clamp(0, 1))
    for label, segment in segmenters.items():
        write_image(out.path(out.segmenters[label], photo.name), segment(image).clamp(0, 1))


def render_columns(
    photos: Sequence[EvalPhoto],
    renderers: Mapping[str, Renderer],
    out_dir: str | Path,
    *,
    size: int | None = 256,
    segmenters: Mapping[str, Segmenter] | None = None,
    fallback_segmenter: Segmenter | None = None,
    on_error: OnError | None = None,
    progress: Callable[[Iterable[EvalPhoto]], Iterable[EvalPhoto]] | None = None,
    pictures: Iterable[str] = (),
) -> RenderSet:
    """Render every photo through every method and write the results as PNGs.

    Args:
        photos: from :func:`dof_eval.find_photos`.
        renderers: column label -> callable (image, mask) -> output; labels are gallery headers.
        out_dir: where to write (see the module docstring for the layout).
        size: long side of the evaluation size (rounded to multiples of 8); None keeps the size.
        segmenters: label -> callable image -> mask, scored for IoU against the masks.
        fallback_segmenter: makes the mask of a photo that has none.
        on_error: called with (photo path, reason) when a photo fails by its own fault
            (:data:`PHOTO_FAILURES`); without it, those raise too. Any other error raises.
        progress: optional wrapper around the photo iterator (a progress bar).
        pictures: labels of ``renderers`` that draw a picture to show, not an image to score
            (a defocus map).

    Returns:
        The :class:`RenderSet` (saved as ``out_dir/renders.json``), listing the photos that
        rendered.
    """
    segmenters = segmenters or {}
    taken = sorted(set(renderers) & {"input", "mask"})
    if taken:
        raise DatasetError(f"column labels {taken} are reserved for the gallery: rename them")
    out = RenderSet(
        root=Path(out_dir),
        names=(),
        columns=_folders(renderers),
        segmenters=_folders(segmenters, "seg-"),
        size=size,
        pictures=tuple(pictures),
    )
    done: list[str] = []
    credits: dict[str, Attribution] = {}
    with torch.inference_mode():
        for photo in progress(photos) if progress else photos:
            try:
                _render_one(photo, out, renderers, segmenters, fallback_segmenter)
            except PHOTO_FAILURES as error:  # a batch goes on past a bad photo
                if on_error is None:
                    raise
                on_error(photo.image, f"{type(error).__name__}: {error}")
                continue
            done.append(photo.name)
            if photo.attribution is not None:
                credits[photo.name] = photo.attribution
    result = RenderSet(out.root, tuple(done), out.columns, out.segmenters, credits, size,
                       out.pictures)  # fmt: skip
    result.save()
    return result
