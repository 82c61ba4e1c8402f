"""Test photos on disk: finding them with their masks and credits, loading them as tensors.

A test folder may be laid out as

- ``DIR/images/*.jpg`` with ``DIR/masks/<stem>.png`` (and ``<stem>_crowd.png`` regions to ignore),
  as ``shared/data/coco-person`` is;
- a dof-gan data root, ``DIR/testA/`` with ``DIR/maskA/<stem>.png`` or RGBA alpha;
- ``DIR/*.png|jpg`` itself, masks in ``DIR/masks/`` or as the images' alpha channel.

A ``manifest.csv`` or ``credits.csv`` in the folder supplies attribution unless one is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from dof_eval.credits import Attribution, read_attributions
from dof_eval.errors import DatasetError, ShapeError
from dof_io import (
    DofIOError,
    has_alpha_mask,
    list_images,
    open_image,
    read_mask,
    read_rgb,
    save_image,
)
from dof_io import ShapeError as DofIOShapeError
from dof_io.tensors import image_to_tensor, tensor_to_image

MASK_FOLDERS = ("masks", "maskA", "mask")
#: a test photo's shorter side must have at least this many pixels: a smaller one would be
#: scaled up into the metrics, where it only adds noise
MIN_SIDE = 16
MANIFESTS = ("manifest.csv", "credits.csv")


@dataclass(frozen=True)
class EvalPhoto:
    """One test photo.

    Attributes:
        name: the file's stem, used to name every render of it.
        image: the photo file.
        mask: its person mask file (may be the photo itself, RGBA), or None.
        ignore: regions not to score (COCO crowd), or None.
        attribution: credit line from the manifest, or None.
    """

    name: str
    image: Path
    mask: Path | None = None
    ignore: Path | None = None
    attribution: Attribution | None = None


def _image_folder(folder: Path) -> Path:
    for sub in ("images", "testA"):
        if (folder / sub).is_dir() and list_images(folder / sub):
            return folder / sub
    return folder


def _has_alpha(path: Path) -> bool:
    try:
        return has_alpha_mask(path)
    except DofIOError:
        return False  # reported by name when the photo itself is read


def _mask_for(image: Path, folders: list[Path]) -> tuple[Path | None, Path | None]:
    for folder in folders:
        mask = folder / f"{image.stem}.png"
        if mask.is_file():
            crowd = folder / f"{image.stem}_crowd.png"
            return mask, crowd if crowd.is_file() else None
    if image.suffix.lower() == ".png" and _has_alpha(image):
        return image, None
    return None, None


def find_photos(folder: str | Path, manifest: str | Path | None = None) -> list[EvalPhoto]:
    """The test photos in ``folder`` with their masks and credits, sorted by name.

    Raises:
        DatasetError: when the folder does not exist or holds no image.
        ManifestError: when a manifest is given but cannot be read.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"test folder {folder} does not exist")
    images_dir = _image_folder(folder)
    images = [p for p in list_images(images_dir) if not p.stem.endswith("_crowd")]
    if not images:
        raise DatasetError(
            f"no images in {folder} (looked in {images_dir}): expected images/, testA/ or photos"
        )
    mask_dirs = [
        d for base in (folder, images_dir) for n in MASK_FOLDERS if (d := base / n).is_dir()
    ]
    if manifest is None:
        manifest = next((folder / m for m in MANIFESTS if (folder / m).is_file()), None)
    credits = read_attributions(manifest) if manifest is not None else {}
    photos = []
    for image in images:
        mask, ignore = _mask_for(image, mask_dirs)
        credit = credits.get(image.name) or credits.get(image.stem)
        photos.append(EvalPhoto(image.stem, image, mask, ignore, credit))
    return photos


def fit_size(height: int, width: int, size: int | None, multiple: int = 8) -> tuple[int, int]:
    """(H, W) with the long side scaled to ``size``, each rounded to a multiple of ``multiple``."""
    scale = 1.0 if size is None else size / max(height, width)
    return (
        max(multiple, round(height * scale / multiple) * multiple),
        max(multiple, round(width * scale / multiple) * multiple),
    )


def to_tensor(rgb: np.ndarray) -> Tensor:
    """(H, W, 3) uint8 -> (1, 3, H, W) float in [0, 1]."""
    return image_to_tensor(rgb)


def to_uint8(image: Tensor) -> np.ndarray:
    """(1, C, H, W) or (C, H, W) float in [0, 1], C = 3 or 1 -> (H, W, C) uint8 (rounded,
    clipped): :func:`dof_io.tensors.tensor_to_image` with dof-eval's error type."""
    try:
        return tensor_to_image(image)
    except DofIOShapeError as err:
        raise ShapeError(str(err)) from err


def read_image(path: str | Path, size: tuple[int, int] | None = None) -> Tensor:
    """An image file as (1, 3, H, W) float in [0, 1], resized (Lanczos) to ``size`` = (H, W)."""
    rgb = read_rgb(path)
    if size is not None and rgb.shape[:2] != size:
        rgb = np.asarray(Image.fromarray(rgb).resize(size[::-1], Image.Resampling.LANCZOS))
    return to_tensor(rgb)


def read_mask_tensor(path: str | Path, size: tuple[int, int] | None = None) -> Tensor:
    """A mask file as (1, 1, H, W) float in [0, 1], resized (bilinear) to ``size`` = (H, W)."""
    mask = read_mask(path)
    if size is not None and mask.shape != size:
        mask = np.asarray(
            Image.fromarray(mask, mode="F").resize(size[::-1], Image.Resampling.BILINEAR)
        )
    return torch.from_numpy(np.clip(mask, 0, 1).astype(np.float32))[None, None]


def write_image(path: str | Path, image: Tensor) -> Path:
    """Save a (1, 3, H, W) or (1, 1, H, W) float image in [0, 1] atomically (PNG or JPEG)."""
    array = to_uint8(image)
    pil = (
        Image.fromarray(array[..., 0], mode="L") if array.shape[-1] == 1 else Image.fromarray(array)
    )
    return save_image(pil, path)


def image_size(path: str | Path) -> tuple[int, int]:
    """(H, W) of an image file with EXIF orientation applied (decodes it)."""
    width, height = open_image(path).size
    return height, width


def checked_size(photo: EvalPhoto) -> tuple[int, int]:
    """(H, W) of ``photo`` after checking it can be scored as it is.

    Raises:
        DatasetError: the photo is smaller than :data:`MIN_SIDE` a side, or its mask (or
            ignore mask) has another size; a mismatch is never rescaled into the metrics.
        ImageReadError: a file cannot be read (it names the file).
    """
    height, width = image_size(photo.image)
    if min(height, width) < MIN_SIDE:
        raise DatasetError(
            f"{photo.image} is {width}x{height}: too small to evaluate (at least {MIN_SIDE} "
            "pixels a side); remove it from the test folder"
        )
    for extra in (photo.mask, photo.ignore):
        if extra is not None and extra != photo.image:
            read_mask(extra, size=(height, width))  # ImageReadError names the mask
    return height, width
