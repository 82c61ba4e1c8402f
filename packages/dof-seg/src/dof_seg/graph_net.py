"""Run a converted TFLite graph (:mod:`dof_seg.tflite_graph`) as a PyTorch module.

TFLite computes in NHWC; here every 4-d tensor lives in NCHW (PyTorch's convolution layout) and
the ops that care about axes (PAD, CONCATENATION, RESHAPE, DEPTH_TO_SPACE) translate them.
Padding follows TensorFlow: SAME puts the odd pixel at the bottom and right. RESIZE_BILINEAR
follows its three coordinate conventions (half-pixel centres, aligned corners, and TF's legacy
``src = dst * in / out``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dof_seg.errors import ShapeError, WeightsNotFoundError

_NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


def _act(x: Tensor, name: str) -> Tensor:
    if name == "relu":
        return F.relu(x)
    if name == "relu6":
        return x.clamp(0, 6)
    if name == "relu_n1_to_1":
        return x.clamp(-1, 1)
    return x


def _same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    effective = (kernel - 1) * dilation + 1
    total = max((-(-size // stride) - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def _pad_same(
    x: Tensor, kernel: list[int], stride: list[int], dilation: list[int], value: float
) -> Tensor:
    top, bottom = _same_pads(x.shape[2], kernel[0], stride[0], dilation[0])
    left, right = _same_pads(x.shape[3], kernel[1], stride[1], dilation[1])
    if top or bottom or left or right:
        x = F.pad(x, (left, right, top, bottom), value=value)
    return x


def _resize_axis(x: Tensor, size: int, dim: int, align: bool, half: bool) -> Tensor:
    n = x.shape[dim]
    if n == size:
        return x
    i = torch.arange(size, device=x.device, dtype=torch.float32)
    if align and size > 1:
        src = i * (n - 1) / (size - 1)
    elif half:
        src = ((i + 0.5) * n / size - 0.5).clamp_min(0)
    else:
        src = i * n / size
    lo = src.floor().long().clamp(0, n - 1)
    hi = (lo + 1).clamp_max(n - 1)
    w = (src - lo.float()).clamp(0, 1)
    shape = [1] * x.ndim
    shape[dim] = size
    a, b = x.index_select(dim, lo), x.index_select(dim, hi)
    return a + (b - a) * w.to(x.dtype).view(shape)


def resize_bilinear(x: Tensor, size: list[int], *, align: bool, half: bool) -> Tensor:
    """TFLite's RESIZE_BILINEAR on (B, C, H, W), separable, exact coordinate conventions."""
    return _resize_axis(_resize_axis(x, size[0], 2, align, half), size[1], 3, align, half)


def _to_nhwc(x: Tensor) -> Tensor:
    return x.permute(0, 2, 3, 1) if x.ndim == 4 else x


def _from_nhwc(x: Tensor) -> Tensor:
    return x.permute(0, 3, 1, 2).contiguous() if x.ndim == 4 else x


class GraphNet(nn.Module):
    """A converted TFLite graph: ``forward(x)`` with x (B, C, H, W) float returns the graph's
    outputs in order, 4-d ones as (B, C, H, W), others as TFLite shapes them with batch B.

    Args:
        weights: the constants, name ``c<tensor id>`` -> tensor (float16 or float32).
        spec: the graph (see :func:`dof_seg.tflite_graph.convert_graph`).
    """

    def __init__(self, weights: dict[str, Tensor], spec: dict[str, Any]) -> None:
        super().__init__()
        self.spec = spec
        self.ops: list[dict[str, Any]] = spec["ops"]
        for name, value in weights.items():
            tensor = value.float()
            self.register_buffer(name, self._layout(name, tensor), persistent=True)

    def _layout(self, name: str, tensor: Tensor) -> Tensor:
        """Kernels into PyTorch's layout once: conv OHWI -> OIHW, depthwise 1HWC -> C1HW."""
        tid = int(name[1:])
        for op in self.ops:
            if len(op["in"]) > 1 and op["in"][1] == tid and op["op"] == "CONV_2D":
                return tensor.permute(0, 3, 1, 2).contiguous()
            if len(op["in"]) > 1 and op["in"][1] == tid and op["op"] == "DEPTHWISE_CONV_2D":
                return tensor.permute(3, 0, 1, 2).contiguous()
        if tensor.ndim == 4:  # a constant operand of ADD etc.: NHWC -> NCHW
            return tensor.permute(0, 3, 1, 2).contiguous()
        return tensor

    def _get(self, values: dict[int, Tensor], tid: int) -> Tensor:
        if tid in values:
            return values[tid]
        buffer: Tensor = getattr(self, f"c{tid}")
        return buffer

    def forward(self, x: Tensor) -> list[Tensor]:
        values: dict[int, Tensor] = {self.spec["inputs"][0]: x}
        for op in self.ops:
            args = [self._get(values, t) for t in op["in"] if t >= 0]
            values[op["out"][0]] = self._run(op, args)
        return [values[t] for t in self.spec["outputs"]]

    def _run(self, op: dict[str, Any], args: list[Tensor]) -> Tensor:
        kind = op["op"]
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            x, weight = args[0], args[1]
            bias = args[2] if len(args) > 2 else None
            groups = 1 if kind == "CONV_2D" else x.shape[1]
            kernel = [weight.shape[2], weight.shape[3]]
            if op["same"]:
                x = _pad_same(x, kernel, op["stride"], op["dilation"], 0.0)
            out = F.conv2d(x, weight, bias, op["stride"], 0, op["dilation"], groups)
            return _act(out, op["act"])
        if kind == "ADD":
            return _act(args[0] + args[1], op["act"])
        if kind == "RELU":
            return F.relu(args[0])
        if kind == "LOGISTIC":
            return torch.sigmoid(args[0])
        if kind == "MAX_POOL_2D":
            x = args[0]
            if op["same"]:
                x = _pad_same(x, op["kernel"], op["stride"], [1, 1], float("-inf"))
            return _act(F.max_pool2d(x, op["kernel"], op["stride"]), op["act"])
        if kind == "PAD":
            x, pads = args[0], op["value"]  # per NHWC axis: [before, after]
            if x.ndim == 4:
                (n0, n1), (h0, h1), (w0, w1), (c0, c1) = pads
                if n0 or n1:
                    raise ShapeError("PAD of the batch axis is not supported")
                return F.pad(x, (w0, w1, h0, h1, c0, c1))
            flat = [p for pair in reversed(pads) for p in pair]
            return F.pad(x, flat)
        if kind == "CONCATENATION":
            axis = op["axis"] % args[0].ndim
            if args[0].ndim == 4:
                axis = _NHWC_TO_NCHW_AXIS[axis]
            return _act(torch.cat(args, dim=axis), op["act"])
        if kind == "RESHAPE":
            shape = [args[0].shape[0], *op["value"][1:]]
            return _from_nhwc(_to_nhwc(args[0]).reshape(shape))
        if kind == "RESIZE_BILINEAR":
            return resize_bilinear(
                args[0], op["value"], align=op["align_corners"], half=op["half_pixel"]
            )
        if kind == "DEPTH_TO_SPACE":
            x, r = args[0], op["block"]
            B, C, H, W = x.shape
            c = C // (r * r)
            x = x.view(B, r, r, c, H, W).permute(0, 3, 1, 2, 4, 5).reshape(B, C, H, W)
            return F.pixel_shuffle(x, r)
        raise ShapeError(f"op {kind} is not supported")


def load_graph_net(path: str | Path, what: str, hint: str) -> GraphNet:
    """A :class:`GraphNet` from a safetensors file written by the converter (float32, eval)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise WeightsNotFoundError(what, path, hint)
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    if "graph" not in metadata:
        raise WeightsNotFoundError(what, path, "the file holds no graph: " + hint)
    net = GraphNet(load_file(str(path)), json.loads(metadata["graph"]))
    return net.eval().requires_grad_(False)
