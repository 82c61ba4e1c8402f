"""Feature extractors for FID and KID: a plain-dict registry from name to factory.

- ``inception``: torch-fidelity's port of the TensorFlow Inception-v3 used by every published
  FID (2048-d pool features). Its weights (about 92 MB) download on first use into the torch hub
  cache; offline, :class:`FeatureExtractorError` says which file to place where.
- ``random-conv``: a small convolutional network with seeded random weights (mean and standard
  deviation of three layers' activations, 224-d). Needs no download; useful to check the
  pipeline and to compare models within one report, never comparable to published FIDs.

Every extractor maps (B, 3, H, W) uint8 images of any size to (B, D) float features.
"""

from __future__ import annotations

import itertools
import urllib.error
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dof_eval.errors import FeatureExtractorError, ShapeError

INCEPTION_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
    "weights-inception-2015-12-05-6726825d.pth"
)


def inception_weights_path() -> Path:
    """Where the Inception weights are looked for: ``<torch hub dir>/checkpoints/<file>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_URL.rsplit("/", 1)[1]


def _fetch_inception(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(INCEPTION_URL, str(path), progress=False)
    except (urllib.error.URLError, OSError, RuntimeError) as error:
        raise FeatureExtractorError(
            f"the Inception-v3 weights for FID/KID are not at {path} and could not be downloaded "
            f"({error}). On a machine with internet access download {INCEPTION_URL} and place it "
            f"at {path} (or pass its path as weights=), or use the 'random-conv' extractor"
        ) from error


class InceptionFeatures(nn.Module):
    """torch-fidelity's Inception-v3 (2048-d pool features); input (B, 3, H, W) uint8."""

    def __init__(self, weights: str | Path | None = None, *, download: bool = True) -> None:
        super().__init__()
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        path = Path(weights) if weights is not None else inception_weights_path()
        if not path.is_file():
            if not download or weights is not None:
                raise FeatureExtractorError(
                    f"Inception-v3 weights not found at {path}: download {INCEPTION_URL} "
                    "and place it there"
                )
            _fetch_inception(path)
        try:
            # Only plain tensors may be in the file: checked here with weights_only=True before
            # torch-fidelity reads the same file with its own torch.load.
            torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:
            raise FeatureExtractorError(
                f"{path} is not a plain Inception-v3 state dict ({error}): delete it and "
                f"download {INCEPTION_URL} again"
            ) from error
        self.net = FeatureExtractorInceptionV3(
            "inception-v3-compat", ["2048"], feature_extractor_weights_path=str(path)
        )

    def forward(self, images: Tensor) -> Tensor:
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
            raise ShapeError(
                f"images must be (B, 3, H, W) uint8; got {tuple(images.shape)} {images.dtype}"
            )
        (features,) = self.net(images)
        return torch.as_tensor(features)  # (B, 2048)


class RandomConvFeatures(nn.Module):
    """Three strided 3x3 conv layers with seeded random weights; features = per-channel mean
    and standard deviation of each layer's activations. Input (B, 3, H, W) uint8, any size
    (resized to ``size`` x ``size``)."""

    def __init__(self, seed: int = 0, width: int = 16, size: int = 128) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        channels = [3, width, 2 * width, 4 * width]
        self.size = size
        self.layers = nn.ModuleList()
        for c_in, c_out in itertools.pairwise(channels):
            conv = nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator))
                conv.weight.mul_((2.0 / (c_in * 9)) ** 0.5)
            self.layers.append(conv)
        self.requires_grad_(False)
        self.eval()

    def forward(self, images: Tensor) -> Tensor:
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
            raise ShapeError(
                f"images must be (B, 3, H, W) uint8; got {tuple(images.shape)} {images.dtype}"
            )
        x = images.float() / 127.5 - 1.0
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True)
        pooled = []
        for conv in self.layers:
            x = F.relu(conv(x))
            pooled += [x.mean(dim=(2, 3)), x.std(dim=(2, 3))]
        return torch.cat(pooled, dim=1)  # (B, 2 * (w + 2w + 4w))


EXTRACTORS: dict[str, Callable[[], nn.Module]] = {
    "inception": InceptionFeatures,
    "random-conv": RandomConvFeatures,
}


def get_extractor(name: str, device: str | torch.device = "cpu") -> nn.Module:
    """Build a registered feature extractor on ``device``, in eval mode.

    Raises:
        FeatureExtractorError: for an unknown name (the valid names are listed) or, for
            ``inception``, weights that are missing and cannot be downloaded.
    """
    if name not in EXTRACTORS:
        raise FeatureExtractorError(
            f"unknown feature extractor {name!r}; choose one of {', '.join(sorted(EXTRACTORS))}"
        )
    return EXTRACTORS[name]().to(device).eval()
