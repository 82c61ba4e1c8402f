"""`people` and `auto`: detect every person, segment each one, merge.

``people`` runs MediaPipe's person detector (:mod:`dof_seg.pose`) on the photo, and on tiles of
it for people small in the frame, then the pose landmark model's segmentation on each detected
person's own region at 256x256 (so a person who fills a tenth of the photo is still segmented
at the model's full resolution), keeps the people whose pose-presence score is at least
``min_presence``, and merges them by a per-pixel maximum.

``auto`` is the best offline combination measured (docs/seg.md): the ``people`` mask, plus the
``selfie`` mask of the whole photo inside the detected people's boxes (grown by ``grow`` of
their size), merged by a per-pixel maximum; where no person is detected, the ``selfie`` mask.
``selfie`` is good on people who fill the frame (close-ups the pose model segments poorly) but
also marks large non-person regions; the detector finds people ``selfie`` misses and its boxes
drop ``selfie``'s false regions.

:meth:`PeopleSegmenter.segment_people` also returns the label map (0 nobody, k = person k, by
the mask each person's model gave) in :mod:`dof_seg.instances`' exchange format, so main-subject
selection works on detected people rather than on connected blobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from dof_seg.base import Segmenter
from dof_seg.pose import Person, detect_people, load_pose_net, pose_masks
from dof_seg.postprocess import check_images
from dof_seg.selfie import SelfieSegmenter


class PeopleSegmenter(Segmenter):
    """Every detected person's pose-model mask, merged; offline, weights built in.

    Args:
        levels: detector passes: 1 = the whole photo, n > 1 = an n x n grid of overlapping
            tiles as well (finds smaller people; each level costs n * n detector runs).
        min_score: detector score threshold (MediaPipe uses 0.5).
        min_presence: pose-presence threshold of the landmark model (drops false detections).
        detector_weights, landmark_weights: converted files instead of the shipped ones.
    """

    name = "people"
    detects_people = True

    def __init__(
        self,
        levels: Sequence[int] = (1, 2, 3),
        *,
        min_score: float = 0.3,
        min_presence: float = 0.5,
        detector_weights: str | Path | None = None,
        landmark_weights: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.detector = load_pose_net("pose_detection", detector_weights)
        self.landmark = load_pose_net("pose_landmark_full", landmark_weights)
        self.levels = tuple(int(n) for n in levels)
        self.min_score, self.min_presence = min_score, min_presence

    def segment_people(self, image: Tensor) -> tuple[Tensor, Tensor, list[Person]]:
        """One photo (3, H, W) in [0, 1] -> (mask (1, H, W), labels (1, H, W) int64, people).

        Label k marks the pixels where person k's mask is the largest and at least 0.5.
        """
        image = image.to(self.device).float()
        people = detect_people(self.detector, image, min_score=self.min_score, levels=self.levels)
        masks, people = pose_masks(self.landmark, image, people, min_presence=self.min_presence)
        kept = list(zip(masks, people, strict=True))
        H, W = image.shape[-2:]
        if not kept:
            empty = torch.zeros(1, H, W, device=image.device)
            return empty, torch.zeros(1, H, W, dtype=torch.int64, device=image.device), []
        stack = torch.cat([m for m, _ in kept])[:, 0]  # (n, H, W)
        mask, owner = stack.max(0)
        labels = torch.where(mask >= 0.5, owner + 1, torch.zeros_like(owner))
        return mask[None], labels[None], [p for _, p in kept]

    def segment(self, images: Tensor, names: Sequence[str] | None) -> Tensor:
        return torch.stack([self.segment_people(image)[0] for image in images])

    def segment_instances(
        self, image: Tensor, name: str | None = None
    ) -> tuple[Tensor, Tensor | None]:
        return _instances(self, image)


class AutoSegmenter(Segmenter):
    """The best offline combination: ``people``, with ``selfie`` inside the detected boxes.

    Args:
        levels, min_score, min_presence: of the ``people`` part.
        grow: how far ``selfie`` may reach beyond a detected box, fraction of its size.
        model: the selfie model ("general" or "landscape").
    """

    name = "auto"
    detects_people = True

    def __init__(
        self,
        levels: Sequence[int] = (1, 2, 3),
        *,
        min_score: float = 0.3,
        min_presence: float = 0.5,
        grow: float = 0.1,
        model: str = "general",
    ) -> None:
        super().__init__()
        self.selfie = SelfieSegmenter(model)
        self.people = PeopleSegmenter(levels, min_score=min_score, min_presence=min_presence)
        self.grow = grow

    def segment_people(self, image: Tensor) -> tuple[Tensor, Tensor, list[Person]]:
        """As :meth:`PeopleSegmenter.segment_people`, with ``auto``'s mask: label k marks
        the pixels where person k's pose-model mask is the largest and at least 0.5."""
        image = image.to(self.device).float()
        return self._merge(image, self.selfie.segment(image[None], None)[0])

    def segment(self, images: Tensor, names: Sequence[str] | None) -> Tensor:
        images = images.to(self.device)
        selfie = self.selfie.segment(images, None)  # (B, 1, H, W)
        return torch.stack([
            self._merge(image, whole)[0] for image, whole in zip(images, selfie, strict=True)
        ])  # fmt: skip

    def _merge(self, image: Tensor, whole: Tensor) -> tuple[Tensor, Tensor, list[Person]]:
        """The people's masks and ``whole`` (selfie's (1, H, W)) inside their boxes."""
        mask, labels, people = self.people.segment_people(image)
        if not people:
            return whole, labels, people
        gate = box_gate(people, image.shape[-2:], self.grow).to(whole.device)
        return torch.maximum(whole * gate, mask), labels, people

    def segment_instances(
        self, image: Tensor, name: str | None = None
    ) -> tuple[Tensor, Tensor | None]:
        return _instances(self, image)


def _instances(
    segmenter: PeopleSegmenter | AutoSegmenter, image: Tensor
) -> tuple[Tensor, Tensor | None]:
    """``segment_instances`` of the detecting backends: the refined mask and the label map."""
    check_images(image[None])
    mask, labels, _ = segmenter.segment_people(image)
    return segmenter.refined(image[None], mask[None])[0].to(image.device), labels.to(image.device)


def box_gate(people: Sequence[Person], size: tuple[int, int] | torch.Size, grow: float) -> Tensor:
    """(1, H, W) float: 1 inside any person's box grown by ``grow`` of its width and height."""
    H, W = int(size[0]), int(size[1])
    gate = torch.zeros(1, H, W)
    for person in people:
        x0, y0, x1, y1 = person.box
        dx, dy = grow * (x1 - x0), grow * (y1 - y0)
        top, bottom = max(0, int(y0 - dy)), min(H, int(y1 + dy) + 1)
        left, right = max(0, int(x0 - dx)), min(W, int(x1 + dx) + 1)
        gate[:, top:bottom, left:right] = 1
    return gate
