"""The unpaired dataset: layout, mask sources, value ranges, and the planned order."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from dof_gan import DataConfig, DatasetError, EpochPlanner, UnpairedDataset
from dof_gan.data import resize_crop_flip, scan_domain


@pytest.mark.parametrize("masks", ["alpha", "folder", "none"])
def test_mask_sources(tmp_path: Path, make_dataset: Callable[..., Path], masks: str) -> None:
    root = make_dataset(tmp_path, n=2, masks=masks)
    dataset = UnpairedDataset(DataConfig(root=str(root), size=32, load_size=36, num_workers=0))
    assert dataset.A.masks == masks and dataset.has_masks == (masks != "none")
    item = dataset[(1, 0, 0.5, 0.5, 0.0, 0.99, True, False)]
    assert item["A"].shape == item["B"].shape == (3, 32, 32)
    assert -1 <= item["A"].min() < -0.5 and 0.5 < item["A"].max() <= 1  # [-1, 1], not [0, 1]
    if masks == "none":
        assert "mask_A" not in item
    else:
        assert item["mask_A"].shape == (1, 32, 32)
        assert item["mask_A"].min() == 0 and item["mask_A"].max() == 1  # stays in [0, 1]


def test_missing_folder_and_missing_mask(tmp_path: Path, make_dataset: Callable[..., Path]) -> None:
    with pytest.raises(DatasetError, match=r"trainA does not exist.*needs trainA/ and trainB/"):
        scan_domain(tmp_path, "A")
    root = make_dataset(tmp_path / "d", n=2, masks="folder")
    (root / "maskB" / "b1.png").unlink()
    with pytest.raises(DatasetError, match=r"no mask for 1 of the 2 images .*b1\.jpg"):
        scan_domain(root, "B")


def test_resize_crop_flip_keeps_image_and_mask_aligned() -> None:
    image = torch.arange(40 * 60, dtype=torch.float32).view(1, 40, 60)
    out = resize_crop_flip(image, 40, 32, top=0.0, left=1.0, flip=False)
    assert out.shape == (1, 32, 32)
    assert torch.equal(out, image[:, :32, -32:])  # no resize needed: a pure crop, right edge
    assert torch.equal(resize_crop_flip(image, 40, 32, 0.0, 1.0, True), out.flip(-1))


def test_planner_covers_A_and_replays_from_its_state() -> None:
    planner = EpochPlanner(3, 5, seed=1)
    state = planner.get_state()
    first = planner.plan()
    assert len(first) == 5
    assert sorted(r[0] for r in first[:3]) == [0, 1, 2]  # A: shuffled passes
    assert all(0 <= r[1] < 5 for r in first)
    second = planner.plan()
    assert second != first
    planner.set_state(state)
    assert planner.plan() == first


def test_a_palette_png_with_transparency_carries_its_mask(tmp_path: Path) -> None:
    """dof-io's one alpha rule: a palette PNG with a transparent entry is a mask here too."""
    import numpy as np
    from PIL import Image

    folder = tmp_path / "trainA"
    folder.mkdir()
    index = np.zeros((12, 16), np.uint8)
    index[3:9, 4:12] = 1  # the person: palette entry 1, opaque
    image = Image.fromarray(index, mode="P")
    image.putpalette([0, 0, 0, 200, 100, 50] + [0] * 762)
    image.save(folder / "p.png", transparency=0)
    domain = scan_domain(tmp_path, "A")
    assert domain.masks == "alpha"
    from dof_gan.data import load_item

    _, mask = load_item(domain, 0)
    assert mask is not None and mask.sum() == 6 * 8


def test_preload_decodes_once_and_changes_no_value(
    tmp_path: Path, make_dataset: Callable[..., Path]
) -> None:
    root = make_dataset(tmp_path / "data", n=3, masks="folder")
    config = DataConfig(root=str(root), size=32, load_size=36)
    recipes = EpochPlanner(3, 3, seed=1).plan()
    fresh = [UnpairedDataset(config)[r] for r in recipes]
    dataset = UnpairedDataset(config)
    one_photo = dataset.preload(max_bytes=20_000)  # room for one photo and its mask
    assert 0 < one_photo < dataset.preload()  # the default budget takes the rest
    for folder in ("trainA", "trainB", "maskA", "maskB"):  # decoded once: files not needed now
        for path in (root / folder).iterdir():
            path.unlink()
    for recipe, expected in zip(recipes, fresh, strict=True):
        item = dataset[recipe]
        assert item.keys() == expected.keys()
        assert all(torch.equal(item[key], expected[key]) for key in item)
