"""Composing a paired item: the public pieces that ``dof paired-bench`` (paired_build.py) and
``dof data synth`` (paired_train.py) share, byte for byte.

A person crop (the largest person in a coco-person photo, with its matte) goes over a
person-free window of another photo; the truth blurs that background with a known lens
kernel in linear light before the person goes on top (see :mod:`dof_eval.paired_build`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import kornia
import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage

from dof_eval.credits import Attribution, read_attributions
from dof_eval.errors import DatasetError
from dof_io import list_images, read_mask, read_rgb, save_image

FORMAT_VERSION = 1
U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PairedConfig:
    """How the benchmark is built.

    Attributes:
        n: number of items.
        size: side of the square items, pixels.
        radius: radius of the ground truth's disk kernel, pixels at ``size``.
        seed: seeds every random choice (pairing, crop position, scale, flip).
        margin: person-free margin around a background crop in its source photo, pixels.
        min_cover: least fraction of a person crop the person must cover.
        min_person: least fraction of its source photo a person must cover (tiny people
            would be upscaled into blur).
        linear: blur the background in linear light (sRGB decoded), as optics do.
    """

    n: int = 24
    size: int = 256
    radius: float = 8.0
    seed: int = 0
    margin: int = 8
    min_cover: float = 0.2
    min_person: float = 0.01
    linear: bool = True


def lens_kernel(radius: float, supersample: int = 8) -> torch.Tensor:
    """A disk ("lens", "bokeh") kernel of ``radius`` px, edge pixels weighted by coverage.

    Returns:
        (k, k) float64 tensor summing to 1, k = 2 * ceil(radius) + 1.
    """
    r = int(np.ceil(radius))
    if radius <= 0:
        return torch.ones(1, 1, dtype=torch.float64)
    steps = (np.arange(supersample) + 0.5) / supersample - 0.5  # sub-pixel offsets
    grid = np.arange(-r, r + 1)[:, None] + steps[None, :]  # (k, s)
    yy = grid[:, None, :, None]
    xx = grid[None, :, None, :]
    cover = ((yy**2 + xx**2) <= radius**2).mean(axis=(2, 3))
    return torch.from_numpy(cover / cover.sum())


def srgb_to_linear(image: torch.Tensor) -> torch.Tensor:
    """sRGB-encoded values in [0, 1] -> linear light (IEC 61966-2-1), (B, 3, H, W).

    kornia's curve, on purpose not dof-smooth's: the benchmark's truth stays independent of the
    methods it judges.
    """
    return kornia.color.rgb_to_linear_rgb(image)


def linear_to_srgb(image: torch.Tensor) -> torch.Tensor:
    """Linear light, clipped to [0, 1] -> sRGB-encoded values (IEC 61966-2-1), (B, 3, H, W)."""
    return kornia.color.linear_rgb_to_rgb(image.clamp(0, 1))


def defocus_background(image: torch.Tensor, radius: float, *, linear: bool = True) -> torch.Tensor:
    """The ground truth's background: :func:`lens_blur`, in linear light when ``linear``."""
    if not linear:
        return lens_blur(image, radius)
    return linear_to_srgb(lens_blur(srgb_to_linear(image), radius))


def lens_blur(image: torch.Tensor, radius: float) -> torch.Tensor:
    """Blur (B, C, H, W) with :func:`lens_kernel` (reflect padding), in float64 for exactness."""
    kernel = lens_kernel(radius)
    r = kernel.shape[0] // 2
    x = image.double()
    weight = kernel.to(x.device)[None, None].expand(x.shape[1], 1, -1, -1)
    out = F.conv2d(F.pad(x, (r, r, r, r), mode="reflect"), weight, groups=x.shape[1])
    return out.to(image.dtype)


@dataclass(frozen=True)
class Source:
    file: str
    rgb: U8
    person: npt.NDArray[np.bool_]  # person or crowd pixels


Person = tuple[Source, tuple[U8, F64]]  # a source photo and its person crop (rgb, matte)
Background = tuple[Source, npt.NDArray[np.intp]]  # a source photo and its free windows


def load_sources(source: Path) -> list[Source]:
    images_dir = source / "images" if (source / "images").is_dir() else source
    masks_dir = source / "masks"
    out = []
    for image in list_images(images_dir):
        mask_path = masks_dir / f"{image.stem}.png"
        if not mask_path.is_file():
            continue
        person = read_mask(mask_path) >= 0.5
        crowd = masks_dir / f"{image.stem}_crowd.png"
        if crowd.is_file():
            person |= read_mask(crowd) >= 0.5
        out.append(Source(image.name, read_rgb(image), person))
    if len(out) < 2:
        raise DatasetError(
            f"{source} needs images/ and masks/<stem>.png for at least 2 photos; found {len(out)}"
        )
    return out


def free_windows(person: npt.NDArray[np.bool_], size: int, margin: int) -> npt.NDArray[np.intp]:
    """(K, 2) top-left corners of size x size windows at least ``margin`` px from any person."""
    h, w = person.shape
    if h < size or w < size:
        return np.zeros((0, 2), dtype=np.intp)
    people = torch.from_numpy(person.astype(np.float32))[None, None]
    grown = F.max_pool2d(people, 2 * margin + 1, stride=1, padding=margin)[0, 0].numpy() > 0
    integral = np.pad(grown.astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    counts = (
        integral[size:, size:]
        - integral[:-size, size:]
        - integral[size:, :-size]
        + integral[:-size, :-size]
    )  # (h - size + 1, w - size + 1)
    return np.argwhere(counts == 0)


def _largest_person(person: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """The largest connected person (pieces within 2 px of each other count as one)."""
    grown = ndimage.binary_dilation(person, iterations=2)
    labels, count = ndimage.label(grown)
    if count == 0:
        return person
    sizes = ndimage.sum_labels(person, labels, index=np.arange(1, count + 1))
    return np.asarray(person & (labels == 1 + int(np.argmax(sizes))))


def person_crop(src: Source, config: PairedConfig) -> tuple[U8, F64] | None:
    """A square crop around the photo's largest person, or None when the person is too small."""
    person = _largest_person(src.person)
    ys, xs = np.nonzero(person)
    if ys.size < config.min_person * person.size:
        return None
    h, w = person.shape
    side = min(int(max(np.ptp(ys), np.ptp(xs)) * 1.1) + 1, h, w)
    cy, cx = (ys.min() + ys.max()) // 2, (xs.min() + xs.max()) // 2
    top = int(np.clip(cy - side // 2, 0, h - side))
    left = int(np.clip(cx - side // 2, 0, w - side))
    crop = person[top : top + side, left : left + side]
    if crop.mean() < config.min_cover:
        return None
    rgb = src.rgb[top : top + side, left : left + side]
    return rgb, crop.astype(np.float64)


def _resize(array: npt.NDArray[Any], side: int, resample: Image.Resampling) -> F64:
    if array.ndim == 2:
        image = Image.fromarray(array.astype(np.float32), mode="F")
        return np.asarray(image.resize((side, side), resample), dtype=np.float64)
    image = Image.fromarray(array)
    return np.asarray(image.resize((side, side), resample), dtype=np.float64) / 255.0


def _compose(
    person: tuple[U8, F64], background: U8, config: PairedConfig, rng: np.random.Generator
) -> tuple[dict[str, Any], dict[str, U8]]:
    size = config.size
    scale = float(rng.uniform(0.7, 1.0))
    side = max(8, round(size * scale))
    left = int(rng.integers(0, size - side + 1))
    flip = bool(rng.integers(0, 2))
    rgb = _resize(person[0], side, Image.Resampling.LANCZOS)
    alpha = np.clip(_resize(person[1], side, Image.Resampling.BILINEAR), 0, 1)
    if flip:
        rgb, alpha = rgb[:, ::-1], alpha[:, ::-1]
    canvas = np.zeros((size, size, 3))
    matte = np.zeros((size, size))
    canvas[size - side :, left : left + side] = rgb
    matte[size - side :, left : left + side] = alpha
    matte = np.round(matte * 255) / 255  # the matte as stored, so truth and file agree
    q = background.astype(np.float64) / 255.0
    q_tensor = torch.from_numpy(q).permute(2, 0, 1)[None]
    q_blur = defocus_background(q_tensor, config.radius, linear=config.linear)[0]
    q_blur_np = q_blur.permute(1, 2, 0).numpy()
    a = matte[..., None]
    images = {
        "input": a * canvas + (1 - a) * q,
        "truth": a * canvas + (1 - a) * q_blur_np,
        "background": q,
    }
    out = {k: np.clip(np.round(v * 255), 0, 255).astype(np.uint8) for k, v in images.items()}
    out["mask"] = np.round(matte * 255).astype(np.uint8)
    return {"scale": round(scale, 4), "left": left, "flip": flip}, out


def compose_item(
    person: Person,
    background: Background,
    config: PairedConfig,
    rng: np.random.Generator,
) -> tuple[dict[str, Any], dict[str, U8]]:
    """Cut a random background window and compose one item; its recipe and its images."""
    (src, crop), (bg_src, windows) = person, background
    top, left = windows[int(rng.integers(0, len(windows)))]
    patch = bg_src.rgb[top : top + config.size, left : left + config.size]
    placement, images = _compose(crop, patch, config, rng)
    recipe = {"person": src.file, "background": bg_src.file, "window": [int(top), int(left)]}
    return {**recipe, **placement}, images


def write_item(
    item_id: str,
    person: Person,
    background: Background,
    config: PairedConfig,
    rng: np.random.Generator,
    credits: dict[str, Attribution],
    out_dir: Path,
) -> dict[str, Any]:
    """Compose one item, write its four PNGs, return its entry for dataset.json."""
    recipe, images = compose_item(person, background, config, rng)
    for kind, array in images.items():
        mode = "L" if array.ndim == 2 else "RGB"
        save_image(Image.fromarray(array, mode=mode), out_dir / kind / f"{item_id}.png")
    sources = [(k, recipe[k]) for k in ("person", "background")]
    return {"id": item_id, **recipe,
            "credits": {k: vars(credits[f]) for k, f in sources if f in credits}}  # fmt: skip


def matches(
    persons: list[Person],
    backgrounds: list[Background],
    n: int,
    rng: np.random.Generator,
    *,
    fallback: bool = True,
) -> Iterator[tuple[Person, Background | None]]:
    """``n`` (person, background) matches in seeded orders, the background from another photo
    where there is one; where not, the next in order (``fallback``) or None."""
    p_order, b_order = rng.permutation(len(persons)), rng.permutation(len(backgrounds))
    for i in range(n):
        person = persons[p_order[i % len(persons)]]
        choices = [backgrounds[b_order[(i + k) % len(backgrounds)]] for k in range(len(b_order))]
        other = (b for b in choices if b[0].file != person[0].file)
        yield person, next(other, choices[0] if fallback else None)


def source_credits(source: Path) -> dict[str, Attribution]:
    """The source's credits (``manifest.csv``), none when it has no manifest."""
    manifest = source / "manifest.csv"
    return read_attributions(manifest) if manifest.is_file() else {}


def kernel_record(config: PairedConfig) -> dict[str, Any]:
    """The truth's kernel as dataset.json describes it."""
    return {"type": "disk", "radius": config.radius, "antialiased": True,
            "linear_light": config.linear}  # fmt: skip


def read_index(index: Path, version: int, config: Any) -> dict[str, Any] | None:
    """``index``'s contents when it is a finished build of this format and ``config``."""
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(data, dict) and data.get("format") == version
    return data if ok and data.get("config") == asdict(config) else None
