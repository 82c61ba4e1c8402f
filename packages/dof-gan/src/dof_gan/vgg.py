"""VGG-19 features up to relu3_2 for the mask loss (eq. 11), frozen.

torchvision builds the layers (``make_layers`` on VGG-19's configuration ``cfgs["E"]``, the
first 14 modules of ``vgg19().features``: conv1_1 ... conv3_2 and its ReLU, index 13) and
fetches the weights (:class:`torchvision.models.VGG19_Weights`: its URL, hash check and cache in
the torch hub ``checkpoints`` folder); the classifier is never built. Inputs are our [-1, 1]
images: they are mapped to [0, 1] and ImageNet-normalised here, explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from dof_gan.errors import WeightsError

#: VGG-19 ("E") up to conv3_2: 64 64 M 128 128 M 256 256 -> ``features[:14]``, relu3_2 = 13.
RELU3_2 = 13


def imagenet_weights() -> Any:
    """torchvision's ``VGG19_Weights.IMAGENET1K_V1`` (URL, hash, normalisation). torchvision is
    imported here, when a VGG is built, not with ``import dof_gan``: it costs seconds that
    ``dof apply`` and the studio, which never need it, would pay at every start."""
    from torchvision.models import VGG19_Weights

    return VGG19_Weights.IMAGENET1K_V1


def vgg19_url() -> str:
    """Where torchvision downloads the ImageNet VGG-19 file from."""
    return str(imagenet_weights().url)


def vgg_checkpoint_path() -> Path:
    """Where torchvision keeps the file: ``<torch hub dir>/checkpoints/vgg19-dcbb9e9d.pth``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / vgg19_url().rsplit("/", 1)[-1]


class VGGFeatures(nn.Module):
    """(B, 3, H, W) in [-1, 1] -> relu3_2 features (B, 256, H/4, W/4). Parameters are frozen."""

    mean: Tensor
    std: Tensor

    def __init__(self) -> None:
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        self.features = make_layers(cfgs["E"][:8])  # == vgg19().features[: RELU3_2 + 1]
        norm = imagenet_weights().transforms()
        self.register_buffer("mean", torch.tensor(norm.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(norm.std).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: Tensor) -> Tensor:
        x = ((x + 1) / 2 - self.mean) / self.std  # [-1, 1] -> [0, 1] -> ImageNet statistics
        return self.features(x)  # type: ignore[no-any-return]


def build_vgg(weights: str = "imagenet", *, seed: int = 0) -> VGGFeatures:
    """The frozen relu3_2 extractor.

    Args:
        weights: ``"imagenet"`` (torchvision's file, downloaded on first use into the torch hub
            ``checkpoints`` folder), ``"none"`` (random weights from ``seed``: for tests only,
            the VGG term is then meaningless), or the path of a ``.pth`` VGG-19 state dict.

    Raises:
        WeightsError: the ImageNet file is missing and cannot be downloaded, or a file is bad.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = VGGFeatures()  # "none": torch's default conv init, from ``seed``
    if weights == "none":
        return model
    if weights == "imagenet":
        path = vgg_checkpoint_path()
        if not path.is_file():  # first use: torchvision downloads, checks the hash, caches
            _pick(model, _download_imagenet(), vgg19_url())
            return model
    else:
        path = Path(weights)
    _load(model, path)
    return model


def _download_imagenet() -> dict[str, Any]:
    path = vgg_checkpoint_path()
    try:
        state: dict[str, Any] = imagenet_weights().get_state_dict(
            progress=True, check_hash=True, weights_only=True
        )
        return state
    except (OSError, RuntimeError, ValueError) as err:  # URLError is an OSError
        raise WeightsError(
            f"the VGG-19 ImageNet weights ({path.name}, 548 MB, needed by the mask loss) are "
            f"not in {path.parent} and could not be downloaded from {vgg19_url()} ({err}). "
            f"Download that file on a machine with internet access and put it at {path} "
            "(or set TORCH_HOME), or pass --vgg-weights PATH to a copy of it"
        ) from err


def _load(model: VGGFeatures, path: Path) -> None:
    if not path.is_file():
        raise WeightsError(f"VGG-19 weights file {path} does not exist: check --vgg-weights")
    try:
        try:  # memory-mapped: only the 14 layers we use are read from the 548 MB file
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # files in torch's legacy (pre-zip) format cannot be mapped
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise WeightsError(f"{path}: not a readable torch state dict ({err})") from err
    _pick(model, state, path)


def _pick(model: VGGFeatures, state: object, path: Path | str) -> None:
    """Load the 14 layers we use from a full VGG-19 state dict (``features.N.*`` keys)."""
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: expected a VGG-19 state dict; got {type(state).__name__}")
    wanted = model.features.state_dict()
    picked = {}
    for key in wanted:
        for candidate in (f"features.{key}", key):
            if candidate in state:
                picked[key] = state[candidate]
                break
        else:
            raise WeightsError(f"{path}: has no 'features.{key}': is it a VGG-19 state dict?")
        if picked[key].shape != wanted[key].shape:
            raise WeightsError(
                f"{path}: 'features.{key}' is {tuple(picked[key].shape)}, expected "
                f"{tuple(wanted[key].shape)}: the file is not VGG-19"
            )
    model.features.load_state_dict(picked)
