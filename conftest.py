"""Workspace-wide pytest hooks: the `cuda` marker and the shared real-photo data.

Loaded for every package's tests (pytest reads conftest.py files up to the root). It imports
nothing beyond pytest at module level, because dof-io's test environment has no torch.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parent.parent / "shared" / "data"


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip `cuda`-marked tests where no GPU is visible (torchvision's conftest does the same)."""
    cuda_items = [item for item in items if "cuda" in item.keywords]
    if not cuda_items or _cuda_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU: torch.cuda.is_available() is false")
    for item in cuda_items:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data` beside the checkout (real photos with person masks); skips if absent."""
    if not (SHARED_DATA / "coco-person" / "manifest.csv").is_file():
        pytest.skip(f"real-photo data not found at {SHARED_DATA} (see shared/README.md)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def coco_person(shared_data: Path) -> Path:
    """The coco-person folder: images/, masks/ and manifest.csv."""
    return shared_data / "coco-person"
