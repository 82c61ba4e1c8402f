"""Shared fixtures of the dof-seg tests: small photos and the built-in segmenter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from dof_io import write_rgb
from dof_seg import SelfieSegmenter

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny models on a shared CPU run steadier (and faster) on one torch thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def selfie() -> SelfieSegmenter:
    """The built-in general selfie segmenter (shipped weights), on the CPU."""
    return SelfieSegmenter("general")


@pytest.fixture(scope="session")
def reference() -> dict[str, np.ndarray]:
    """Inputs and masks produced once by mediapipe==0.10.21 itself (see tests/data/README.md)."""
    with np.load(DATA / "selfie_reference.npz") as data:
        return {key: data[key] for key in data.files}


def blob_photo(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """A small deterministic (H, W, 3) uint8 picture: a bright disc on a textured background."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    disc = (y - height / 2) ** 2 + (x - width / 2) ** 2 < (min(height, width) / 3) ** 2
    image = rng.integers(0, 90, (height, width, 3))
    image[disc] = [220, 180, 160]
    return image.astype(np.uint8)


@pytest.fixture(scope="session")
def make_photo() -> Callable[..., np.ndarray]:
    """The :func:`blob_photo` factory, for tests that draw their own photos."""
    return blob_photo


@pytest.fixture
def photo_dir(tmp_path: Path) -> Path:
    """Three small photos of different sizes in tmp_path/photos."""
    folder = tmp_path / "photos"
    for index, (h, w) in enumerate([(48, 64), (64, 48), (40, 40)]):
        write_rgb(folder / f"p{index}.png", blob_photo(h, w, seed=index))
    return folder
