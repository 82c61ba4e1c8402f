"""Helpers shared by dof-smooth's tests: OpenCV as the oracle, and real photos with masks."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import Tensor


def to_hwc(x: Tensor) -> list[np.ndarray]:
    """(B, C, H, W) tensor -> list of (H, W, C) float arrays, as OpenCV takes them."""
    return [np.ascontiguousarray(i.permute(1, 2, 0).double().numpy()).astype(np.float32) for i in x]


def from_hwc(arrays: list[np.ndarray], channels: int) -> Tensor:
    """OpenCV outputs (H, W[, C]) -> (B, C, H, W) float32 tensor."""
    stacked = np.stack([a.reshape(a.shape[0], a.shape[1], channels) for a in arrays])
    return torch.from_numpy(stacked).permute(0, 3, 1, 2)


def opencv(fn, x: Tensor, *args, **kwargs) -> Tensor:  # type: ignore[no-untyped-def]
    """Apply an OpenCV filter image by image with BORDER_REFLECT_101."""
    kwargs.setdefault("borderType", cv2.BORDER_REFLECT_101)
    return from_hwc([fn(a, *args, **kwargs) for a in to_hwc(x)], x.shape[1])


def load_coco(root: Path, count: int, *, scale: float = 0.5) -> list[tuple[str, Tensor, Tensor]]:
    """The first ``count`` photos of coco-person (most portrait-like first), downscaled.

    Returns (name, image (1, 3, H, W) in [0, 1], mask (1, 1, H, W) in {0, 1}) triples.
    """
    from dof_io import read_mask, read_rgb

    with (root / "manifest.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))[:count]
    samples = []
    for row in rows:
        stem = Path(row["file"]).stem
        image = torch.from_numpy(read_rgb(root / "images" / row["file"])).permute(2, 0, 1)
        mask = torch.from_numpy(read_mask(root / "masks" / f"{stem}.png"))[None]
        size = (round(image.shape[1] * scale), round(image.shape[2] * scale))
        image = torch.nn.functional.interpolate(
            image[None].float() / 255, size=size, mode="area"
        ).clamp(0, 1)
        mask = torch.nn.functional.interpolate(mask[None], size=size, mode="nearest")
        samples.append((stem, image, (mask >= 0.5).float()))
    return samples


@pytest.fixture(scope="session")
def coco_samples(coco_person: Path) -> list[tuple[str, Tensor, Tensor]]:
    """Six real photos with their person masks, at half size (about 320 px)."""
    return load_coco(coco_person, 6)


@pytest.fixture
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(0)


@pytest.fixture(scope="session")
def oracle():  # type: ignore[no-untyped-def]
    """:func:`opencv`: ``oracle(cv2.blur, x, (5, 5))`` -> (B, C, H, W) tensor."""
    return opencv
