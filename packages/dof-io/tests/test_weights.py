"""load_weights turns every loader failure into one line naming the file and why."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import pytest

from dof_io import WeightsFileError, load_weights


def _raise(err: BaseException):  # type: ignore[no-untyped-def]
    def load(path: Path) -> None:
        raise err

    return load


def test_missing_and_empty_files_never_reach_the_loader(tmp_path: Path) -> None:
    def never(path: Path) -> None:
        raise AssertionError("the loader was called")

    with pytest.raises(WeightsFileError, match=r"missing\.pt: cannot open \(No such file"):
        load_weights(tmp_path / "missing.pt", never)
    (tmp_path / "empty.pt").touch()
    with pytest.raises(WeightsFileError, match=r"empty\.pt: the file is empty"):
        load_weights(tmp_path / "empty.pt", never)
    with pytest.raises(WeightsFileError, match="is a folder"):
        load_weights(tmp_path, never)


@pytest.mark.parametrize(
    ("err", "expected"),
    [
        (
            pickle.UnpicklingError(
                "Weights only load failed. ... `weights_only` set to `False` ...\n"
                "\tWeightsUnpickler error: Unsupported global: GLOBAL posix.system was not ..."
            ),
            "(it asks for posix.system), which loading would have to run, so it is refused",
        ),
        (
            pickle.UnpicklingError(
                "Weights only load failed. ... WeightsUnpickler error: \n\nUnsupported operand 0"
            ),
            "not a PyTorch checkpoint",
        ),
        (pickle.UnpicklingError("invalid load key, 'x'."), "not a PyTorch checkpoint"),
        (EOFError("Ran out of input"), "truncated or corrupt"),
        (zipfile.BadZipFile("File is not a zip file"), "truncated or corrupt"),
        (RuntimeError("PytorchStreamReader failed reading zip archive"), "truncated or corrupt"),
        (KeyError("weight"), "cannot be loaded (KeyError"),
    ],
)
def test_loader_errors_become_one_line(tmp_path: Path, err: Exception, expected: str) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(b"junk")
    with pytest.raises(WeightsFileError) as info:
        load_weights(path, _raise(err))
    message = str(info.value)
    assert message.startswith(f"{path}: ") and expected in message
    assert "weights_only=False" not in message and "\n" not in message


def test_a_good_file_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(b"weights")
    assert load_weights(tmp_path / "w.bin", Path.read_bytes) == b"weights"
