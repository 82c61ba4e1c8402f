"""Defocus maps as grey PNGs: radii in pixels round-trip through the picture and its text."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dof_io import ImageReadError, MaskFormatError, read_radius_map, write_radius_map
from dof_io.images import RADIUS_KEY


def _radii(h: int = 24, w: int = 31, top: float = 7.3) -> np.ndarray:
    rng = np.random.default_rng(0)
    radius = rng.random((h, w)) * top
    radius[:4] = 0.0  # an in-focus band
    radius[5, 7] = top  # the largest radius, exactly
    return radius.astype(np.float32)


def test_a_map_round_trips_to_half_a_grey_level(tmp_path) -> None:
    radius = _radii()
    path = write_radius_map(tmp_path / "m_map.png", radius)
    assert path == tmp_path / "m_map.png"
    back = read_radius_map(path)
    assert back.shape == radius.shape and back.dtype == np.float32
    top = float(radius.max())
    assert np.abs(back - radius).max() <= top / 255 / 2 + 1e-5  # rounded, not truncated
    assert back[:4].max() == 0.0 and back[5, 7] == pytest.approx(top, rel=1e-6)
    assert [p.name for p in tmp_path.iterdir()] == ["m_map.png"]  # no temporary left


def test_the_picture_is_black_in_focus_white_at_the_largest_radius(tmp_path) -> None:
    radius = _radii(top=3.0)
    write_radius_map(tmp_path / "m.png", radius)
    with Image.open(tmp_path / "m.png") as image:
        assert image.mode == "L" and image.size == (31, 24)
        assert float(image.text[RADIUS_KEY]) == pytest.approx(3.0)
        grey = np.asarray(image)
    assert grey[:4].max() == 0 and grey.max() == grey[5, 7] == 255
    np.testing.assert_array_equal(grey, np.rint(radius / radius.max() * 255).astype(np.uint8))


def test_an_all_sharp_map_is_black_and_reads_back_as_zeros(tmp_path) -> None:
    write_radius_map(tmp_path / "z.png", np.zeros((8, 9)))
    back = read_radius_map(tmp_path / "z.png")
    assert back.shape == (8, 9) and np.isfinite(back).all() and back.max() == 0.0


@pytest.mark.parametrize(
    ("radius", "name"),
    [
        (np.full((4, 4), np.nan), "nan.png"),
        (np.full((4, 4), np.inf), "inf.png"),
        (np.array([[0.0, -0.5], [1.0, 2.0]]), "negative.png"),
        (np.zeros((4, 4, 1)), "channel.png"),
    ],
    ids=["nan", "inf", "negative", "three-axes"],
)
def test_bad_radii_are_refused_and_nothing_is_written(
    tmp_path, radius: np.ndarray, name: str
) -> None:
    with pytest.raises(MaskFormatError, match=r"a radius map must be \(H, W\), finite and >= 0"):
        write_radius_map(tmp_path / name, radius)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["m.jpg", "m.tif", "m"])
def test_only_png_holds_the_scale(tmp_path, name: str) -> None:
    with pytest.raises(MaskFormatError, match="written as PNG"):
        write_radius_map(tmp_path / name, _radii())
    assert list(tmp_path.iterdir()) == []
    write_radius_map(tmp_path / "UPPER.PNG", _radii())  # the suffix in any case


def test_a_painted_map_needs_the_radius_white_stands_for(tmp_path) -> None:
    grey = np.zeros((10, 12), np.uint8)
    grey[:, 6:] = 255
    grey[:, 3:6] = 51  # a fifth
    Image.fromarray(grey, mode="L").save(tmp_path / "painted.png")  # no text
    with pytest.raises(ImageReadError, match=rf"painted.png.*has no {RADIUS_KEY} text.*max_radius"):
        read_radius_map(tmp_path / "painted.png")
    back = read_radius_map(tmp_path / "painted.png", max_radius=6.0)
    assert (
        back[0, 0] == 0.0 and back[0, 4] == pytest.approx(1.2) and back[0, 8] == pytest.approx(6.0)
    )
