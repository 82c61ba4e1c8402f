"""The Segmenter interface every backend implements, and the input check they share."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

import torch
from torch import Tensor, nn

from dof_seg.errors import ShapeError
from dof_seg.postprocess import check_images
from dof_seg.refine import RefineConfig, refine_masks


class Segmenter(nn.Module):
    """Person segmentation: images (B, 3, H, W) float in [0, 1] on any device -> soft masks
    (B, 1, H, W) float in [0, 1] at the input's size, 1 = person.

    Subclasses implement :meth:`segment`; :meth:`forward` validates, calls it (the work runs
    on the module's device) and returns the masks on the images' device. ``names`` (file
    stems) matter only to backends that look masks up by name (``precomputed``); the others
    ignore them.
    """

    #: registry name of the backend
    name = ""
    #: refinement of every mask with its photo (set by ``get_segmenter(..., refine=)``)
    refine: RefineConfig = RefineConfig()
    #: whether :meth:`segment_instances` gives detected people (``people``, ``auto``)
    detects_people = False

    def forward(self, images: Tensor, names: Sequence[str] | None = None) -> Tensor:
        check_images(images)
        if names is not None and len(names) != images.shape[0]:
            raise ShapeError(f"got {len(names)} names for a batch of {images.shape[0]} images")
        return self.refined(images, self.segment(images, names)).to(images.device)

    def refined(self, images: Tensor, masks: Tensor) -> Tensor:
        """``masks`` refined with their ``images`` as :attr:`refine` says (on the masks' device)."""
        if self.refine.mode == "none":
            return masks
        return refine_masks(images.to(masks.device), masks, self.refine)

    def segment(self, images: Tensor, names: Sequence[str] | None) -> Tensor:
        """Masks for a validated batch; see the class docstring."""
        raise NotImplementedError

    def segment_instances(
        self, image: Tensor, name: str | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """One photo (3, H, W) -> (its mask (1, H, W) as :meth:`forward` gives it, and the
        label map (1, H, W) int64 of the people it detected, 0 = nobody, k = person k; None
        for backends that do not detect people, see :attr:`detects_people`)."""
        return self(image[None], None if name is None else [name])[0], None

    def segment_list(
        self, images: Sequence[Tensor], names: Sequence[str] | None = None
    ) -> list[Tensor]:
        """Masks for photos of different sizes: each (3, H, W) -> (1, H, W).

        The default runs one batch per run of consecutive same-size photos; backends with a
        fixed working size (``selfie``) override it to batch everything.
        """
        masks: list[Tensor] = []
        index = 0
        for _, group in groupby(images, key=lambda image: tuple(image.shape)):
            batch = list(group)
            batch_names = None if names is None else list(names[index : index + len(batch)])
            masks.extend(self(torch.stack(batch), batch_names).unbind(0))
            index += len(batch)
        return masks

    @property
    def device(self) -> torch.device:
        """Where the parameters live (cpu when there are none)."""
        for parameter in self.parameters():
            return parameter.device
        for buffer in self.buffers():
            return buffer.device
        return torch.device("cpu")
