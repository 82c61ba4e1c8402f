"""The GPU paths: the same results as on the CPU (run by `nox -s cuda` where a GPU exists)."""

from __future__ import annotations

import pytest
import torch

from dof_smooth import (
    DeviceError,
    box_blur2d,
    depth_blur,
    gaussian_blur2d,
    lens_blur2d,
    portrait_blur,
)

pytestmark = pytest.mark.cuda


@pytest.fixture
def pair(rng):  # type: ignore[no-untyped-def]
    x = torch.rand(2, 3, 70, 90, generator=rng)
    return x, x.cuda()


def test_box_and_gaussian_on_gpu_equal_cpu(pair) -> None:  # type: ignore[no-untyped-def]
    cpu, gpu = pair
    for fn in (lambda t: box_blur2d(t, 5), lambda t: gaussian_blur2d(t, 9)):
        out = fn(gpu)
        assert out.device.type == "cuda"
        torch.testing.assert_close(out.cpu(), fn(cpu), rtol=0, atol=1e-5)


@pytest.mark.parametrize("path", ["auto", "direct", "fft"])
@pytest.mark.parametrize("radius", [3.0, 25.0])
def test_lens_on_gpu_equals_cpu(pair, path: str, radius: float) -> None:  # type: ignore[no-untyped-def]
    cpu, gpu = pair
    out = lens_blur2d(gpu, radius, blades=6, path=path)
    torch.testing.assert_close(out.cpu(), lens_blur2d(cpu, radius, blades=6), rtol=0, atol=1e-4)


@pytest.mark.parametrize("method", ["box", "gaussian", "lens"])
def test_portrait_blur_on_gpu_equals_cpu(pair, method: str) -> None:  # type: ignore[no-untyped-def]
    cpu, gpu = pair
    mask = torch.zeros(2, 1, 70, 90)
    mask[..., 20:50, 30:60] = 1
    out = portrait_blur(gpu, mask.cuda(), method, highlights=2.0)
    assert out.device.type == "cuda"
    expected = portrait_blur(cpu, mask, method, highlights=2.0)
    torch.testing.assert_close(out.cpu(), expected, rtol=0, atol=1e-4)


def test_depth_blur_on_gpu_equals_cpu(pair) -> None:  # type: ignore[no-untyped-def]
    cpu, gpu = pair
    depth = torch.linspace(1, 5, 90).view(1, 1, 1, 90).expand(2, 1, 70, 90).contiguous()
    out = depth_blur(gpu, depth.cuda(), focus=1.0, max_radius=5.0)
    expected = depth_blur(cpu, depth, focus=1.0, max_radius=5.0)
    torch.testing.assert_close(out.cpu(), expected, rtol=0, atol=1e-4)


def test_half_precision_on_gpu(pair) -> None:  # type: ignore[no-untyped-def]
    cpu, gpu = pair
    out = lens_blur2d(gpu.half(), 9.0)
    assert out.dtype == torch.float16
    torch.testing.assert_close(out.float().cpu(), lens_blur2d(cpu, 9.0), rtol=0, atol=2e-3)


def test_mask_on_another_device_is_refused(pair) -> None:  # type: ignore[no-untyped-def]
    _, gpu = pair
    with pytest.raises(DeviceError, match=r"move it with mask.to\(image.device\)"):
        portrait_blur(gpu, torch.zeros(2, 1, 70, 90))
