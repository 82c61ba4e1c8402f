"""person_fraction: the share of a photo a segmenter calls person, after shrinking the photo."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from dof_seg import Segmenter, person_fraction


class LeftThird(Segmenter):
    """A backend whose person is the left third of every image; it records the sizes it saw."""

    name = "left-third"

    def __init__(self) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # gives the module a device
        self.seen: list[tuple[int, int]] = []

    def segment(self, images: Tensor, names: Sequence[str] | None) -> Tensor:
        b, _, h, w = images.shape
        self.seen.append((h, w))
        mask = torch.zeros(b, 1, h, w)
        mask[..., : w // 3] = 1.0
        return mask


def test_fraction_of_the_shrunk_photo() -> None:
    segmenter = LeftThird()
    rgb = np.zeros((900, 1200, 3), np.uint8)
    assert abs(person_fraction(segmenter, rgb, max_side=300) - 1 / 3) < 0.01
    assert segmenter.seen == [(225, 300)]  # shrunk to fit 300, aspect kept
