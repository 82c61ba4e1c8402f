"""box / Gaussian / lens blur against OpenCV (the oracle), across paths, dtypes and shapes."""

from __future__ import annotations

import cv2
import pytest
import torch

from dof_smooth import (
    BoxBlur2d,
    DTypeError,
    GaussianBlur2d,
    LensBlur2d,
    OptionError,
    ShapeError,
    UnknownNameError,
    box_blur2d,
    disk_kernel,
    filter2d,
    gaussian_blur2d,
    lens_blur2d,
    separable_filter2d,
)

SHAPES = [(2, 3, 37, 53), (1, 1, 64, 64), (1, 3, 3, 2), (3, 2, 9, 130)]
SEPARABLE = ["direct", "blocked"]
LENS = ["direct", "fft"]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("path", SEPARABLE)
@pytest.mark.parametrize("size", [5, 3, (3, 7), 4, (1, 6)])
def test_box_equals_opencv_blur(oracle, shape, path: str, size, rng) -> None:  # type: ignore[no-untyped-def]
    x = torch.rand(shape, generator=rng)
    kh, kw = (size, size) if isinstance(size, int) else size
    expected = oracle(cv2.blur, x, (kw, kh))
    torch.testing.assert_close(box_blur2d(x, size, path=path), expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("path", SEPARABLE)
@pytest.mark.parametrize("size", [3, 5, 7, 11, 15])
def test_gaussian_equals_opencv_gaussian_blur(oracle, shape, path: str, size: int, rng) -> None:  # type: ignore[no-untyped-def]
    x = torch.rand(shape, generator=rng)
    expected = oracle(cv2.GaussianBlur, x, (size, size), 0)
    torch.testing.assert_close(gaussian_blur2d(x, size, path=path), expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("path", SEPARABLE)
def test_gaussian_9x9_equals_opencv_with_the_papers_sigma(oracle, path: str, rng) -> None:  # type: ignore[no-untyped-def]
    x = torch.rand(2, 3, 41, 47, generator=rng)
    expected = oracle(cv2.GaussianBlur, x, (9, 9), 1.7)
    torch.testing.assert_close(gaussian_blur2d(x, 9, path=path), expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("path", SEPARABLE)
def test_gaussian_from_sigma_equals_opencv(oracle, path: str, rng) -> None:  # type: ignore[no-untyped-def]
    x = torch.rand(1, 3, 50, 60, generator=rng)
    expected = oracle(cv2.GaussianBlur, x, (0, 0), 2.0)
    torch.testing.assert_close(
        gaussian_blur2d(x, None, 2.0, path=path), expected, rtol=0, atol=1e-4
    )
    ky = cv2.getGaussianKernel(11, 1.5)
    kx = cv2.getGaussianKernel(5, 0.9)
    expected = oracle(cv2.sepFilter2D, x, -1, kx, ky)
    torch.testing.assert_close(
        gaussian_blur2d(x, (11, 5), (1.5, 0.9), path=path), expected, rtol=0, atol=1e-4
    )


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("path", LENS)
@pytest.mark.parametrize(("radius", "blades"), [(1.5, 0), (4.0, 0), (6.3, 6), (5.0, 5), (25, 0)])
def test_lens_equals_opencv_filter2d_with_the_same_kernel(
    oracle, shape, path, radius, blades, rng
) -> None:  # type: ignore[no-untyped-def]
    x = torch.rand(shape, generator=rng)
    kernel = disk_kernel(radius, blades, 15.0, dtype=torch.float64).numpy()
    expected = oracle(cv2.filter2D, x, -1, kernel)
    out = lens_blur2d(x, radius, blades=blades, rotation=15.0, path=path)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("radius", [0.0, 2.0, 9.5, 30.0])
def test_all_lens_paths_agree(radius: float, rng) -> None:  # type: ignore[no-untyped-def]
    x = torch.rand(2, 4, 70, 90, generator=rng)
    outs = {path: lens_blur2d(x, radius, path=path) for path in ("auto", *LENS)}
    for path, out in outs.items():
        torch.testing.assert_close(out, outs["direct"], rtol=0, atol=1e-4, msg=path)


def test_fft_path_tiles_a_large_image_like_the_direct_path(rng) -> None:  # type: ignore[no-untyped-def]
    """Several bands and tiles: 600 columns with r = 20 take FFT tiles of 256 (216 valid)."""
    x = torch.rand(1, 2, 300, 600, generator=rng)
    kernel = disk_kernel(20.0, 7)
    torch.testing.assert_close(
        filter2d(x, kernel, path="fft"), filter2d(x, kernel, path="direct"), rtol=0, atol=1e-4
    )


def test_all_separable_paths_agree_on_a_wide_image(rng) -> None:  # type: ignore[no-untyped-def]
    """Wide enough for several strips per plane in the blocked path."""
    x = torch.rand(1, 3, 700, 1600, generator=rng)
    ky, kx = torch.rand(9, generator=rng), torch.rand(4, generator=rng)
    torch.testing.assert_close(
        separable_filter2d(x, ky, kx, path="blocked"),
        separable_filter2d(x, ky, kx, path="direct"),
        rtol=0,
        atol=1e-4,
    )


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_dtype_is_kept(dtype: torch.dtype, rng) -> None:  # type: ignore[no-untyped-def]
    x = torch.rand(1, 3, 20, 24, generator=rng)
    tol = {torch.float64: 1e-6, torch.float16: 2e-3, torch.bfloat16: 1e-2}[dtype]
    for fn in (
        lambda t: box_blur2d(t, 5),
        lambda t: gaussian_blur2d(t, 9),
        lambda t: lens_blur2d(t, 3.0),
    ):
        out = fn(x.to(dtype))
        assert out.dtype == dtype
        torch.testing.assert_close(out.float(), fn(x), rtol=0, atol=tol)


def test_modules_equal_functions(rng) -> None:  # type: ignore[no-untyped-def]
    x = torch.rand(2, 3, 30, 40, generator=rng)
    torch.testing.assert_close(BoxBlur2d((3, 5))(x), box_blur2d(x, (3, 5)))
    torch.testing.assert_close(GaussianBlur2d(7, 1.2)(x), gaussian_blur2d(x, 7, 1.2))
    torch.testing.assert_close(
        LensBlur2d(4.5, blades=6, rotation=10)(x), lens_blur2d(x, 4.5, blades=6, rotation=10)
    )


def test_constant_image_stays_constant() -> None:
    x = torch.full((1, 3, 33, 47), 0.37)
    for out in (box_blur2d(x), gaussian_blur2d(x), lens_blur2d(x, 12.0)):
        torch.testing.assert_close(out, x, rtol=0, atol=1e-6)


@pytest.mark.parametrize("path", SEPARABLE)
def test_gradcheck_separable(path: str, rng) -> None:  # type: ignore[no-untyped-def]
    x = torch.rand(1, 2, 9, 11, generator=rng, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda t: gaussian_blur2d(t, 5, path=path), (x,), fast_mode=True
    )
    assert torch.autograd.gradcheck(
        lambda t: box_blur2d(t, (3, 4), path=path), (x,), fast_mode=True
    )


@pytest.mark.parametrize("path", LENS)
def test_gradcheck_lens(path: str, rng) -> None:  # type: ignore[no-untyped-def]
    x = torch.rand(1, 2, 9, 11, generator=rng, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda t: lens_blur2d(t, 2.5, blades=5, path=path), (x,), fast_mode=True
    )


def test_bad_inputs_say_what_to_do() -> None:
    with pytest.raises(ShapeError, match=r"got 3-D \(3, 8, 8\): add a batch axis with x\[None\]"):
        box_blur2d(torch.rand(3, 8, 8))
    with pytest.raises(DTypeError, match=r"got torch.uint8: convert it with x.float\(\) / 255"):
        gaussian_blur2d(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(DTypeError, match=r"must be a torch\.Tensor; got ndarray"):
        lens_blur2d(torch.rand(1, 3, 8, 8).numpy(), 2.0)  # type: ignore[arg-type]
    with pytest.raises(OptionError, match=r"kernel_size must be odd; got 4: use 5 instead of 4"):
        gaussian_blur2d(torch.rand(1, 3, 8, 8), 4)
    with pytest.raises(OptionError, match="give kernel_size, sigma or both"):
        gaussian_blur2d(torch.rand(1, 3, 8, 8), None)
    with pytest.raises(OptionError, match="kernel_size must be positive; got 0"):
        box_blur2d(torch.rand(1, 3, 8, 8), 0)
    with pytest.raises(UnknownNameError, match="expected one of: 'auto', 'direct', 'fft'"):
        lens_blur2d(torch.rand(1, 3, 8, 8), 2.0, path="fast")
    with pytest.raises(UnknownNameError, match="expected one of: 'auto', 'blocked', 'direct'"):
        box_blur2d(torch.rand(1, 3, 8, 8), path="fft")
