"""`selfie`: MediaPipe Selfie Segmentation in PyTorch, with MediaPipe's pre- and post-processing.

What ``mp.solutions.selfie_segmentation`` does on the CPU (from the graph
``selfie_segmentation_cpu.binarypb`` in the mediapipe==0.10.21 wheel):

1. ImageToTensorCalculator: the whole photo is stretched (``keep_aspect_ratio: false``, no
   letterbox) to 256x256 (general) or 256 wide x 144 high (landscape) by OpenCV's
   ``warpPerspective`` with bilinear interpolation and a zero border. The warp maps the photo's
   corners onto the tensor's corners, so tensor pixel i samples the photo at i * W / 256 (not at
   the pixel-centre position PyTorch's ``interpolate`` uses), on an 8-bit image, 1/32-pixel
   coordinate grid. Values go to [0, 1] (``output_tensor_float_range {min: 0 max: 1}``).
2. The network; its last op is a sigmoid, and the calculator applies no further activation.
3. TensorsToSegmentationCalculator: ``cv::resize`` (bilinear, pixel centres) back to the photo.

:func:`mediapipe_resize` reproduces step 1 and :func:`upsample_mask` step 3, on any device.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from dof_seg.base import Segmenter
from dof_seg.errors import OptionError, WeightsNotFoundError
from dof_seg.postprocess import check_images
from dof_seg.selfie_net import SelfieNet

#: model name -> (height, width) of the network's input
SELFIE_MODELS: dict[str, tuple[int, int]] = {"general": (256, 256), "landscape": (144, 256)}


def mediapipe_resize(images: Tensor, size: tuple[int, int], *, quantize: bool = True) -> Tensor:
    """Stretch photos to the network's size exactly as MediaPipe's CPU graph does.

    Args:
        images: (B, 3, H, W) float in [0, 1].
        size: (height, width) of the result.
        quantize: round the result to 8 bits as OpenCV's uint8 warp does (keep it on for
            parity with MediaPipe; it changes masks by about 1e-4).

    Returns:
        (B, 3, height, width) float in [0, 1].
    """
    check_images(images)
    B, _, H, W = images.shape
    height, width = size
    device, dtype = images.device, images.dtype
    # corners onto corners: tensor pixel i samples the photo at i * W / width (OpenCV's pixel
    # coordinates), rounded to OpenCV's 1/32-pixel interpolation table.
    xs = torch.round(torch.arange(width, device=device, dtype=torch.float64) * (32 * W / width))
    ys = torch.round(torch.arange(height, device=device, dtype=torch.float64) * (32 * H / height))
    gx = ((2 * xs / 32 + 1) / W - 1).to(dtype)  # grid_sample's normalised coordinates
    gy = ((2 * ys / 32 + 1) / H - 1).to(dtype)
    grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], dim=-1)  # (h, w, 2) as x, y
    out = F.grid_sample(
        images,
        grid.expand(B, height, width, 2),
        mode="bilinear",
        padding_mode="zeros",
        align_corners=False,
    )
    return torch.round(out * 255) / 255 if quantize else out


def upsample_mask(masks: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize (B, 1, h, w) masks to (height, width) as ``cv::resize`` INTER_LINEAR does."""
    if tuple(masks.shape[-2:]) == tuple(size):
        return masks
    return F.interpolate(masks, size=size, mode="bilinear", align_corners=False)


def weights_path(model: str = "general") -> Path:
    """The shipped safetensors file of a selfie model ("general" or "landscape")."""
    if model not in SELFIE_MODELS:
        raise OptionError(f"selfie model must be one of {sorted(SELFIE_MODELS)}; got {model!r}")
    return Path(str(resources.files("dof_seg") / "weights" / f"selfie_{model}.safetensors"))


def load_selfie_net(model: str = "general", weights: str | Path | None = None) -> SelfieNet:
    """A :class:`SelfieNet` with the shipped (or given) weights, float32, in eval mode."""
    from safetensors.torch import load_file

    path = Path(weights) if weights is not None else weights_path(model)
    if not path.is_file():
        raise WeightsNotFoundError(
            f"selfie ({model})",
            path,
            "The weights ship inside dof-seg; reinstall it, or rebuild them with "
            "`python -m dof_seg.convert_tflite` (see docs/seg.md).",
        )
    net = SelfieNet()
    net.load_state_dict({k: v.float() for k, v in load_file(str(path)).items()})
    return net.eval()


class SelfieSegmenter(Segmenter):
    """The built-in default: MediaPipe Selfie Segmentation, offline, about 0.1 M parameters.

    Args:
        model: "general" (256x256, any framing) or "landscape" (144x256, wide photos).
        weights: a converted safetensors file instead of the shipped one.
        quantize: 8-bit rounding of the resized input, as MediaPipe does.
        channels_last: run the network in channels_last layout (measured 1.3-1.5x faster on
            this project's CPU; see docs/benchmarks.md). Same results to float rounding.
    """

    name = "selfie"

    def __init__(
        self,
        model: str = "general",
        *,
        weights: str | Path | None = None,
        quantize: bool = True,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        self.net = load_selfie_net(model, weights)
        self.model = model
        self.input_size = SELFIE_MODELS[model]
        self.quantize = quantize
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.net.to(memory_format=self.memory_format)
        self.requires_grad_(False)

    def _net(self, small: Tensor) -> Tensor:
        masks: Tensor = self.net(small.contiguous(memory_format=self.memory_format))
        return masks

    def segment(self, images: Tensor, names: Sequence[str] | None) -> Tensor:
        small = mediapipe_resize(images.to(self.device), self.input_size, quantize=self.quantize)
        return upsample_mask(self._net(small), (images.shape[2], images.shape[3]))

    def segment_list(
        self, images: Sequence[Tensor], names: Sequence[str] | None = None
    ) -> list[Tensor]:
        """All photos in one network batch, whatever their sizes; each (3, H, W) -> (1, H, W)."""
        if not images:
            return []
        small = torch.cat(
            [
                mediapipe_resize(
                    image[None].to(self.device), self.input_size, quantize=self.quantize
                )
                for image in images
            ]
        )
        masks = self._net(small)  # (B, 1, h, w)
        return [
            self.refined(image[None], upsample_mask(mask[None], (image.shape[1], image.shape[2])))[
                0
            ]
            for mask, image in zip(masks, images, strict=True)
        ]
