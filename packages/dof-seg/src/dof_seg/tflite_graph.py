"""Convert a whole TFLite graph (ops and float16 weights) into a safetensors file that
:class:`dof_seg.graph_net.GraphNet` runs in PyTorch.

Used for MediaPipe's pose detector and pose landmark model, whose graphs use a dozen plain op
kinds; :mod:`dof_seg.convert_tflite` writes the selfie model as a hand-written module instead.
The file holds every constant the graph computes with (float16 weights bit for bit: DEQUANTIZE
and DENSIFY are resolved here, once) and, in its metadata, the graph as JSON: the ops in order
with their tensor ids and options, the shapes, the inputs and outputs. Needs the ``convert``
extra (``tflite``).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import numpy.typing as npt

from dof_seg.errors import ConversionError

#: op kinds GraphNet runs; anything else in a graph is refused at conversion
SUPPORTED = frozenset(
    {
        "ADD", "CONV_2D", "DEPTHWISE_CONV_2D", "PAD", "MAX_POOL_2D", "RESHAPE",
        "CONCATENATION", "RESIZE_BILINEAR", "DEPTH_TO_SPACE", "LOGISTIC", "RELU",
    }
)  # fmt: skip
_FOLDED = ("DEQUANTIZE", "DENSIFY")  # constant-only ops, evaluated at conversion
_DTYPES: dict[int, type[np.generic]] = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8}
_ACTIVATIONS = {0: "none", 1: "relu", 2: "relu_n1_to_1", 3: "relu6"}


def _op_name(model: Any, op: Any) -> str:
    import tflite

    code = model.OperatorCodes(op.OpcodeIndex())
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    if builtin == tflite.BuiltinOperator.CUSTOM:
        return str(code.CustomCode().decode())
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    return str(names[builtin])


def _index_vector(metadata: Any, which: str) -> npt.NDArray[np.int64]:
    import tflite

    kind = getattr(metadata, f"Array{which}Type")()
    table = getattr(metadata, f"Array{which}")()
    vector = {1: tflite.Int32Vector, 2: tflite.Uint16Vector, 3: tflite.Uint8Vector}[kind]()
    vector.Init(table.Bytes, table.Pos)
    values: npt.NDArray[np.int64] = np.asarray(vector.ValuesAsNumpy(), dtype=np.int64)
    return values


def densify(values: npt.NDArray[Any], shape: tuple[int, ...], sparsity: Any) -> npt.NDArray[Any]:
    """A TFLite sparse constant (dense dimensions, then CSR ones) as a dense array.

    Only the layout MediaPipe's models use is supported: traversal order = dimension order and
    no block map; anything else raises :class:`ConversionError`.
    """
    order = list(sparsity.TraversalOrderAsNumpy())
    if order != list(range(len(shape))) or sparsity.BlockMapLength():
        raise ConversionError(f"unsupported sparse layout (traversal {order}, block map)")
    dense = np.zeros(shape, dtype=values.dtype).reshape(-1)
    positions = np.zeros(1, dtype=np.int64)  # flat dense index prefix per stored path
    slots = np.zeros(1, dtype=np.int64)  # index into the level's segments per path
    for level, size in enumerate(shape):
        meta = sparsity.DimMetadata(level)
        if meta.Format() == 0:  # DENSE
            positions = (positions[:, None] * size + np.arange(size)).reshape(-1)
            slots = (slots[:, None] * size + np.arange(size)).reshape(-1)
        else:  # SPARSE_CSR: path k goes on with entries segments[k] .. segments[k + 1]
            segments, indices = _index_vector(meta, "Segments"), _index_vector(meta, "Indices")
            counts = segments[slots + 1] - segments[slots]
            entries = np.concatenate(
                [np.arange(a, b) for a, b in zip(segments[slots], segments[slots + 1], strict=True)]
            ) if len(slots) else np.zeros(0, dtype=np.int64)  # fmt: skip
            positions = np.repeat(positions, counts) * size + indices[entries]
            slots = entries
    if positions.size != values.size:
        raise ConversionError(f"sparse tensor has {values.size} values for {positions.size} slots")
    dense[positions] = values
    return dense.reshape(shape)


def _buffer(model: Any, graph: Any, index: int) -> npt.NDArray[Any] | None:
    tensor = graph.Tensors(index)
    raw = model.Buffers(tensor.Buffer()).DataAsNumpy()
    if isinstance(raw, int) or tensor.Type() not in _DTYPES:
        return None
    values = np.frombuffer(raw.tobytes(), dtype=_DTYPES[tensor.Type()])
    shape = tuple(int(s) for s in tensor.ShapeAsNumpy())
    if tensor.Sparsity() is not None:
        return densify(values, shape, tensor.Sparsity())
    return values.reshape(shape)


def _options(op: Any, name: str) -> dict[str, Any]:
    """The options GraphNet needs, as plain JSON values."""
    import tflite

    table = op.BuiltinOptions()
    classes = {
        "CONV_2D": tflite.Conv2DOptions,
        "DEPTHWISE_CONV_2D": tflite.DepthwiseConv2DOptions,
        "ADD": tflite.AddOptions,
        "MAX_POOL_2D": tflite.Pool2DOptions,
        "CONCATENATION": tflite.ConcatenationOptions,
        "RESIZE_BILINEAR": tflite.ResizeBilinearOptions,
        "DEPTH_TO_SPACE": tflite.DepthToSpaceOptions,
    }
    if name not in classes or table is None:
        return {}
    options = classes[name]()
    options.Init(table.Bytes, table.Pos)
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        return {
            "stride": [int(options.StrideH()), int(options.StrideW())],
            "dilation": [int(options.DilationHFactor()), int(options.DilationWFactor())],
            "same": options.Padding() == 0,
            "act": _ACTIVATIONS[options.FusedActivationFunction()],
        }
    if name == "ADD":
        return {"act": _ACTIVATIONS[options.FusedActivationFunction()]}
    if name == "MAX_POOL_2D":
        return {
            "stride": [int(options.StrideH()), int(options.StrideW())],
            "kernel": [int(options.FilterHeight()), int(options.FilterWidth())],
            "same": options.Padding() == 0,
            "act": _ACTIVATIONS[options.FusedActivationFunction()],
        }
    if name == "CONCATENATION":
        return {"axis": int(options.Axis()), "act": _ACTIVATIONS[options.FusedActivationFunction()]}
    if name == "RESIZE_BILINEAR":
        return {
            "align_corners": bool(options.AlignCorners()),
            "half_pixel": bool(options.HalfPixelCenters()),
        }
    return {"block": int(options.BlockSize())}  # DEPTH_TO_SPACE


def convert_graph(data: bytes) -> tuple[dict[str, npt.NDArray[Any]], dict[str, Any]]:
    """(constants by name ``c<tensor id>``, the graph as a JSON-able dict) from .tflite bytes.

    Raises:
        ConversionError: for a file that is not TFLite or uses an op GraphNet does not run.
    """
    import tflite

    if data[4:8] != b"TFL3":
        raise ConversionError("not a TFLite model (no TFL3 identifier); pass a .tflite or a wheel")
    model = tflite.Model.GetRootAsModel(data, 0)
    graph = model.Subgraphs(0)
    constants: dict[int, npt.NDArray[Any]] = {}
    ops: list[dict[str, Any]] = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        name = _op_name(model, op)
        inputs = [int(t) for t in op.InputsAsNumpy()]
        outputs = [int(t) for t in op.OutputsAsNumpy()]
        for t in inputs:
            if t >= 0 and t not in constants and (array := _buffer(model, graph, t)) is not None:
                constants[t] = array
        if name in _FOLDED:
            if inputs[0] not in constants:
                raise ConversionError(f"{name} of a non-constant tensor is not supported")
            constants[outputs[0]] = constants[inputs[0]]  # stays float16: computed in float32
            continue
        if name not in SUPPORTED:
            raise ConversionError(f"op {name} is not supported by GraphNet ({sorted(SUPPORTED)})")
        entry: dict[str, Any] = {"op": name, "in": inputs, "out": outputs, **_options(op, name)}
        if name in ("RESHAPE", "PAD", "RESIZE_BILINEAR") and len(inputs) > 1:
            entry["value"] = constants[inputs[1]].astype(np.int64).tolist()
            entry["in"] = inputs[:1]
        ops.append(entry)
    used = {t for entry in ops for t in entry["in"]}
    shapes = {
        str(t): [int(s) for s in graph.Tensors(t).ShapeAsNumpy()]
        for t in range(graph.TensorsLength())
    }
    spec = {
        "inputs": [int(t) for t in graph.InputsAsNumpy()],
        "outputs": [int(t) for t in graph.OutputsAsNumpy()],
        "output_names": [graph.Tensors(int(t)).Name().decode() for t in graph.OutputsAsNumpy()],
        "shapes": shapes,
        "ops": ops,
    }
    weights = {f"c{t}": constants[t] for t in sorted(used) if t in constants}
    return weights, spec


def spec_json(spec: dict[str, Any]) -> str:
    """The graph spec as compact JSON (it goes into the safetensors metadata)."""
    return json.dumps(spec, separators=(",", ":"))
