"""`deeplabv3plus`: segmentation-models-pytorch DeepLabV3+ loaded from a checkpoint.

The paper used DeepLabV3+ with an Xception backbone (timm's ``tu-xception65`` here). No such
checkpoint can be downloaded offline, so this backend loads one that ``dof seg train`` wrote
(or any smp DeepLabV3+ state dict). A checkpoint is a safetensors file whose metadata names the
encoder, the number of classes, the person class, the working size and the normalisation, so
``get_segmenter("deeplabv3plus", checkpoint=path)`` needs nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import dof_io
from dof_io import atomic_path
from dof_seg.base import Segmenter
from dof_seg.deeplab import IMAGENET_MEAN, IMAGENET_STD, normalize
from dof_seg.errors import DofSegError, OptionError, WeightsNotFoundError

CHECKPOINT_KIND = "dof_seg.deeplabv3plus"
STRIDE = 16  # smp's DeepLabV3+ (output stride 16) needs H and W divisible by this


@dataclass(frozen=True)
class DeepLabV3PlusSpec:
    """Everything besides the weights that a DeepLabV3+ checkpoint needs to be used.

    Attributes:
        encoder: smp encoder name ("tu-xception65" as in the paper, "resnet18", ...).
        classes: 1 (a person logit, sigmoid) or more (softmax, ``person_class`` picked).
        person_class: the person channel when ``classes > 1`` (15 for PASCAL VOC).
        size: inference resizes the longer side to this (rounded to a multiple of 16).
        mean, std: input normalisation of the encoder.
    """

    encoder: str = "tu-xception65"
    classes: int = 1
    person_class: int = 0
    size: int = 512
    mean: tuple[float, float, float] = field(default=IMAGENET_MEAN)
    std: tuple[float, float, float] = field(default=IMAGENET_STD)

    def to_metadata(self) -> dict[str, str]:
        return {"kind": CHECKPOINT_KIND, "spec": json.dumps(asdict(self))}

    @classmethod
    def from_metadata(cls, metadata: dict[str, str] | None, where: Path) -> DeepLabV3PlusSpec:
        if not metadata or metadata.get("kind") != CHECKPOINT_KIND:
            raise DofSegError(
                f"{where} is not a dof-seg DeepLabV3+ checkpoint (no {CHECKPOINT_KIND!r} "
                "metadata): pass encoder=... with a plain state dict (.pt), or train one with "
                "`dof seg train`"
            )
        values = json.loads(metadata["spec"])
        values["mean"], values["std"] = tuple(values["mean"]), tuple(values["std"])
        return cls(**values)


def build_deeplabv3plus(spec: DeepLabV3PlusSpec, encoder_weights: str | None = None) -> nn.Module:
    """An smp DeepLabV3+ for ``spec`` (``encoder_weights="imagenet"`` downloads; None offline)."""
    import segmentation_models_pytorch as smp

    try:
        model: nn.Module = smp.DeepLabV3Plus(
            encoder_name=spec.encoder, encoder_weights=encoder_weights, classes=spec.classes
        )
    except OSError as err:  # the hub download failed
        raise WeightsNotFoundError(
            f"deeplabv3plus encoder {spec.encoder} ({encoder_weights})",
            "the Hugging Face cache",
            f"Downloading the encoder weights failed ({type(err).__name__}); train with "
            "encoder_weights=None offline, or fetch them on a machine with internet access.",
        ) from err
    except (KeyError, RuntimeError) as err:  # smp: KeyError; timm ("tu-..."): RuntimeError
        raise OptionError(
            f"cannot build DeepLabV3+ with encoder {spec.encoder!r} ({str(err)[:200]}): use an "
            "smp encoder name such as resnet18, mobilenet_v2, or a timm one as tu-xception65"
        ) from err
    return model


def save_checkpoint(model: nn.Module, spec: DeepLabV3PlusSpec, path: str | Path) -> Path:
    """Write the weights and spec as one safetensors file, atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=spec.to_metadata())
    return path


def load_checkpoint(
    path: str | Path, spec: DeepLabV3PlusSpec | None = None, **overrides: Any
) -> tuple[nn.Module, DeepLabV3PlusSpec]:
    """Build and load a DeepLabV3+ from a safetensors checkpoint (or a .pt with ``spec``).

    ``overrides`` (e.g. ``size=384``) change fields of the spec stored in a safetensors
    checkpoint, or of ``spec``, without replacing the rest (the encoder stays the checkpoint's).
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsNotFoundError(
            "deeplabv3plus",
            path,
            "Train a checkpoint with `dof seg train PHOTOS MASKS -o RUN` (see docs/seg.md) and "
            "pass its model.safetensors.",
        )
    if path.suffix == ".safetensors":
        metadata, state = dof_io.load_weights(path, _read_safetensors)
        spec = replace(spec or DeepLabV3PlusSpec.from_metadata(metadata, path), **overrides)
    else:
        if spec is None and "encoder" not in overrides:
            raise DofSegError(f"{path}: a .pt/.pth state dict needs encoder=... (and classes=...)")
        spec = replace(spec or DeepLabV3PlusSpec(), **overrides)
        state = dof_io.load_weights(
            path, lambda p: torch.load(p, map_location="cpu", weights_only=True)
        )
        state = state.get("model", state) if isinstance(state, dict) else state
    model = build_deeplabv3plus(spec)
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DofSegError(
            f"{path}: its weights do not fit a DeepLabV3+ with encoder {spec.encoder} ({first})"
        ) from None
    return model, spec


def _read_safetensors(path: Path) -> tuple[dict[str, str] | None, dict[str, Any]]:
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    return metadata, load_file(str(path))


def working_size(height: int, width: int, size: int) -> tuple[int, int]:
    """(h, w) with the longer side near ``size``, both multiples of 16, aspect kept."""
    scale = size / max(height, width)
    return (
        max(STRIDE, round(height * scale / STRIDE) * STRIDE),
        max(STRIDE, round(width * scale / STRIDE) * STRIDE),
    )


def person_probability(logits: Tensor, spec: DeepLabV3PlusSpec) -> Tensor:
    """(B, classes, h, w) logits -> (B, 1, h, w) person probability."""
    if spec.classes == 1:
        return torch.sigmoid(logits)
    return logits.softmax(dim=1)[:, spec.person_class : spec.person_class + 1]


class DeepLabV3PlusSegmenter(Segmenter):
    """DeepLabV3+ (segmentation-models-pytorch) from a checkpoint.

    Args:
        checkpoint: a safetensors file from ``dof seg train`` (or a .pt state dict with
            ``encoder``/``classes`` given).
        encoder, classes, person_class, size: override or supply the spec (see
            :class:`DeepLabV3PlusSpec`).
        untrained: build without a checkpoint (random weights; for tests and as a training
            start).
    """

    name = "deeplabv3plus"

    def __init__(
        self,
        checkpoint: str | Path | None = None,
        *,
        untrained: bool = False,
        **spec_fields: Any,
    ) -> None:
        super().__init__()
        if checkpoint is not None:
            self.net, self.spec = load_checkpoint(checkpoint, **spec_fields)
        elif untrained:
            self.spec = DeepLabV3PlusSpec(**spec_fields)
            self.net = build_deeplabv3plus(self.spec)
        else:
            raise WeightsNotFoundError(
                "deeplabv3plus",
                "(no checkpoint given)",
                "Pass checkpoint=PATH (--checkpoint PATH on the command line): a model.safetensors "
                "written by `dof seg train`.",
            )
        self.eval().requires_grad_(False)

    def segment(self, images: Tensor, names: Sequence[str] | None) -> Tensor:
        x = images.to(self.device)
        size = working_size(x.shape[2], x.shape[3], self.spec.size)
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        logits = self.net(normalize(x, self.spec.mean, self.spec.std))
        person = person_probability(logits, self.spec)
        return F.interpolate(person, size=images.shape[-2:], mode="bilinear", align_corners=False)
