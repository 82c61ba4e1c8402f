"""The unpaired dataset in the paper's layout and the order it is drawn in.

Layout: ``ROOT/trainA/ trainB/ testA/ testB/`` (A = ordinary photos, B = shallow depth of
field). Person masks either as the alpha channel of the images (the dof-seg RGBA format) or as
``ROOT/maskA/<stem>.png`` and ``ROOT/maskB/<stem>.png`` (grey or RGBA).

All randomness (which A and which B, crop offsets, flips) is drawn up front, one epoch at a
time, by an :class:`EpochPlanner` whose generator state goes into the checkpoint. Loading an
item is then a pure function of its recipe, so worker processes change nothing and a resumed
run sees the very same crops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

import dof_io
from dof_gan.config import DataConfig
from dof_gan.errors import DatasetError
from dof_io.tensors import image_to_tensor

#: One item's draws: (index_A, index_B, top_A, left_A, top_B, left_B, flip_A, flip_B); crop
#: offsets are fractions of the room left for the crop.
Recipe = tuple[int, int, float, float, float, float, bool, bool]


@dataclass(frozen=True)
class Domain:
    """The images of one domain and where their masks are.

    ``masks`` is ``"folder"`` (``maskX/<stem>.png``), ``"alpha"`` (the image's alpha channel)
    or ``"none"``.
    """

    name: str
    images: tuple[Path, ...]
    masks: str
    mask_dir: Path | None = None

    def mask_path(self, image: Path) -> Path:
        assert self.mask_dir is not None
        return self.mask_dir / f"{image.stem}.png"


def scan_domain(root: str | Path, name: str, split: str = "train") -> Domain:
    """Find ``ROOT/<split><name>/`` and decide where its masks come from.

    Raises:
        DatasetError: the folder is missing or empty, or ``maskX/`` lacks a mask for an image.
    """
    root = Path(root)
    folder = root / f"{split}{name}"
    if not folder.is_dir():
        raise DatasetError(
            f"{folder} does not exist: the dataset folder needs {split}A/ and {split}B/ "
            "(A = ordinary photos, B = shallow depth of field)"
        )
    images = tuple(dof_io.list_images(folder))
    if not images:
        raise DatasetError(f"{folder} holds no images (.jpg, .png, ...)")
    mask_dir = root / f"mask{name}"
    if mask_dir.is_dir():
        missing = [p.name for p in images if not (mask_dir / f"{p.stem}.png").is_file()]
        if missing:
            raise DatasetError(
                f"{mask_dir} has no mask for {len(missing)} of the {len(images)} images in "
                f"{folder} (first: {', '.join(missing[:3])}); add <stem>.png for each, or "
                "remove the folder to use the images' alpha channel"
            )
        return Domain(name, images, "folder", mask_dir)
    has_alpha = dof_io.has_alpha_mask(images[0])
    return Domain(name, images, "alpha" if has_alpha else "none")


def scan_priors(root: str | Path, domain: Domain, segmenter: str) -> Path:
    """``ROOT/prior<X>/``, the person masks a generator with a prior reads, one per image.

    Raises:
        DatasetError: the folder is missing or lacks a mask (the message says how to make them).
    """
    folder = Path(root) / f"prior{domain.name}"
    make = (f"make them with: dof seg {Path(root) / domain.images[0].parent.name} -o {folder} "
            f"--segmenter {segmenter}")  # fmt: skip
    if not folder.is_dir():
        raise DatasetError(f"the generator reads {segmenter!r} person masks from {folder}, "
                           f"which does not exist; {make}")  # fmt: skip
    missing = [p.name for p in domain.images if not (folder / f"{p.stem}.png").is_file()]
    if missing:
        first = ", ".join(missing[:3])
        raise DatasetError(f"{folder} has no mask for {len(missing)} of the "
                           f"{len(domain.images)} images (first: {first}); {make}")  # fmt: skip
    return folder


def load_item(domain: Domain, index: int) -> tuple[Tensor, Tensor | None]:
    """Read one photo and its mask: ((3, H, W) float [0, 1], (1, H, W) float [0, 1] or None)."""
    path = domain.images[index]
    mask: np.ndarray[Any, Any] | None = None
    if domain.masks == "alpha":
        rgb, mask = dof_io.read_rgba(path)
        if mask is None:
            raise DatasetError(
                f"{path}: has no alpha channel but the other images of {domain.name} carry their "
                "mask there; give it a mask (dof seg) or put masks in mask{A,B}/"
            )
    else:
        rgb = dof_io.read_rgb(path)
        if domain.masks == "folder":
            mask = dof_io.read_mask(domain.mask_path(path), size=rgb.shape[:2])
    image_t = image_to_tensor(rgb)[0]  # (3, H, W)
    mask_t = None if mask is None else torch.from_numpy(np.ascontiguousarray(mask))[None]
    return image_t, mask_t


def _decode(domain: Domain, index: int) -> tuple[Tensor, Tensor | None]:
    """:func:`load_item` with the photo kept as (3, H, W) uint8 (a quarter of the memory)."""
    image, mask = load_item(domain, index)
    return (image * 255.0).round().to(torch.uint8), mask


def find_bad_files(domain: Domain) -> list[tuple[Path, str]]:
    """Decode every image of ``domain`` and its mask; (file, reason) for each that fails.

    Each file is read as training would read it, so what passes here cannot stop a run later.
    """
    bad: list[tuple[Path, str]] = []
    for index, path in enumerate(domain.images):
        try:
            load_item(domain, index)
        except dof_io.ImageReadError as err:
            bad.append((err.path, err.reason))
        except (DatasetError, dof_io.DofIOError, OSError, ValueError) as err:
            bad.append((path, str(err).removeprefix(f"{path}: ")))
    return bad


def check_dataset(dataset: UnpairedDataset, *, show: int = 20) -> None:
    """Refuse a dataset with any unreadable image or mask, naming them all at once.

    Args:
        dataset: the training (or test) set.
        show: how many bad files the message lists (the count is always complete).

    Raises:
        DatasetError: one line per bad file, with the reason, and what to do.
    """
    bad = find_bad_files(dataset.A) + find_bad_files(dataset.B)
    if not bad:
        return
    total = len(dataset.A.images) + len(dataset.B.images)
    lines = [f"  {path}: {reason}" for path, reason in bad[:show]]
    if len(bad) > show:
        lines.append(f"  ... and {len(bad) - show} more")
    raise DatasetError(
        f"{len(bad)} of the {total} training files under {dataset.config.root} cannot be used; "
        "replace or remove them and start again:\n" + "\n".join(lines)
    )


def resize_crop_flip(
    image: Tensor, load_size: int, size: int, top: float, left: float, flip: bool
) -> Tensor:
    """(C, H, W) -> (C, size, size): shorter side to ``load_size`` (antialiased bilinear), crop
    at fractional offsets ``top``/``left`` in [0, 1) of the spare room, optional mirror."""
    h, w = image.shape[-2:]
    scale = load_size / min(h, w)
    new_h, new_w = max(size, round(h * scale)), max(size, round(w * scale))
    resized = F.interpolate(
        image[None], size=(new_h, new_w), mode="bilinear", align_corners=False, antialias=True
    )[0]
    y = min(int(top * (new_h - size + 1)), new_h - size)
    x = min(int(left * (new_w - size + 1)), new_w - size)
    out = resized[:, y : y + size, x : x + size]
    return out.flip(-1) if flip else out


#: memory the decoded-photo cache of :meth:`UnpairedDataset.preload` may use by default.
CACHE_BYTES = 4 * 2**30


class UnpairedDataset(Dataset[dict[str, Tensor]]):
    """Items are looked up by :data:`Recipe`, not by index; see :class:`EpochPlanner`.

    Each item: ``A``/``B`` (3, size, size) in [-1, 1]; ``mask_A``/``mask_B`` (1, size, size)
    in [0, 1] when both domains have masks.
    """

    def __init__(self, config: DataConfig, split: str = "train", *, prior: str = "") -> None:
        self.config = config
        self.A = scan_domain(config.root, "A", split)
        self.B = scan_domain(config.root, "B", split)
        self.has_masks = self.A.masks != "none" and self.B.masks != "none"
        self.prior = prior
        self.prior_dirs = {name: scan_priors(config.root, d, prior) for name, d in
                           (("A", self.A), ("B", self.B))} if prior else {}  # fmt: skip
        self._cache: dict[tuple[str, int], tuple[Tensor, Tensor | None]] = {}
        self._priors: dict[tuple[str, int], Tensor] = {}

    def _prior(self, domain: Domain, index: int, size: tuple[int, int]) -> Tensor:
        """(1, H, W) float [0, 1]: the segmenter's mask of image ``index`` (cached as uint8)."""
        key = (domain.name, index)
        if key not in self._priors:
            path = self.prior_dirs[domain.name] / f"{domain.images[index].stem}.png"
            mask = dof_io.read_mask(path, size=size)
            self._priors[key] = torch.from_numpy((mask * 255).round().astype(np.uint8))[None]
        return self._priors[key].float() / 255.0

    def preload(self, max_bytes: int = CACHE_BYTES) -> int:
        """Decode photos once and keep them as uint8 tensors, until ``max_bytes`` are used.

        Items then come out bit for bit as without the cache (uint8 -> float is exact); only
        JPEG/PNG decoding leaves the training loop. Photos past the budget are decoded per item
        as before. Returns the bytes held.
        """
        used = sum(
            image.nbytes + (0 if m is None else m.nbytes) for image, m in self._cache.values()
        )
        for domain in (self.A, self.B):
            for index in range(len(domain.images)):
                if (domain.name, index) in self._cache:
                    continue
                rgb, mask = _decode(domain, index)
                size = rgb.nbytes + (0 if mask is None else mask.nbytes)
                if used + size > max_bytes:
                    return used
                self._cache[domain.name, index] = (rgb, mask)
                used += size
        return used

    def _photo(self, domain: Domain, index: int) -> tuple[Tensor, Tensor | None]:
        """(3, H, W) float [0, 1] and (1, H, W) float [0, 1] or None, from the cache if there."""
        cached = self._cache.get((domain.name, index))
        rgb, mask = cached if cached is not None else _decode(domain, index)
        return rgb.float() / 255.0, mask

    def __len__(self) -> int:
        return max(len(self.A.images), len(self.B.images))

    def __getitem__(self, recipe: Recipe) -> dict[str, Tensor]:
        index_A, index_B, top_A, left_A, top_B, left_B, flip_A, flip_B = recipe
        item: dict[str, Tensor] = {}
        for key, domain, index, top, left, flip in (
            ("A", self.A, index_A, top_A, left_A, flip_A),
            ("B", self.B, index_B, top_B, left_B, flip_B),
        ):
            image, mask = self._photo(domain, index)
            flip = flip and self.config.flip
            crop = (self.config.load_size, self.config.size, top, left, flip)
            item[key] = resize_crop_flip(image, *crop) * 2 - 1  # RGB to [-1, 1]
            if self.has_masks and mask is not None:
                item[f"mask_{key}"] = resize_crop_flip(mask, *crop).clamp(0, 1)  # stays [0, 1]
            if self.prior:
                prior = self._prior(domain, index, tuple(image.shape[-2:]))  # type: ignore[arg-type]
                item[f"prior_{key}"] = resize_crop_flip(prior, *crop).clamp(0, 1)
        return item


class EpochPlanner:
    """Draws each epoch's recipes from one checkpointed generator.

    An epoch has ``max(len(A), len(B))`` items: A goes through shuffled passes over its images,
    B is drawn uniformly and independently at every item (as in CycleGAN).
    """

    def __init__(self, n_A: int, n_B: int, *, seed: int) -> None:
        self.n_A, self.n_B = n_A, n_B
        self.generator = torch.Generator().manual_seed(seed)

    def plan(self) -> list[Recipe]:
        g, n = self.generator, max(self.n_A, self.n_B)
        passes = math.ceil(n / self.n_A)
        order_A = torch.cat([torch.randperm(self.n_A, generator=g) for _ in range(passes)])[:n]
        index_B = torch.randint(self.n_B, (n,), generator=g)
        crops = torch.rand(n, 4, generator=g, dtype=torch.float64)
        flips = torch.rand(n, 2, generator=g) < 0.5
        recipes: list[Recipe] = []
        for a, b, crop, flip in zip(order_A, index_B, crops.tolist(), flips, strict=True):
            top_A, left_A, top_B, left_B = crop
            recipes.append(
                (int(a), int(b), top_A, left_A, top_B, left_B, bool(flip[0]), bool(flip[1]))
            )
        return recipes

    def get_state(self) -> Tensor:
        return self.generator.get_state()

    def set_state(self, state: Tensor) -> None:
        self.generator.set_state(state)
