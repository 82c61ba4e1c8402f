"""`deeplabv3`: torchvision's DeepLabV3 with the COCO-with-VOC-labels weights (person = class 15).

The paper's family of segmenters. ResNet-101 is the accurate default; MobileNetV3-Large is the
light option. Weights download into the torch hub cache on first use; offline, the error says
which file to place where. ``weights=None`` builds an untrained network (for tests).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import dof_io
from dof_seg.base import Segmenter
from dof_seg.errors import DofSegError, OptionError, WeightsNotFoundError

#: PASCAL VOC class index of "person" (the paper's choice, and torchvision's label set)
VOC_PERSON = 15
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _torchvision_backbones() -> dict[str, tuple[Callable[..., nn.Module], Any]]:
    from torchvision.models import segmentation as tvs

    return {
        "resnet101": (tvs.deeplabv3_resnet101, tvs.DeepLabV3_ResNet101_Weights),
        "resnet50": (tvs.deeplabv3_resnet50, tvs.DeepLabV3_ResNet50_Weights),
        "mobilenet_v3_large": (
            tvs.deeplabv3_mobilenet_v3_large,
            tvs.DeepLabV3_MobileNet_V3_Large_Weights,
        ),
    }


DEEPLABV3_BACKBONES = ("resnet101", "resnet50", "mobilenet_v3_large")


def hub_checkpoint_path(url: str) -> Path:
    """Where torch.hub keeps (or expects) a downloaded checkpoint for ``url``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def normalize(images: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """(B, 3, H, W) in [0, 1] -> (images - mean) / std, per channel."""
    m = torch.as_tensor(mean, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    s = torch.as_tensor(std, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    return (images - m) / s


def resize_short_side(images: Tensor, short_side: int | None) -> Tensor:
    """Resize (B, 3, H, W) so the shorter side is ``short_side`` (bilinear, antialiased)."""
    if short_side is None:
        return images
    H, W = images.shape[-2:]
    scale = short_side / min(H, W)
    size = (max(1, round(H * scale)), max(1, round(W * scale)))
    if size == (H, W):
        return images
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=True)


def _build_torchvision(backbone: str, weights: str | None, **kwargs: Any) -> nn.Module:
    table = _torchvision_backbones()
    if backbone not in table:
        raise OptionError(f"backbone must be one of {', '.join(table)}; got {backbone!r}")
    builder, enum = table[backbone]
    if weights is None:
        return builder(weights=None, **kwargs)
    try:
        spec = enum[weights]
    except KeyError:
        valid = ", ".join(member.name for member in enum)
        raise OptionError(f"weights must be one of {valid} or None; got {weights!r}") from None
    target = hub_checkpoint_path(spec.url)
    try:
        return builder(weights=spec, progress=False, **kwargs)
    except (OSError, RuntimeError) as err:  # URLError is an OSError; a bad file RuntimeError
        if target.is_file():
            raise DofSegError(
                f"{target} exists but could not be loaded ({err}): delete it and let it download "
                "again, or copy a good copy there"
            ) from err
        raise WeightsNotFoundError(
            f"deeplabv3 ({backbone}, {weights})",
            target,
            f"Downloading {spec.url} failed ({err}). On a machine with internet access, download "
            f"that file and copy it to {target} (the torch hub cache; set TORCH_HOME to move it).",
        ) from err


class DeepLabV3Segmenter(Segmenter):
    """torchvision DeepLabV3, person probability = softmax over the 21 VOC classes, class 15.

    Args:
        backbone: "resnet101" (default), "resnet50" or "mobilenet_v3_large".
        weights: torchvision weight name ("COCO_WITH_VOC_LABELS_V1"), or None for random init.
        checkpoint: optional local state dict (.pth, loaded with ``weights_only=True``).
        short_side: resize so the shorter side is this before inference (torchvision's
            reference transform uses 520); None runs at the photo's own size.
        **kwargs: passed to the torchvision builder (e.g. ``weights_backbone=None``).
    """

    name = "deeplabv3"

    def __init__(
        self,
        backbone: str = "resnet101",
        *,
        weights: str | None = "COCO_WITH_VOC_LABELS_V1",
        checkpoint: str | Path | None = None,
        short_side: int | None = 520,
        person_class: int = VOC_PERSON,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if checkpoint is not None:
            weights = None  # the checkpoint replaces them
        if weights is None:
            kwargs.setdefault("weights_backbone", None)  # no ImageNet download either
        self.net = _build_torchvision(backbone, weights, **kwargs)
        if checkpoint is not None:
            _load_state(self.net, checkpoint)
        self.backbone, self.short_side, self.person_class = backbone, short_side, person_class
        self.eval().requires_grad_(False)

    def segment(self, images: Tensor, names: Sequence[str] | None) -> Tensor:
        x = resize_short_side(images.to(self.device), self.short_side)
        logits = self.net(normalize(x, IMAGENET_MEAN, IMAGENET_STD))["out"]  # (B, 21, h, w)
        person = logits.softmax(dim=1)[:, self.person_class : self.person_class + 1]
        return F.interpolate(
            person, size=images.shape[-2:], mode="bilinear", align_corners=False
        ).clamp(0, 1)


def _load_state(net: nn.Module, checkpoint: str | Path) -> None:
    """Load a torchvision DeepLabV3 state dict from ``checkpoint`` (weights only) into ``net``.

    Raises:
        dof_io.WeightsFileError: missing, empty, unsafe or corrupt file.
        DofSegError: a readable file whose tensors are not this network's.
    """
    state = dof_io.load_weights(
        checkpoint, lambda path: torch.load(path, map_location="cpu", weights_only=True)
    )
    state = state.get("model", state) if isinstance(state, dict) else state
    if not isinstance(state, dict):
        raise DofSegError(f"{checkpoint}: holds a {type(state).__name__}, not a state dict")
    if getattr(net, "aux_classifier", None) is None:  # inference needs no aux head
        state = {k: v for k, v in state.items() if not str(k).startswith("aux_classifier.")}
    try:
        net.load_state_dict(state)
    except (RuntimeError, TypeError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DofSegError(
            f"{checkpoint}: its weights do not fit this DeepLabV3 ({first}); check --backbone"
        ) from None
