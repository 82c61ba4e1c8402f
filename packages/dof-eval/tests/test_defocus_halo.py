from __future__ import annotations

import math

import pytest
import torch

from dof_eval import (
    DefocusRatio,
    FocusRatio,
    HaloLeakage,
    ShapeError,
    defocus_ratio,
    focus_ratio,
    halo_leakage,
    high_frequency_energy,
    lens_blur,
)
from dof_eval.defocus import laplacian
from dof_eval.photos import read_image, read_mask_tensor
from dof_eval.testing import box_blur, halo_free_blur, paste_blur, scene


def test_laplacian_of_a_quadratic_ramp_is_constant() -> None:
    # luma of a grey image x²/400 has Laplacian 2/400 in the interior
    xx = torch.arange(20.0).view(1, 1, 1, 20).expand(1, 3, 20, 20)
    lap = laplacian(xx**2 / 400)
    assert torch.allclose(lap[..., 1:-1, 1:-1], torch.full((1, 1, 18, 18), 2 / 400), atol=1e-6)


def test_high_frequency_energy_ignores_flat_images() -> None:
    flat = torch.full((1, 3, 16, 16), 0.5)
    everywhere = torch.ones(1, 1, 16, 16, dtype=torch.bool)
    assert float(high_frequency_energy(flat, everywhere)[0]) == 0.0


def test_identity_keeps_the_defocus_ratio_at_one() -> None:
    image, mask = scene()
    assert float(defocus_ratio(image, image, mask)[0]) == pytest.approx(1.0)


def test_a_blurred_background_drops_the_ratio_and_a_blurred_subject_does_not() -> None:
    image, mask = scene()
    background_blurred = halo_free_blur(image, mask, radius=3)
    assert float(defocus_ratio(image, background_blurred, mask)[0]) < 0.1
    subject_blurred = mask * box_blur(image, 3) + (1 - mask) * image
    assert float(defocus_ratio(image, subject_blurred, mask)[0]) == pytest.approx(1.0, abs=1e-6)


def test_focus_ratio_falls_when_only_the_background_is_blurred() -> None:
    image, mask = scene()
    sharp = float(focus_ratio(image, mask)[0])
    shallow = float(focus_ratio(halo_free_blur(image, mask, radius=3), mask)[0])
    assert shallow < 0.2 * sharp


def test_identity_has_no_halo() -> None:
    image, mask = scene()
    assert float(halo_leakage(image, image, mask)[0]) == 0.0


def test_pasting_over_a_full_blur_leaks_colour_and_halo_free_does_not() -> None:
    image, mask = scene(96)
    pasted = float(halo_leakage(image, paste_blur(image, mask, 5), mask)[0])
    clean = float(halo_leakage(image, halo_free_blur(image, mask, 5), mask)[0])
    assert pasted > 0.15
    assert abs(clean) < 0.03


def test_halo_grows_with_the_blur_radius() -> None:
    image, mask = scene(96)
    small = float(halo_leakage(image, paste_blur(image, mask, 2), mask)[0])
    large = float(halo_leakage(image, paste_blur(image, mask, 6), mask)[0])
    assert 0 < small < large


def test_halo_is_nan_when_nothing_borders_the_subject() -> None:
    image, _ = scene()
    no_person = torch.zeros(1, 1, 64, 64)
    assert math.isnan(float(halo_leakage(image, image, no_person)[0]))


def test_modules_equal_functions() -> None:
    image, mask = scene()
    out = paste_blur(image, mask)
    assert torch.equal(
        DefocusRatio(4)(image, out, mask), defocus_ratio(image, out, mask, dilation=4)
    )
    assert torch.equal(FocusRatio(4, 2)(out, mask), focus_ratio(out, mask, dilation=4, erosion=2))
    assert torch.equal(HaloLeakage(3)(image, out, mask), halo_leakage(image, out, mask, width=3))


def test_batches_are_scored_per_image() -> None:
    a, ma = scene(seed=0)
    b, mb = scene(seed=1)
    image, mask = torch.cat([a, b]), torch.cat([ma, mb])
    output = torch.cat([a, halo_free_blur(b, mb, 3)])
    ratio = defocus_ratio(image, output, mask)
    assert ratio.shape == (2,) and ratio[0] == pytest.approx(1.0) and ratio[1] < 0.2


def test_wrong_shapes_are_refused() -> None:
    image, mask = scene()
    with pytest.raises(ShapeError):
        defocus_ratio(image, image[:, :2], mask)
    with pytest.raises(ShapeError):
        halo_leakage(image, image, mask[:, :, :10])


def test_real_photo_lens_blur_paste_versus_halo_free(coco_person) -> None:
    """On a real portrait, pasting over a lens-blurred photo leaves a measurable halo."""
    size = (320, 224)
    image = read_image(coco_person / "images" / "000000253956.jpg", size)
    mask = read_mask_tensor(coco_person / "masks" / "000000253956.png", size)
    pasted = mask * image + (1 - mask) * lens_blur(image, 6)
    background = 1 - mask
    normalised = lens_blur(image * background, 6) / lens_blur(background, 6).clamp_min(1e-6)
    clean = mask * image + background * normalised
    halo_pasted = float(halo_leakage(image, pasted, mask)[0])
    halo_clean = float(halo_leakage(image, clean, mask)[0])
    assert halo_pasted > 0.1 and abs(halo_clean) < 0.5 * halo_pasted
    assert float(defocus_ratio(image, clean, mask)[0]) < 0.25
    assert float(focus_ratio(clean, mask)[0]) < float(focus_ratio(image, mask)[0])


@pytest.mark.cuda
def test_metrics_on_cuda_match_the_cpu() -> None:
    image, mask = scene(96)
    output = paste_blur(image, mask, 4)
    cuda = [t.cuda() for t in (image, output, mask)]
    for metric in (defocus_ratio, halo_leakage):
        torch.testing.assert_close(metric(*cuda).cpu(), metric(image, output, mask),
                                   rtol=1e-4, atol=1e-5)  # fmt: skip
    torch.testing.assert_close(focus_ratio(cuda[1], cuda[2]).cpu(), focus_ratio(output, mask),
                               rtol=1e-4, atol=1e-5)  # fmt: skip
