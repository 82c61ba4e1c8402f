"""The halo test on real photos (coco-person, masks from its masks/ folder).

Leakage = how much of a change of the subject's colours shows up in the 10-pixel band just
outside the mask (dof_smooth.subject_leakage). The halo-free composite must leak at most a tenth
of what the paper's paste leaks.
"""

from __future__ import annotations

import pytest
import torch

from dof_smooth import gaussian_blur2d, outside_band, portrait_blur, subject_leakage

CASES = [("lens", 12.0), ("gaussian", None), ("box", None)]


def leakage(samples, method, radius, composite):  # type: ignore[no-untyped-def]
    def render(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return portrait_blur(image, mask, method, radius, composite)

    return torch.cat([subject_leakage(render, image, mask) for _, image, mask in samples])


@pytest.mark.parametrize(("method", "radius"), CASES)
def test_halo_free_leaks_at_most_a_tenth_of_paste(coco_samples, method, radius) -> None:  # type: ignore[no-untyped-def]
    pasted = leakage(coco_samples, method, radius, "paste")
    halo_free = leakage(coco_samples, method, radius, "halo_free")
    assert bool((pasted > 0.02).all()), pasted  # paste does leak: the test can tell
    assert bool((halo_free <= 0.1 * pasted).all()), (halo_free, pasted)


def test_halo_free_with_soft_masks(coco_samples) -> None:  # type: ignore[no-untyped-def]
    """Segmenters give soft outlines: feather the masks (sigma 1.5 px) and measure again."""
    soft = [(n, image, gaussian_blur2d(mask, None, 1.5)) for n, image, mask in coco_samples]
    pasted = leakage(soft, "lens", 12.0, "paste")
    halo_free = leakage(soft, "lens", 12.0, "halo_free")
    assert float(halo_free.mean()) <= 0.1 * float(pasted.mean()), (halo_free, pasted)


def test_outside_band() -> None:
    mask = torch.zeros(1, 1, 30, 30)
    mask[..., 10:20, 10:20] = 1
    band = outside_band(mask, 3)
    assert int(band.sum()) == 16 * 16 - 10 * 10
    assert float((band * mask).sum()) == 0
