"""Weight and checkpoint files from users: one refusal rule for every loader.

Each package loads its own formats (``torch.load(weights_only=True)``, safetensors); this
module wraps the call so that every failure ends in one :class:`WeightsFileError` naming the
file and why: missing, empty, a pickle that would have to run code, not a checkpoint at all,
truncated. torch and safetensors are not imported here: their errors are recognised by type
name and message, so dof-io stays free of them.

    state = load_weights(path, lambda p: torch.load(p, map_location="cpu", weights_only=True))
"""

from __future__ import annotations

import pickle
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from dof_io.errors import WeightsFileError

T = TypeVar("T")


def _unsafe(asks: str = "") -> str:
    return (
        f"holds Python objects beyond tensors{asks}, which loading would have to run, so it is "
        "refused; load only files you trust, saved as a state dict "
        "(torch.save(model.state_dict())) or as safetensors"
    )


def check_weights_file(path: str | Path) -> Path:
    """``path`` when it is a non-empty file.

    Raises:
        WeightsFileError: missing, a folder, unreadable, or empty.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise WeightsFileError(path, f"cannot open ({err.strerror}); check the path") from None
    if path.is_dir():
        raise WeightsFileError(path, "is a folder, not a weights file")
    if size == 0:
        raise WeightsFileError(path, "the file is empty; copy or download it again")
    return path


def load_weights(path: str | Path, load: Callable[[Path], T]) -> T:
    """``load(path)`` after :func:`check_weights_file`; every failure is a WeightsFileError.

    Args:
        path: the file a user gave.
        load: reads it (``torch.load(..., weights_only=True)``, ``safetensors.torch.load_file``).

    Raises:
        WeightsFileError: one line naming the file and the reason; never torch's advice to
            pass ``weights_only=False``.
    """
    path = check_weights_file(path)
    try:
        return load(path)
    except MemoryError:
        raise
    except Exception as err:
        raise WeightsFileError(path, weights_error_reason(err)) from None


def weights_error_reason(err: BaseException) -> str:
    """What a loader's exception means for the user, in one line without the path."""
    text = str(err)
    name = type(err).__name__
    if "Weights only load failed" in text:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", text)
        if found is not None:  # a pickle that names code to import and call
            return _unsafe(f" (it asks for {found.group(1)})")
        if "WeightsUnpickler error" not in text or "Unsupported operand" in text:
            return "is not a PyTorch checkpoint; pass a .pt/.pth saved with torch.save"
        return _unsafe()
    if name == "SafetensorError" or "safetensors" in type(err).__module__:
        first = text.splitlines()[0] if text else name
        return f"is not a valid safetensors file ({first}); export or download it again"
    if isinstance(err, (EOFError, zipfile.BadZipFile)) or "PytorchStreamReader" in text:
        return "is truncated or corrupt (not a complete checkpoint); copy or download it again"
    if isinstance(err, pickle.UnpicklingError) or "invalid load key" in text:
        return "is not a PyTorch checkpoint; pass a .pt/.pth saved with torch.save"
    if isinstance(err, OSError):
        return f"cannot be read ({err.strerror or text})"
    first = text.splitlines()[0] if text else name
    return f"cannot be loaded ({name}: {first[:200]})"
