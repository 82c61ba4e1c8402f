"""Checkpoints users pass are refused in one line naming the file and why: an unsafe pickle,
an empty file, junk, weights of another network."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dof_io import WeightsFileError
from dof_seg import DofSegError, get_segmenter
from dof_seg.deeplabv3plus import load_checkpoint


class Payload:
    """Any class: unpickling it would import and call code, which weights_only refuses."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("this ran while loading",))


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    torch.save({"model": Payload()}, tmp_path / "evil.pt")
    (tmp_path / "empty.pt").touch()
    (tmp_path / "junk.pt").write_bytes(b"\x00junk" * 40)
    (tmp_path / "junk.safetensors").write_bytes(b"\x00junk" * 40)
    (tmp_path / "empty.safetensors").touch()
    torch.save({"weight": torch.zeros(3)}, tmp_path / "other.pt")
    return {path.name: path for path in tmp_path.iterdir()}


def _deeplabv3(checkpoint: Path) -> object:
    return get_segmenter("deeplabv3", backbone="mobilenet_v3_large", checkpoint=checkpoint)


def test_deeplabv3_refuses_unsafe_empty_and_junk_checkpoints(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    expected = {
        "evil.pt": "refused",
        "empty.pt": "the file is empty",
        "junk.pt": "not a PyTorch checkpoint",
    }
    for name, reason in expected.items():
        with pytest.raises(WeightsFileError) as info:
            _deeplabv3(files[name])
        message = str(info.value)
        assert message.startswith(f"{files[name]}: ") and reason in message
        assert "weights_only=False" not in message and "\n" not in message
    assert "this ran" not in capsys.readouterr().out  # the payload never ran
    with pytest.raises(DofSegError, match=r"other\.pt: its weights do not fit"):
        _deeplabv3(files["other.pt"])


def test_deeplabv3plus_refuses_junk_safetensors(files: dict[str, Path]) -> None:
    with pytest.raises(WeightsFileError, match=r"junk\.safetensors: is not a valid safetensors"):
        load_checkpoint(files["junk.safetensors"])
    with pytest.raises(WeightsFileError, match=r"empty\.safetensors: the file is empty"):
        load_checkpoint(files["empty.safetensors"])
    with pytest.raises(WeightsFileError, match=r"evil\.pt: holds Python objects"):
        load_checkpoint(files["evil.pt"], encoder="resnet18")
