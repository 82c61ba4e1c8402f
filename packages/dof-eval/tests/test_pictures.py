"""Picture columns (a generator's defocus map): rendered and shown, never scored."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dof_eval import (
    find_photos,
    gallery_from_renders,
    get_extractor,
    render_columns,
    score_realism,
    score_renders,
)
from dof_eval.render import RenderSet
from dof_eval.testing import halo_free_blur, scene

MAP = "GAN x (defocus, photo only) map"


def _save(path: Path, seed: int, size: int = 48) -> Path:
    image, mask = scene(size, seed)
    rgb = (image[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    alpha = (mask[0, 0].numpy() * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(path)
    return path


def _renderers() -> dict[str, object]:
    return {
        "blur": lambda x, m: halo_free_blur(x, m, 3),
        MAP: lambda x, m: (1 - m).expand(-1, 3, -1, -1),  # a picture: white background
    }


@pytest.fixture
def renders(tmp_path: Path) -> RenderSet:
    for i in range(3):
        _save(tmp_path / "photos" / f"p{i}.png", i)
    return render_columns(find_photos(tmp_path / "photos"), _renderers(), tmp_path / "r",
                          size=48, pictures=[MAP])  # fmt: skip


def test_pictures_round_trip_through_renders_json(renders: RenderSet, tmp_path: Path) -> None:
    assert renders.pictures == (MAP,)
    assert set(renders.columns) == {"blur", MAP}
    raw = json.loads((tmp_path / "r" / "renders.json").read_text())
    assert raw["pictures"] == [MAP]
    loaded = RenderSet.load(tmp_path / "r")
    assert loaded == renders and loaded.pictures == (MAP,)
    with Image.open(renders.path(renders.columns[MAP], "p0")) as image:  # rendered like a column
        assert image.size == (48, 48)


def test_a_render_folder_from_before_pictures_loads_with_none(
    renders: RenderSet, tmp_path: Path
) -> None:
    path = tmp_path / "r" / "renders.json"
    raw = json.loads(path.read_text())
    del raw["pictures"]
    path.write_text(json.dumps(raw))
    assert RenderSet.load(tmp_path / "r").pictures == ()


def test_scores_leave_the_pictures_out(renders: RenderSet) -> None:
    metrics = score_renders(renders)
    assert set(metrics.per_image) == {"input", "blur"}
    assert set(metrics.means()) == {"input", "blur"}
    asked = score_renders(renders, columns=[MAP])  # asked for by name: scored
    assert set(asked.per_image) == {"input", MAP}


def test_realism_leaves_the_pictures_out(renders: RenderSet, tmp_path: Path) -> None:
    real = [_save(tmp_path / "real" / f"r{i}.png", 10 + i) for i in range(3)]
    torch.manual_seed(0)
    realism = score_realism(renders, real, get_extractor("random-conv"), kid_subsets=2)
    assert set(realism) == {"input", "blur"}


def test_the_gallery_still_shows_the_pictures(renders: RenderSet) -> None:
    gallery = gallery_from_renders(renders)
    assert gallery.columns == ("input", "mask", "blur", MAP)
    assert gallery.rows[0].cells[MAP] == renders.path(renders.columns[MAP], "p0")
