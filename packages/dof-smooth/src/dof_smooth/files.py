"""Photo files in, photo files out: :func:`~dof_smooth.portrait_blur` as a batch job.

This module is the optional file layer of dof-smooth (``pip install dof-smooth[files]``, which
brings dof-io): ``import dof_smooth`` itself needs torch alone and never imports it::

    from dof_smooth.files import smooth_files
    for event in smooth_files(["a.jpg", "b.jpg"], "out", masks="masks", method="lens"):
        print(event.photo, event.status, event.reason)

The files follow dof-io's rules (``dof_io.plan_outputs``): ``x.jpg`` writes ``OUT/x.png``;
masks are ``MASKS/x.png`` (RGBA alpha, dof-seg's format, or grey); a photo whose output exists
is skipped (resume); an output that would overwrite a photo, mask or depth map is refused; a
photo that fails is reported and the job goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

import dof_io
from dof_io.tensors import PHOTO_FAULTS, image_to_tensor, mask_to_tensor, tensor_to_image
from dof_smooth.errors import MemoryBudgetError, OptionError
from dof_smooth.methods import DEPTH_MEMORY_FACTOR, MEMORY_PER_PIXEL
from dof_smooth.portrait import check_options, portrait_blur

#: a segmenter: (1, 3, H, W) photo in [0, 1] -> (1, 1, H, W) mask (dof-seg's are)
Segmenter = Callable[[Tensor], Tensor]
#: a photo's own faults, the job goes on past them: dof-io's rule (unreadable, no mask or a
#: mask of another size, too large for the budget or the device) and the blur's memory budget.
#: A bug (a ValueError from a wrong call, say) stops the job with its traceback.
PHOTO_FAILURES: tuple[type[BaseException], ...] = (*PHOTO_FAULTS, MemoryBudgetError)


def read_map(
    path: Path, size: tuple[int, int], what: str = "mask", *, device: str | torch.device = "cpu"
) -> Tensor:
    """A mask or depth PNG as a (1, 1, H, W) tensor in [0, 1], checked against the photo size.

    Raises:
        dof_io.MaskFormatError: no such file (for a mask, the message says how to make one).
        dof_io.ImageReadError: unreadable, or not the photo's size.
    """
    if not path.is_file():
        hint = " (make masks with `dof seg PHOTOS -o DIR`)" if what == "mask" else ""
        raise dof_io.MaskFormatError(f"no {what} {path}{hint}")
    return mask_to_tensor(dof_io.read_mask(path, size=size, what=what), device=device)


def smooth_photo(
    photo: str | Path,
    *,
    masks: str | Path | None = None,
    segmenter: Segmenter | None = None,
    depths: str | Path | None = None,
    device: str | torch.device = "cpu",
    **options: Any,
) -> npt.NDArray[np.uint8]:
    """One photo file through :func:`~dof_smooth.portrait_blur`.

    Args:
        photo: the photo file.
        masks: folder of masks ``<stem>.png``; or
        segmenter: compute the mask (exactly one of ``masks`` and ``segmenter``).
        depths: optional folder of depth maps ``<stem>.png`` (grey, larger = farther).
        device: where the blur runs.
        **options: :func:`~dof_smooth.portrait_blur`'s (method, radius, composite, ...).

    Returns:
        (H, W, 3) uint8 array.
    """
    if (masks is None) == (segmenter is None):
        raise OptionError("give exactly one of masks (a folder) and segmenter")
    photo = Path(photo)
    rgb = dof_io.read_rgb(photo)
    size = (rgb.shape[0], rgb.shape[1])
    image = image_to_tensor(rgb, device=device)
    with torch.inference_mode():
        if segmenter is not None:
            mask = segmenter(image).clamp(0, 1)
        else:
            mask = read_map(Path(masks or "") / f"{photo.stem}.png", size, device=device)
        depth = None
        if depths is not None:
            depth = read_map(Path(depths) / f"{photo.stem}.png", size, "depth map", device=device)
        out = portrait_blur(image, mask, depth=depth, **options)
    return tensor_to_image(out)


def smooth_files(
    photos: Iterable[str | Path],
    out_dir: str | Path,
    *,
    masks: str | Path | None = None,
    segmenter: Segmenter | None = None,
    depths: str | Path | None = None,
    fmt: str = "png",
    overwrite: bool = False,
    max_memory: int | None = dof_io.DEFAULT_MAX_MEMORY,
    device: str | torch.device = "cpu",
    failures: tuple[type[BaseException], ...] = (),
    **options: Any,
) -> Iterator[dof_io.PhotoEvent]:
    """Write ``out_dir/<stem>.<fmt>`` for each photo, one ``dof_io.PhotoEvent`` per photo.

    Args:
        photos: photo files (``dof_io.expand_inputs`` expands folders).
        out_dir: created if missing.
        masks, segmenter, depths, device, **options: as in :func:`smooth_photo`.
        fmt: ``png`` or ``jpg`` (quality 95).
        overwrite: redo photos whose output exists.
        max_memory: bytes one photo may take (:data:`~dof_smooth.MEMORY_PER_PIXEL`); a larger
            photo fails with a message naming ``--max-memory``. None or 0: no limit.
        failures: more exception types that are a photo's own fault (the segmenter's); a
            photo that fails with one of them or :data:`PHOTO_FAILURES` is reported and the job
            goes on, any other error stops it with its traceback.

    Raises:
        OptionError, UnknownNameError: options that fit no photo, at the call (before any photo
            is read or written); the photos are worked on as the events are consumed.
    """
    method = options.get("method", "lens")
    checked = {
        k: options[k] for k in ("composite", "blades", "linear", "highlights") if k in options
    }
    check_options(method, **checked)
    if fmt not in ("png", "jpg"):
        raise OptionError(f"fmt must be png or jpg; got {fmt!r}")
    per_pixel = MEMORY_PER_PIXEL[method] * (DEPTH_MEMORY_FACTOR if depths else 1)

    def work(planned: dof_io.PlannedPhoto) -> None:
        dof_io.check_memory(planned.photo, bytes_per_pixel=per_pixel, budget=max_memory,
                            what=f"{method} blur")  # fmt: skip
        image = smooth_photo(planned.photo, masks=masks, segmenter=segmenter, depths=depths,
                             device=device, **options)  # fmt: skip
        dof_io.write_rgb(planned.target, image)

    return dof_io.process_photos(
        photos, out_dir, work, tails={"": f".{fmt}"}, reads=(masks, depths), overwrite=overwrite,
        failures=PHOTO_FAILURES + failures,
    )  # fmt: skip
