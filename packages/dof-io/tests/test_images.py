"""dof-io: every awkward file decodes correctly or raises a clear error naming it."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dof_io import (
    ImageReadError,
    MaskFormatError,
    decode_rgb,
    encode_rgb,
    expand_inputs,
    read_mask,
    read_rgb,
    write_rgb,
    write_rgba,
)
from dof_io.testing import BROKEN, DECODABLE, bomb_png, gradient_rgb, make_bad_files


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return make_bad_files(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("name", DECODABLE)
def test_decodable_files_give_rgb_uint8(corpus: dict, name: str) -> None:
    rgb = read_rgb(corpus[name])
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3


@pytest.mark.parametrize("name", BROKEN)
def test_broken_files_raise_naming_the_file(corpus: dict, name: str) -> None:
    with pytest.raises(ImageReadError) as info:
        read_rgb(corpus[name])
    assert name in str(info.value)
    assert info.value.path == corpus[name]


def test_bomb_header_is_rejected_before_decoding(corpus: dict) -> None:
    with pytest.raises(ImageReadError, match=r"(2500000000 pixels|50000x50000).*raise max_pixels"):
        read_rgb(corpus["bomb_header.png"])


def test_exif_orientation_is_applied(corpus: dict) -> None:
    rgb = read_rgb(corpus["exif_rotated.jpg"])
    assert rgb.shape == (64, 48, 3)  # stored 48x64 landscape, displayed rotated
    # Orientation 6: the stored left column becomes the displayed top row.
    reference = np.rot90(gradient_rgb(), k=-1)
    assert np.abs(rgb.astype(int) - reference.astype(int)).mean() < 4


def test_png_named_jpg_decodes_exactly(corpus: dict) -> None:
    np.testing.assert_array_equal(read_rgb(corpus["png_named.jpg"]), gradient_rgb())


def test_sixteen_bit_is_scaled_not_clipped(corpus: dict) -> None:
    rgb = read_rgb(corpus["gray16.png"])
    assert rgb.max() > 200 and rgb.min() == 0  # 16-bit range mapped onto 0..255
    assert np.all(rgb[..., 0] == rgb[..., 1])


def test_cmyk_colours_survive(corpus: dict) -> None:
    rgb = read_rgb(corpus["cmyk.jpg"]).astype(int)
    assert np.abs(rgb - gradient_rgb().astype(int)).mean() < 12


def test_missing_file_names_it(tmp_path) -> None:
    with pytest.raises(ImageReadError, match=r"nothing\.jpg: cannot open"):
        read_rgb(tmp_path / "nothing.jpg")


def test_rgba_round_trip(tmp_path) -> None:
    rgb = gradient_rgb()
    mask = np.zeros(rgb.shape[:2], np.float32)
    mask[10:30, 20:40] = 1.0
    mask[0, 0] = 0.5
    path = write_rgba(tmp_path / "sub" / "m.png", rgb, mask)
    np.testing.assert_array_equal(read_rgb(path), rgb)
    got = read_mask(path)
    assert got.dtype == np.float32 and got.shape == mask.shape
    np.testing.assert_allclose(got, np.round(mask * 255) / 255, atol=1e-6)


@pytest.mark.parametrize("stored", [255, 1])
def test_grey_masks_of_either_scale(tmp_path, stored: int) -> None:
    mask = np.zeros((8, 8), np.uint8)
    mask[2:5, 2:5] = stored
    Image.fromarray(mask).save(tmp_path / "m.png")
    got = read_mask(tmp_path / "m.png")
    assert got.max() == 1.0 and got.sum() == 9


def test_rgba_rejects_mismatched_sizes() -> None:
    from dof_io import rgba_image

    with pytest.raises(MaskFormatError, match="differ in size"):
        rgba_image(gradient_rgb(), np.zeros((10, 10)))


def test_failed_write_leaves_previous_file(tmp_path) -> None:
    path = write_rgb(tmp_path / "a.png", gradient_rgb())
    before = path.read_bytes()
    with pytest.raises(MaskFormatError):
        write_rgb(path, np.zeros((4, 4), np.uint8))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]  # no temporary left behind


def test_expand_inputs_lists_folders_and_keeps_odd_files(tmp_path, corpus: dict) -> None:
    odd = tmp_path / "notes.txt"
    odd.write_text("x")
    found = expand_inputs([corpus["cmyk.jpg"].parent, odd])
    assert odd in found and corpus["cmyk.jpg"] in found


def test_our_pixel_limit_applies_below_pillows(corpus: dict) -> None:
    path = corpus["png_named.jpg"]  # 64 x 48
    with pytest.raises(ImageReadError, match=r"64x48 = 3,072 pixels is over the limit of 3,000"):
        read_rgb(path, max_pixels=3000)
    assert read_rgb(path, max_pixels=3072).shape == (48, 64, 3)


@pytest.mark.parametrize("scale", [1.0, 255.0])
def test_float_masks_are_read_in_their_own_range(tmp_path, scale: float) -> None:
    mask = np.zeros((6, 6), np.float32)
    mask[1:3, 1:3] = 0.5 * scale
    mask[4, 4] = scale
    Image.fromarray(mask, mode="F").save(tmp_path / "m.tif")
    got = read_mask(tmp_path / "m.tif")
    assert got[1, 1] == pytest.approx(0.5) and got[4, 4] == pytest.approx(1.0) and got[0, 0] == 0


@pytest.mark.parametrize("name", DECODABLE)
def test_decode_rgb_from_memory_equals_reading_the_file(corpus: dict, name: str) -> None:
    data = corpus[name].read_bytes()
    np.testing.assert_array_equal(decode_rgb(data, f"upload/{name}"), read_rgb(corpus[name]))


@pytest.mark.parametrize("name", BROKEN)
def test_decode_broken_upload_gives_the_file_message_under_its_name(
    corpus: dict, name: str
) -> None:
    with pytest.raises(ImageReadError) as from_file:
        read_rgb(corpus[name])
    with pytest.raises(ImageReadError) as from_memory:
        decode_rgb(corpus[name].read_bytes(), name)
    assert from_memory.value.path.name == name
    assert from_memory.value.reason == from_file.value.reason


def test_decode_checks_the_pixel_limit_before_decoding() -> None:
    data = bomb_png(4000, 3000)
    with pytest.raises(ImageReadError, match=r"4000x3000 = 12,000,000 pixels .* limit of 1,000"):
        decode_rgb(data, "big.png", max_pixels=1000)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_encode_rgb_gives_the_bytes_write_rgb_writes(tmp_path, suffix: str) -> None:
    rgb = gradient_rgb()
    assert encode_rgb(rgb, suffix) == write_rgb(tmp_path / f"x{suffix}", rgb).read_bytes()
    with pytest.raises(MaskFormatError, match=r"\(H, W, 3\) uint8"):
        encode_rgb(rgb[..., 0], suffix)


def _palette_with_transparency(path, mask: np.ndarray) -> None:
    """A palette PNG whose entry 0 is transparent: the mask is where the index is not 0."""
    index = np.where(mask, 1, 0).astype(np.uint8)
    image = Image.fromarray(index, mode="P")
    image.putpalette([0, 0, 0, 200, 100, 50] + [0] * 762)
    image.save(path, transparency=0)


def test_every_kind_of_alpha_is_a_mask(tmp_path) -> None:
    from dof_io import has_alpha_mask, read_rgba

    mask = np.zeros((6, 8), bool)
    mask[1:4, 2:6] = True
    _palette_with_transparency(tmp_path / "p.png", mask)
    Image.fromarray(np.dstack([gradient_rgb(6, 8)[..., 0], mask * 255]).astype(np.uint8),
                    mode="LA").save(tmp_path / "la.png")  # fmt: skip
    write_rgba(tmp_path / "rgba.png", gradient_rgb(6, 8), mask)
    write_rgb(tmp_path / "plain.png", gradient_rgb(6, 8))
    for name in ("p.png", "la.png", "rgba.png"):
        assert has_alpha_mask(tmp_path / name), name
        assert has_alpha_mask(Image.open(tmp_path / name)), name
        rgb, alpha = read_rgba(tmp_path / name)
        assert rgb.shape == (6, 8, 3) and alpha is not None
        np.testing.assert_array_equal(alpha, mask.astype(np.float32))
        np.testing.assert_array_equal(read_mask(tmp_path / name), alpha)
    assert not has_alpha_mask(tmp_path / "plain.png")
    assert read_rgba(tmp_path / "plain.png")[1] is None
    # the photo part keeps the stored colours under transparent pixels (not white)
    assert read_rgb(tmp_path / "p.png")[0, 0].tolist() == [0, 0, 0]
    assert read_rgb(tmp_path / "p.png")[2, 3].tolist() == [200, 100, 50]


def test_a_mask_of_another_size_is_refused_naming_both_sizes(tmp_path) -> None:
    write_rgba(tmp_path / "m.png", gradient_rgb(6, 8), np.ones((6, 8)))
    assert read_mask(tmp_path / "m.png", size=(6, 8)).shape == (6, 8)
    with pytest.raises(ImageReadError, match=r"the depth map is 8x6 but its photo is 9x5"):
        read_mask(tmp_path / "m.png", size=(5, 9), what="depth map")
