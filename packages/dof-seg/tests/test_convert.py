"""The .tflite -> safetensors converter.

The round trip needs MediaPipe's .tflite files, which are not in this repository: it runs when
``DOF_MEDIAPIPE_WHEEL`` names the mediapipe==0.10.21 wheel, or when `uv run nox -s seg-parity`
has installed mediapipe under .nox/, and skips otherwise.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from dof_seg import ConversionError
from dof_seg.convert_tflite import TFLITE_MEMBERS, convert_file, main, read_tflite_bytes
from dof_seg.pose import pose_weights_path
from dof_seg.selfie import weights_path

ROOT = Path(__file__).resolve().parents[3]


def mediapipe_source(model: str) -> Path | None:
    """A wheel or .tflite holding the model, if this machine has one."""
    wheel = os.environ.get("DOF_MEDIAPIPE_WHEEL")
    if wheel and Path(wheel).is_file():
        return Path(wheel)
    name = Path(TFLITE_MEMBERS[model]).name
    found = sorted(
        ROOT.glob(f".nox/seg-parity/lib/python3*/site-packages/mediapipe/modules/*/{name}")
    )
    return found[0] if found else None


@pytest.mark.parametrize("model", ["general", "landscape", "pose_detection", "pose_landmark_full"])
def test_round_trip_reproduces_shipped_weights(model, tmp_path):
    source = mediapipe_source(model)
    if source is None:
        pytest.skip("no mediapipe wheel: set DOF_MEDIAPIPE_WHEEL or run `uv run nox -s seg-parity`")
    out = convert_file(source, tmp_path / "w.safetensors", model)
    path = weights_path(model) if model in ("general", "landscape") else pose_weights_path(model)
    converted, shipped = load_file(str(out)), load_file(str(path))
    assert converted.keys() == shipped.keys()
    for key, value in shipped.items():
        assert torch.equal(converted[key], value), key


def test_main_writes_file(tmp_path, capsys):
    source = mediapipe_source("general")
    if source is None:
        pytest.skip("no mediapipe wheel: set DOF_MEDIAPIPE_WHEEL or run `uv run nox -s seg-parity`")
    assert main([str(source), str(tmp_path / "out.safetensors")]) == 0
    assert (tmp_path / "out.safetensors").stat().st_size > 100_000
    assert "out.safetensors" in capsys.readouterr().out


def test_wheel_without_the_model_is_refused(tmp_path):
    wheel = tmp_path / "mediapipe-0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("mediapipe/__init__.py", "")
    with pytest.raises(ConversionError, match=r"selfie_segmentation\.tflite"):
        read_tflite_bytes(wheel)


def test_not_a_wheel_is_refused(tmp_path):
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(ConversionError, match=r"expected a mediapipe wheel"):
        read_tflite_bytes(bogus)
    with pytest.raises(ConversionError, match="model must be one of"):
        read_tflite_bytes(bogus, "portrait")


def test_not_tflite_bytes_are_refused():
    from dof_seg.convert_tflite import convert

    with pytest.raises(ConversionError, match="TFL3"):
        convert(b"\x00" * 64)


def test_densify_of_a_csr_tensor():
    """DENSIFY as TFLite defines it: dense leading dimensions, the last one CSR."""
    from types import SimpleNamespace

    import numpy as np

    from dof_seg.tflite_graph import densify

    class Meta(SimpleNamespace):
        def Format(self):
            return self.fmt

    sparsity = SimpleNamespace(
        TraversalOrderAsNumpy=lambda: np.array([0, 1]),
        BlockMapLength=lambda: 0,
        DimMetadata=lambda i: [Meta(fmt=0), Meta(fmt=1)][i],
    )
    segments, indices = np.array([0, 1, 1, 3]), np.array([2, 0, 3])
    import dof_seg.tflite_graph as graph

    original = graph._index_vector
    graph._index_vector = lambda meta, which: segments if which == "Segments" else indices
    try:
        dense = densify(np.array([5.0, 6.0, 7.0]), (3, 4), sparsity)
    finally:
        graph._index_vector = original
    assert dense.tolist() == [[0, 0, 5, 0], [0, 0, 0, 0], [6, 0, 0, 7]]
