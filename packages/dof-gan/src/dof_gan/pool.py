"""Image pool (Shrivastava et al. 2017, as in CycleGAN): discriminators see a history of fakes.

The pool draws from a random generator of its own whose state, like the stored images, goes
into the checkpoint, so a resumed run draws exactly what an uninterrupted one would.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


class ImagePool:
    """Keeps up to ``size`` generated images; each query may swap in older ones.

    Until the pool is full every image is stored and returned as is. Then, per image, with
    probability 1/2 a random stored image is returned (and replaced by the new one), otherwise
    the new image itself. ``size = 0`` turns the pool off.
    """

    def __init__(self, size: int, *, seed: int) -> None:
        self.size = size
        self.images: list[Tensor] = []
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, images: Tensor) -> Tensor:
        """(B, C, H, W) fakes -> (B, C, H, W) to show the discriminator (detached)."""
        images = images.detach()
        if self.size == 0:
            return images
        out: list[Tensor] = []
        for image in torch.split(images, 1):
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.generator).item() < 0.5:
                index = int(torch.randint(len(self.images), (), generator=self.generator))
                out.append(self.images[index].clone())
                self.images[index] = image.clone()
            else:
                out.append(image)
        return torch.cat(out)

    def state_dict(self) -> dict[str, Any]:
        """Tensors only (CPU), for ``torch.load(weights_only=True)``."""
        return {
            "size": self.size,
            "images": [image.cpu() for image in self.images],
            "rng": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any], *, device: torch.device) -> None:
        self.size = int(state["size"])
        self.images = [image.to(device) for image in state["images"]]
        self.generator.set_state(state["rng"])
