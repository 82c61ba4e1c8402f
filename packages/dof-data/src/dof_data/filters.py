"""Filters the paper applied by hand, automated. Each marks with a reason, never deletes, and
is its own stage (``filter:<name>``), so it can be rerun with other settings or left out.

- :func:`filter_monochrome`: black-and-white and toned (sepia) photos, by chromaticity spread.
- :func:`filter_small`: photos too small for the training size.
- :func:`filter_no_person`: photos where a person segmenter finds (almost) nobody. The
  segmenter is passed in as a callable, so dof-data does not depend on dof-seg.
- :func:`filter_camera`: photos whose EXIF camera is not the wanted one (``camera`` is not a
  documented search argument, so this checks what actually arrived).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from PIL import Image

from dof_data.download import ProgressFn
from dof_data.errors import ConfigError, UnsafeDataError
from dof_data.manifest import Manifest, Mark, PhotoRow
from dof_data.report import StageReport
from dof_io import ImageReadError, read_rgb

RGBArray = npt.NDArray[np.uint8]
#: ``person_fraction(rgb)``: (H, W, 3) uint8 RGB -> fraction of the frame that is person, [0, 1].
PersonFraction = Callable[[RGBArray], float]


def chroma_spread(rgb: RGBArray, *, side: int = 64) -> float:
    """How much the colour varies over the photo, in percent of chromaticity.

    The photo is reduced to ``side`` pixels on its long side; for every pixel brighter than
    near-black the chromaticity (r, g) = (R, G) / (R + G + B) is taken, and the result is
    ``100 * sqrt(var(r) + var(g))``. Chromaticity ignores brightness, so a grey photo scores 0
    and a photo toned by scaling its channels (the classic sepia matrix) scores near 0 too;
    colour photos of the coco-person set score 2.2 to 16. Toning that also adds a colour cast
    to the shadows varies the chromaticity and can score higher (about 3).

    Args:
        rgb: (H, W, 3) uint8.

    Returns:
        float >= 0.
    """
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ConfigError(f"rgb must be (H, W, 3); got {rgb.shape}")
    image = Image.fromarray(rgb)
    image.thumbnail((side, side), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.float64).reshape(-1, 3)  # (N, 3)
    total = pixels.sum(axis=1)
    bright = pixels[total > 30]
    if len(bright) < 2:
        return 0.0
    chroma = bright[:, :2] / bright.sum(axis=1, keepdims=True)  # (N, 2) r, g
    return float(100.0 * np.sqrt(chroma.var(axis=0).sum()))


def _each_photo(
    manifest: Manifest,
    stage: str,
    judge: Callable[[PhotoRow], Mark | None],
    progress: ProgressFn | None,
) -> StageReport:
    rows = manifest.downloaded()
    marks = []
    for done, row in enumerate(rows, start=1):
        mark = judge(row)
        if mark is not None:
            marks.append(mark)
        if progress:
            progress(done, len(rows))
    manifest.replace_marks(stage, marks)
    return StageReport(stage, len(rows), marks)


def _pixels(manifest: Manifest, row: PhotoRow) -> RGBArray | None:
    try:
        return read_rgb(manifest.file_of(row))
    except (ImageReadError, UnsafeDataError):
        return None


def _unreadable(stage: str, row: PhotoRow) -> Mark:
    return Mark(row.id, stage, "unreadable", f"{row.local_path} no longer decodes; re-download it")


def filter_monochrome(
    manifest: Manifest, *, max_spread: float = 1.5, progress: ProgressFn | None = None
) -> StageReport:
    """Mark photos whose :func:`chroma_spread` is below ``max_spread`` (stage
    ``filter:monochrome``). 1.5 separates grey and sepia-matrix versions (0-0.4) from the
    dullest colour photo of the coco-person set (2.2)."""
    stage = "filter:monochrome"
    if max_spread < 0:
        raise ConfigError(f"max_spread must be >= 0; got {max_spread}")

    def judge(row: PhotoRow) -> Mark | None:
        rgb = _pixels(manifest, row)
        if rgb is None:
            return _unreadable(stage, row)
        spread = chroma_spread(rgb)
        if spread >= max_spread:
            return None
        return Mark(
            row.id, stage, "monochrome", f"monochrome: chroma spread {spread:.2f} < {max_spread:g}"
        )

    return _each_photo(manifest, stage, judge, progress)


def filter_small(manifest: Manifest, *, min_side: int = 256) -> StageReport:
    """Mark photos whose short side is under ``min_side`` pixels (stage ``filter:small``);
    prepare would have to enlarge them. Reads only the manifest."""
    stage = "filter:small"
    if min_side < 1:
        raise ConfigError(f"min_side must be >= 1; got {min_side}")

    def judge(row: PhotoRow) -> Mark | None:
        width, height = row.width or 0, row.height or 0
        if min(width, height) >= min_side:
            return None
        return Mark(row.id, stage, "small", f"too small: {width}x{height}, short side < {min_side}")

    return _each_photo(manifest, stage, judge, None)


def filter_no_person(
    manifest: Manifest,
    person_fraction: PersonFraction,
    *,
    min_fraction: float = 0.02,
    progress: ProgressFn | None = None,
) -> StageReport:
    """Mark photos where ``person_fraction(rgb)`` is below ``min_fraction`` (stage
    ``filter:person``).

    Args:
        person_fraction: (H, W, 3) uint8 RGB -> fraction of pixels that are person, in [0, 1];
            e.g. a dof-seg segmenter wrapped by the app.
        min_fraction: in [0, 1]; 0.02 = a person covers at least 2% of the frame.
    """
    stage = "filter:person"
    if not 0.0 <= min_fraction <= 1.0:
        raise ConfigError(f"min_fraction must be in [0, 1]; got {min_fraction}")

    def judge(row: PhotoRow) -> Mark | None:
        rgb = _pixels(manifest, row)
        if rgb is None:
            return _unreadable(stage, row)
        fraction = float(person_fraction(rgb))
        if not 0.0 <= fraction <= 1.0:
            raise ConfigError(f"person_fraction must return a value in [0, 1]; got {fraction}")
        if fraction >= min_fraction:
            return None
        return Mark(
            row.id,
            stage,
            "no-person",
            f"no person found: {fraction:.1%} of the frame < {min_fraction:.0%}",
        )

    return _each_photo(manifest, stage, judge, progress)


def filter_camera(
    manifest: Manifest, model: str, *, domain: str = "A", keep_unknown: bool = True
) -> StageReport:
    """Mark photos of ``domain`` whose EXIF camera does not contain ``model`` (stage
    ``filter:camera``; case-insensitive, "iPhone 7" matches "Apple iPhone 7" but also
    "iPhone 7 Plus"). Flickr strips EXIF from some sizes: photos without EXIF are kept unless
    ``keep_unknown`` is False."""
    stage = "filter:camera"
    if not model.strip():
        raise ConfigError("model must name a camera, e.g. 'iPhone 7'")

    def judge(row: PhotoRow) -> Mark | None:
        if row.domain != domain or (row.camera is None and keep_unknown):
            return None
        if row.camera is not None and model.lower() in row.camera.lower():
            return None
        return Mark(
            row.id, stage, "camera", f"camera {row.camera or 'unknown (no EXIF)'} is not {model}"
        )

    return _each_photo(manifest, stage, judge, None)
