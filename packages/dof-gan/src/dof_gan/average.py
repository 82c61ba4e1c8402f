"""A moving average of G's weights, the generator a run is judged and shipped by.

A GAN's generator never settles: D keeps finding something new, G answers, and the held-out
score of consecutive checkpoints swings (docs/results.md: the defocus generator's between 28.99
and 29.40 dB over its last 2,000 steps). The exponential moving average of G's weights
(Polyak averaging; StyleGAN2-ADA's ``G_ema``) sits in the middle of that swing. It is updated
after every optimizer step and never trained: the discriminator still judges the raw G.

The average forgets at a *half-life* counted in training images, so its meaning does not change
with the batch size or the number of ranks: after ``half_life`` images the weight of the
current G has halved. Early on it is capped at ``RAMPUP`` times the images seen so far, so the
untrained start is forgotten quickly.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

#: the half-life never exceeds this fraction of the images seen (StyleGAN2-ADA's ema_rampup)
RAMPUP = 0.1


class WeightAverage:
    """The running average of one network's weights.

    Args:
        network: the trained network; copied (its layout and device kept), never changed.
        half_life: images after which the current weights count half (> 0).
    """

    def __init__(self, network: nn.Module, half_life: float) -> None:
        if not half_life > 0:
            raise ValueError(f"half_life must be a positive number of images; got {half_life}")
        self.half_life = float(half_life)
        self.average = copy.deepcopy(network).eval().requires_grad_(False)

    def decay(self, images: int, step_images: int) -> float:
        """The weight the old average keeps in a step of ``step_images`` images that brings
        the images seen to ``images``."""
        half_life = min(self.half_life, RAMPUP * images)
        return float(0.5 ** (step_images / max(half_life, 1e-8)))

    @torch.no_grad()
    def update(self, network: nn.Module, *, images: int, step_images: int) -> None:
        """Move the average towards ``network``'s weights (buffers are copied)."""
        keep = self.decay(images, step_images)
        averaged = [p.data for p in self.average.parameters()]
        current = [p.detach() for p in network.parameters()]
        torch._foreach_lerp_(averaged, current, 1.0 - keep)
        for mine, theirs in zip(self.average.buffers(), network.buffers(), strict=True):
            mine.copy_(theirs)

    def state_dict(self) -> dict[str, Tensor]:
        """The averaged weights, float32 and contiguous (a checkpoint's ``ema`` entry)."""
        return {key: value.contiguous() for key, value in self.average.state_dict().items()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.average.load_state_dict(state)
