"""A memory budget for full-size commands: refuse a photo before it can take a laptop down.

A 450 KB PNG can hold 12000 x 12000 pixels, under the decompression-bomb limit, and smoothing
it at full size needs gigabytes. Each command knows what one pixel costs it (measured, see
docs/benchmarks.md); :func:`check_memory` reads the photo's header only and refuses a photo
whose estimate is over the budget, naming the option that raises it.

    dof_io.check_memory(photo, bytes_per_pixel=60, budget=parse_size("4GiB"), what="lens blur")
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

from PIL import Image

from dof_io.errors import ImageReadError, MemoryBudgetError

#: What a laptop can spare for one photo: 4 GiB.
DEFAULT_MAX_MEMORY = 4 * 2**30

_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)


def parse_size(text: str | int) -> int:
    """``"4GiB"``, ``"512M"``, ``"1.5g"``, ``"1000000"`` -> bytes; ``"0"`` means no limit.

    Raises:
        ValueError: anything else.
    """
    if isinstance(text, int):
        return text
    found = _SIZE.fullmatch(text)
    if found is None:
        raise ValueError(f"{text!r} is not a size; write it like 4GiB, 512MiB or 0 (no limit)")
    return int(float(found.group(1)) * _UNITS[found.group(2).lower()])


def format_size(size: float) -> str:
    """Bytes as ``"8.5 GiB"`` / ``"512 MiB"``."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{int(size)} B"


def image_dimensions(path: str | Path | bytes, name: str | Path = "") -> tuple[int, int]:
    """(H, W) from the file's header, without decoding a pixel.

    Args:
        path: the file, or its bytes (an upload held in memory).
        name: what messages call a file given as bytes.

    Raises:
        ImageReadError: missing or not an image.
    """
    source = io.BytesIO(path) if isinstance(path, bytes) else Path(path)
    path = Path(name) if isinstance(path, bytes) else Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                width, height = image.size
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise ImageReadError(path, f"cannot read its header ({err})") from None
    return height, width


def check_memory(
    path: str | Path | bytes,
    *,
    bytes_per_pixel: float,
    budget: int | None,
    what: str,
    option: str = "--max-memory",
    name: str | Path = "",
) -> int:
    """Refuse ``path`` when processing it at full size would need more than ``budget`` bytes.

    Args:
        path: the photo, or its bytes (an upload; ``name`` names it).
        bytes_per_pixel: peak memory per pixel of the work, measured.
        budget: bytes; None or 0 means no limit.
        what: the work, for the message ("lens blur", "segmentation").
        option: the option that sets the budget, for the message.
        name: what the message calls a photo given as bytes.

    Returns:
        the estimate in bytes (0 when the header cannot be read: reading the photo will fail
        with its own message).

    Raises:
        MemoryBudgetError: over the budget (a kind of ImageReadError, so batch jobs report the
            photo and go on).
    """
    label = Path(name) if isinstance(path, bytes) else Path(path)
    try:
        height, width = image_dimensions(path, label)
    except ImageReadError:
        return 0  # not an image: the reader that comes next says so, in its own words
    return check_memory_size(height, width, bytes_per_pixel=bytes_per_pixel, budget=budget,
                             what=what, option=option, name=label)  # fmt: skip


def check_memory_size(
    height: int,
    width: int,
    *,
    bytes_per_pixel: float,
    budget: int | None,
    what: str,
    option: str = "--max-memory",
    name: str | Path = "photo",
) -> int:
    """:func:`check_memory` for a photo whose size is known (decoded, or held in memory).

    Returns:
        the estimate in bytes.

    Raises:
        MemoryBudgetError: over the budget; the message says "too large for the memory
            budget" and how to get under it.
    """
    need = int(height * width * bytes_per_pixel)
    if budget and need > budget:
        raise MemoryBudgetError(
            name,
            f"{width}x{height} ({height * width / 1e6:.0f} MP): {what} at full size needs about "
            f"{format_size(need)}, over the budget of {format_size(budget)}: too large for the "
            f"memory budget; lower the size or raise {option} (e.g. {option} "
            f"{max(1, -(-need // 2**30))}GiB)",
        )
    return need
