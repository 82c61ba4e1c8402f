"""The MediaPipe Selfie Segmentation network in PyTorch (the graph inside the .tflite files).

A MobileNetV3-small style encoder (stride 16), an LR-ASPP head and three decoder stages that
upsample by two and fuse the encoder's skip features through squeeze-and-excitation gates, then
a 2x2 stride-2 transposed convolution to the input's size and a sigmoid. The same graph serves
the general model (256x256 input) and the landscape model (144x256 input); only the weights
differ.

Every convolution here matches one TFLite op; :data:`TFLITE_ORDER` lists them in the order the
TFLite graph runs them, which is how :mod:`dof_seg.convert_tflite` maps the weights. TensorFlow's
SAME padding is asymmetric for stride 2 (the extra pixel goes at the bottom and right), so the
stride-2 convolutions pad explicitly instead of using PyTorch's symmetric ``padding``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class BlockSpec(NamedTuple):
    """One inverted-residual block of the encoder."""

    expand: int  # channels after the 1x1 expansion
    out: int  # channels after the 1x1 projection
    kernel: int  # depthwise kernel size
    stride: int  # depthwise stride (1 or 2)
    hard_swish: bool  # activation: hard swish, else ReLU
    se: int  # squeeze-and-excitation bottleneck channels; 0 = no SE


STEM_CHANNELS = 16
ENCODER: tuple[BlockSpec, ...] = (
    BlockSpec(16, 16, 3, 2, False, 8),  # 1/4, skip
    BlockSpec(72, 24, 3, 2, False, 0),
    BlockSpec(88, 24, 3, 1, False, 0),  # 1/8, skip
    BlockSpec(96, 32, 5, 2, True, 24),
    BlockSpec(128, 32, 5, 1, True, 32),
    BlockSpec(128, 32, 5, 1, True, 32),
    BlockSpec(96, 32, 5, 1, True, 24),
    BlockSpec(96, 32, 5, 1, True, 24),  # 1/16
)
SKIP_AFTER = (0, 2)  # encoder blocks whose outputs feed the decoder (the stem's output too)
HEAD_CHANNELS = 128
DECODER_CHANNELS = (24, 16, 16)  # out channels of the three up stages = their skip's channels


def same_pad(x: Tensor, kernel: int, stride: int) -> Tensor:
    """Pad (B, C, H, W) as TensorFlow's SAME padding does before a strided convolution.

    The total padding is ``max((ceil(n / s) - 1) * s + k - n, 0)`` per axis, with the smaller
    half before and the larger half after (PyTorch's ``padding=`` is symmetric).
    """
    pads: list[int] = []
    for size in (x.shape[-1], x.shape[-2]):  # F.pad wants (left, right, top, bottom)
        total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class SameConv2d(nn.Conv2d):
    """A Conv2d with TensorFlow SAME padding (explicit and asymmetric when strided)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        symmetric = stride == 1
        super().__init__(
            cin, cout, kernel, stride, padding=kernel // 2 if symmetric else 0, groups=groups
        )
        self.tf_same = not symmetric

    def forward(self, x: Tensor) -> Tensor:
        if self.tf_same:
            x = same_pad(x, self.kernel_size[0], self.stride[0])
        return super().forward(x)


class SqueezeExcite(nn.Module):
    """Channel gate: x * sigmoid(W2 relu(W1 mean(x)))."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, hidden, 1)
        self.expand = nn.Conv2d(hidden, channels, 1)

    def gate(self, x: Tensor) -> Tensor:
        """The (B, C, 1, 1) gate in (0, 1)."""
        pooled = x.mean((2, 3))  # (B, C): 1x1 convolutions on a 1x1 map are linear layers
        hidden = F.relu(F.linear(pooled, self.reduce.weight.flatten(1), self.reduce.bias))
        gate = torch.sigmoid(F.linear(hidden, self.expand.weight.flatten(1), self.expand.bias))
        return gate[:, :, None, None]

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gate(x)


class InvertedResidual(nn.Module):
    """1x1 expand, depthwise, optional SE, 1x1 project; residual when shapes allow."""

    def __init__(self, cin: int, spec: BlockSpec) -> None:
        super().__init__()
        self.expand = nn.Conv2d(cin, spec.expand, 1)
        self.depthwise = SameConv2d(
            spec.expand, spec.expand, spec.kernel, spec.stride, groups=spec.expand
        )
        self.se = SqueezeExcite(spec.expand, spec.se) if spec.se else None
        self.project = nn.Conv2d(spec.expand, spec.out, 1)
        self.act = nn.Hardswish() if spec.hard_swish else nn.ReLU()
        self.residual = spec.stride == 1 and cin == spec.out

    def forward(self, x: Tensor) -> Tensor:
        y = self.act(self.depthwise(self.act(self.expand(x))))
        if self.se is not None:
            y = self.se(y)
        y = self.project(y)
        out: Tensor = x + y if self.residual else y
        return out


class UpStage(nn.Module):
    """Decoder stage: upsample x2, project to the skip's channels, SE-gated fusion, refine.

    u = conv(up(x)); f = skip * gate(skip + u) + u; r = relu(conv(f)); out = r + relu(dw(r)).
    """

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.project = nn.Conv2d(cin, cout, 1)
        self.gate = SqueezeExcite(cout, cout)
        self.refine = nn.Conv2d(cout, cout, 1)
        self.depthwise = SameConv2d(cout, cout, 3, groups=cout)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        up = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        u = self.project(up)
        fused = skip * self.gate.gate(skip + u) + u
        r = F.relu(self.refine(fused))
        return r + F.relu(self.depthwise(r))


class SelfieNet(nn.Module):
    """MediaPipe's selfie segmentation network.

    Input (B, 3, H, W) float in [0, 1], H and W multiples of 16 (256x256 for the general
    model, 144x256 for the landscape one); output (B, 1, H, W) person probability in [0, 1].
    """

    def __init__(self) -> None:
        super().__init__()
        self.stem = SameConv2d(3, STEM_CHANNELS, 3, stride=2)
        blocks, cin = [], STEM_CHANNELS
        for spec in ENCODER:
            blocks.append(InvertedResidual(cin, spec))
            cin = spec.out
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Conv2d(cin, HEAD_CHANNELS, 1)
        self.head_gate = nn.Conv2d(cin, HEAD_CHANNELS, 1)
        stages, cin = [], HEAD_CHANNELS
        for cout in DECODER_CHANNELS:
            stages.append(UpStage(cin, cout))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.segment = nn.ConvTranspose2d(cin, 1, 2, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        x = F.hardswish(self.stem(x))  # (B, 16, H/2, W/2)
        skips = [x]
        for index, block in enumerate(self.blocks):
            x = block(x)
            if index in SKIP_AFTER:
                skips.append(x)  # (B, 16, H/4, W/4), (B, 24, H/8, W/8)
        pooled = x.mean((2, 3))  # (B, 32)
        gate = torch.sigmoid(
            F.linear(pooled, self.head_gate.weight.flatten(1), self.head_gate.bias)
        )
        gate = gate[:, :, None, None]  # (B, 128, 1, 1)
        x = F.relu(self.head(x)) * gate  # (B, 128, H/16, W/16)
        for stage, skip in zip(self.stages, reversed(skips), strict=True):
            x = stage(x, skip)
        return torch.sigmoid(self.segment(x))  # (B, 1, H, W)


def tflite_order() -> list[tuple[str, str]]:
    """(parameter prefix, op kind) of every weighted layer, in the TFLite graph's order.

    Kinds: ``conv`` (CONV_2D), ``depthwise`` (DEPTHWISE_CONV_2D), ``transpose`` (the custom
    Convolution2DTransposeBias).
    """
    order = [("stem", "conv")]
    for index, spec in enumerate(ENCODER):
        prefix = f"blocks.{index}"
        order += [(f"{prefix}.expand", "conv"), (f"{prefix}.depthwise", "depthwise")]
        if spec.se:
            order += [(f"{prefix}.se.reduce", "conv"), (f"{prefix}.se.expand", "conv")]
        order.append((f"{prefix}.project", "conv"))
    order += [("head", "conv"), ("head_gate", "conv")]
    for index in range(len(DECODER_CHANNELS)):
        prefix = f"stages.{index}"
        order += [(f"{prefix}.{name}", "conv") for name in ("project", "gate.reduce")]
        order += [(f"{prefix}.gate.expand", "conv"), (f"{prefix}.refine", "conv")]
        order.append((f"{prefix}.depthwise", "depthwise"))
    order.append(("segment", "transpose"))
    return order
