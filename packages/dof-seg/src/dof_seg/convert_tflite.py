"""Convert MediaPipe's selfie segmentation .tflite files into safetensors for :class:`SelfieNet`.

Run by hand, once, by whoever updates the shipped weights (needs the ``convert`` extra:
``pip install 'dof-seg[convert]'``, which brings the ``tflite`` flatbuffer parser)::

    pip download mediapipe==0.10.21 --no-deps --only-binary=:all: \\
        --python-version 3.11 --platform manylinux_2_28_x86_64 -d /tmp/mp
    python -m dof_seg.convert_tflite /tmp/mp/mediapipe-0.10.21-*.whl \\
        packages/dof-seg/src/dof_seg/weights/selfie_general.safetensors --model general
    python -m dof_seg.convert_tflite /tmp/mp/mediapipe-0.10.21-*.whl \\
        packages/dof-seg/src/dof_seg/weights/selfie_landscape.safetensors --model landscape

The same command converts the pose detector and the pose landmark model (``--model
pose_detection``, ``--model pose_landmark_full``) as whole graphs for
:class:`dof_seg.graph_net.GraphNet` (see :mod:`dof_seg.tflite_graph`).

The source may be the wheel or a bare ``.tflite``. The graph's weights are float16 (each one
goes through a DEQUANTIZE op to float32); they are stored as float16, bit for bit, and the
network computes in float32. The weighted ops are matched, in graph order, to
:func:`dof_seg.selfie_net.tflite_order`, checking kind, shape, stride and padding on the way.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from dof_io import atomic_path
from dof_seg.errors import ConversionError
from dof_seg.selfie_net import SelfieNet, tflite_order
from dof_seg.tflite_graph import _buffer, _op_name, convert_graph, spec_json

TFLITE_MEMBERS = {
    "general": "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
    "landscape": "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
    "pose_detection": "mediapipe/modules/pose_detection/pose_detection.tflite",
    "pose_landmark_full": "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
}
#: models converted as a whole graph for GraphNet (the selfie models map onto SelfieNet)
GRAPH_MODELS = frozenset({"pose_detection", "pose_landmark_full"})
_WEIGHTED = {"CONV_2D": "conv", "DEPTHWISE_CONV_2D": "depthwise"}
_CUSTOM = "Convolution2DTransposeBias"
_TF_SAME = 0  # tflite.Padding.SAME


def read_tflite_bytes(source: str | Path, model: str = "general") -> tuple[bytes, str]:
    """The .tflite bytes from a mediapipe wheel (``model`` picks the file) or a .tflite path.

    Returns:
        (bytes, a description of where they came from).
    """
    source = Path(source)
    if model not in TFLITE_MEMBERS:
        raise ConversionError(f"model must be one of {sorted(TFLITE_MEMBERS)}; got {model!r}")
    if source.suffix == ".tflite":
        return source.read_bytes(), source.name
    if not zipfile.is_zipfile(source):
        raise ConversionError(f"{source}: expected a mediapipe wheel (.whl) or a .tflite file")
    member = TFLITE_MEMBERS[model]
    with zipfile.ZipFile(source) as wheel:
        if member not in wheel.namelist():
            raise ConversionError(f"{source} has no {member}; use the mediapipe==0.10.21 wheel")
        return wheel.read(member), f"{source.name}:{member}"


def _tensor_array(model: Any, graph: Any, index: int) -> npt.NDArray[Any]:
    values = _buffer(model, graph, index)
    if values is None:
        name = graph.Tensors(index).Name().decode()
        raise ConversionError(f"tensor {name} holds no constant data")
    return values


def _stride_padding(op: Any, kind: str) -> tuple[int, int]:
    import tflite

    if kind == "transpose":  # custom options: TfLiteTransposeConvParams {padding, sw, sh}
        padding, stride_w, stride_h = np.frombuffer(op.CustomOptionsAsNumpy().tobytes(), "<i4")
        if (padding, stride_w, stride_h) != (1, 2, 2):  # kTfLitePaddingSame = 1
            raise ConversionError(f"{_CUSTOM}: expected SAME padding, stride 2; got {padding}")
        return 2, _TF_SAME
    table = op.BuiltinOptions()
    options = tflite.Conv2DOptions() if kind == "conv" else tflite.DepthwiseConv2DOptions()
    options.Init(table.Bytes, table.Pos)
    if options.StrideW() != options.StrideH() or options.FusedActivationFunction() != 0:
        raise ConversionError("expected square strides and no fused activation")
    return int(options.StrideW()), int(options.Padding())


def weighted_ops(data: bytes) -> list[tuple[str, int, int, npt.NDArray[Any], npt.NDArray[Any]]]:
    """(kind, stride, padding, kernel, bias) of every weighted op in graph order.

    Kernels come as TFLite stores them (OHWI; depthwise 1HWC) and as float16 or float32.
    """
    import tflite

    if data[4:8] != b"TFL3":  # the flatbuffer file identifier of TFLite models
        raise ConversionError("not a TFLite model (no TFL3 identifier); pass a .tflite or a wheel")
    model = tflite.Model.GetRootAsModel(data, 0)
    graph = model.Subgraphs(0)
    dequantized: dict[int, int] = {}  # output tensor -> float16 source tensor
    found = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        name = _op_name(model, op)
        inputs = [int(t) for t in op.InputsAsNumpy()]
        if name == "DEQUANTIZE":
            dequantized[int(op.OutputsAsNumpy()[0])] = inputs[0]
            continue
        kind = _WEIGHTED.get(name, "transpose" if name == _CUSTOM else "")
        if not kind:
            continue
        kernel, bias = (_tensor_array(model, graph, dequantized.get(t, t)) for t in inputs[1:3])
        found.append((kind, *_stride_padding(op, kind), kernel, bias))
    return found


def _to_torch_layout(kind: str, kernel: npt.NDArray[Any]) -> torch.Tensor:
    tensor = torch.from_numpy(kernel.copy())
    if kind == "conv":
        return tensor.permute(0, 3, 1, 2)  # OHWI -> OIHW
    return tensor.permute(3, 0, 1, 2)  # depthwise 1HWC -> C1HW; transpose OHWI -> IOHW


def convert(data: bytes) -> dict[str, torch.Tensor]:
    """A :class:`SelfieNet` state dict (float16 tensors) from the .tflite bytes.

    Raises:
        ConversionError: when the graph's weighted ops do not line up with SelfieNet's layers.
    """
    reference = SelfieNet().state_dict()
    ops, layers = weighted_ops(data), tflite_order()
    if len(ops) != len(layers):
        raise ConversionError(f"expected {len(layers)} weighted ops; the graph has {len(ops)}")
    modules = dict(SelfieNet().named_modules())
    state: dict[str, torch.Tensor] = {}
    for (prefix, kind), (op_kind, stride, padding, kernel, bias) in zip(layers, ops, strict=True):
        module = modules[prefix]
        assert isinstance(module, torch.nn.Conv2d | torch.nn.ConvTranspose2d)
        want = module.stride[0]
        if op_kind != kind or stride != want or (stride > 1 and padding != _TF_SAME):
            raise ConversionError(
                f"{prefix}: expected a {kind} op with stride {want}; the graph has "
                f"{op_kind} with stride {stride}, padding {padding}"
            )
        weight = _to_torch_layout(kind, kernel)
        for key, value in (
            (f"{prefix}.weight", weight),
            (f"{prefix}.bias", torch.from_numpy(bias.copy())),
        ):
            if value.shape != reference[key].shape:
                raise ConversionError(
                    f"{key}: expected shape {tuple(reference[key].shape)}; got {tuple(value.shape)}"
                )
            state[key] = value.to(torch.float16).contiguous()
    return state


def convert_file(source: str | Path, out: str | Path, model: str = "general") -> Path:
    """Convert one model from a wheel or .tflite and write it as safetensors, atomically."""
    from safetensors.torch import save_file

    data, origin = read_tflite_bytes(source, model)
    graph: dict[str, str] = {}
    if model in GRAPH_MODELS:
        arrays, spec = convert_graph(data)
        state = {k: torch.from_numpy(v.astype(np.float16)) for k, v in arrays.items()}
        graph = {"graph": spec_json(spec)}
    else:
        state = convert(data)
    metadata = {
        **graph,
        "format": "pt",
        "model": model,
        "source": origin,
        "source_sha256": hashlib.sha256(data).hexdigest(),
        "license": "Apache-2.0 (MediaPipe, Copyright The MediaPipe Authors); see LICENSE, NOTICE",
        "converter": "dof_seg.convert_tflite",
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        save_file(state, str(tmp), metadata=metadata)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dof_seg.convert_tflite", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("source", type=Path, help="mediapipe wheel (.whl) or a .tflite file")
    parser.add_argument("out", type=Path, help="where to write the .safetensors")
    parser.add_argument("--model", choices=sorted(TFLITE_MEMBERS), default="general")
    args = parser.parse_args(argv)
    try:
        path = convert_file(args.source, args.out, args.model)
    except ConversionError as err:
        parser.exit(1, f"error: {err}\n")
    print(json.dumps({"wrote": str(path), "bytes": path.stat().st_size}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
