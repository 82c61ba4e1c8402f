from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from dof_eval import ShapeError, SubjectPreservation, masked_psnr, ssim_map, subject_preservation
from dof_eval.photos import read_image, read_mask_tensor, to_uint8
from dof_eval.testing import scene
from dof_io import write_rgb


def test_psnr_of_a_uniform_error_is_hand_computable() -> None:
    image, mask = scene()
    output = (image + 0.1).clamp(max=1.0)
    region = torch.ones_like(mask, dtype=torch.bool) & (image.max(dim=1, keepdim=True).values < 0.9)
    # MSE = 0.01 wherever nothing clipped -> 10 log10(1 / 0.01) = 20 dB
    assert float(masked_psnr(image, output, region)[0]) == pytest.approx(20.0, abs=1e-3)


def test_ssim_of_constant_images_matches_the_closed_form() -> None:
    a, b = 0.3, 0.6
    c1 = 0.01**2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)  # variances and covariance are 0
    ssim = ssim_map(torch.full((1, 3, 16, 16), a), torch.full((1, 3, 16, 16), b))
    assert torch.allclose(ssim, torch.full_like(ssim, expected), atol=1e-5)


def scipy_ssim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Independent SSIM map with scipy's Gaussian filter (mirror boundary, radius 5)."""

    def blur(x: np.ndarray) -> np.ndarray:
        return ndimage.gaussian_filter(x, sigma=1.5, mode="mirror", truncate=5 / 1.5)

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )


def test_ssim_map_matches_an_independent_scipy_implementation() -> None:
    g = torch.Generator().manual_seed(1)
    a = torch.rand(1, 1, 32, 40, generator=g, dtype=torch.float64)
    b = (a + 0.2 * torch.rand(1, 1, 32, 40, generator=g, dtype=torch.float64)).clamp(0, 1)
    ours = ssim_map(a, b)[0, 0].numpy()
    theirs = scipy_ssim(a[0, 0].numpy(), b[0, 0].numpy())
    np.testing.assert_allclose(ours, theirs, atol=1e-10)


def test_identical_subject_scores_infinite_psnr_and_ssim_one() -> None:
    image, mask = scene()
    psnr, ssim = subject_preservation(image, image.clone(), mask)
    assert math.isinf(float(psnr[0])) and float(ssim[0]) == pytest.approx(1.0)


def test_the_outline_is_left_out_by_the_erosion() -> None:
    image, mask = scene()
    outline = (
        torch.nn.functional.max_pool2d(mask, 3, 1, 1)
        - (-torch.nn.functional.max_pool2d(-mask, 3, 1, 1))
    ) > 0  # pixels within 1 px of the edge
    changed = torch.where(outline, 1 - image, image)
    psnr, _ = subject_preservation(image, changed, mask, erosion=3)
    assert math.isinf(float(psnr[0]))
    psnr_no_erosion, _ = subject_preservation(image, changed, mask, erosion=0)
    assert float(psnr_no_erosion[0]) < 30


def test_a_blurred_subject_scores_lower() -> None:
    image, mask = scene()
    blurred = torch.nn.functional.avg_pool2d(image, 5, 1, 2, count_include_pad=False)
    psnr, ssim = subject_preservation(image, blurred, mask)
    assert float(psnr[0]) < 40 and float(ssim[0]) < 0.9


def test_module_equals_function() -> None:
    image, mask = scene()
    output = (image * 0.9).clamp(0, 1)
    assert torch.equal(
        torch.stack(SubjectPreservation(erosion=2)(image, output, mask)),
        torch.stack(subject_preservation(image, output, mask, erosion=2)),
    )


def test_empty_mask_gives_nan() -> None:
    image, mask = scene()
    psnr, ssim = subject_preservation(image, image, torch.zeros_like(mask))
    assert math.isnan(float(psnr[0])) and math.isnan(float(ssim[0]))


def test_bad_inputs_are_refused_with_a_message() -> None:
    image, mask = scene()
    with pytest.raises(ShapeError, match="resize the output"):
        subject_preservation(image, image[..., :32], mask)
    with pytest.raises(ShapeError, match="mask must be"):
        subject_preservation(image, image, mask[0])


def test_real_photo_jpeg_round_trip_keeps_the_subject(coco_person, tmp_path) -> None:
    photo = coco_person / "images" / "000000253956.jpg"
    image = read_image(photo, (320, 224))
    mask = read_mask_tensor(coco_person / "masks" / "000000253956.png", (320, 224))
    write_rgb(tmp_path / "q.jpg", to_uint8(image), quality=60)
    psnr, ssim = subject_preservation(image, read_image(tmp_path / "q.jpg"), mask)
    assert 25 < float(psnr[0]) < 60 and 0.8 < float(ssim[0]) < 1.0


@pytest.mark.cuda
def test_subject_metrics_on_cuda_match_the_cpu() -> None:
    image, mask = scene()
    output = (image * 0.9).clamp(0, 1)
    on_gpu = subject_preservation(image.cuda(), output.cuda(), mask.cuda())
    on_cpu = subject_preservation(image, output, mask)
    for gpu, cpu in zip(on_gpu, on_cpu, strict=True):
        torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-4, atol=1e-4)
