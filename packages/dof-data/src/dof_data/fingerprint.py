"""What the manifest records about an image file: size, bytes, sha256, perceptual hash, camera."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import imagehash
from PIL import Image

from dof_io import MAX_PIXELS, open_image

_MAKE, _MODEL = 0x010F, 0x0110


@dataclass(frozen=True)
class ImageInfo:
    """A decoded image's fingerprint.

    Attributes:
        width, height: pixels after EXIF orientation.
        bytes: file size.
        sha256: hex digest of the file's bytes (exact duplicates).
        phash: ``imagehash.phash`` as 16 hex digits (near duplicates; 64 bits).
        camera: EXIF "Make Model" ("Apple iPhone 7"), or None when the file has none.
    """

    width: int
    height: int
    bytes: int
    sha256: str
    phash: str
    camera: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def camera_of(image: Image.Image) -> str | None:
    """EXIF make and model joined by a space (make dropped when the model repeats it)."""
    try:
        exif = image.getexif()
    except (OSError, ValueError, SyntaxError):
        return None
    make = str(exif.get(_MAKE, "")).strip("\x00 ")
    model = str(exif.get(_MODEL, "")).strip("\x00 ")
    if model.lower().startswith(make.lower()):
        make = ""
    camera = f"{make} {model}".strip()
    return camera or None


def describe_image(path: str | Path, *, max_pixels: int = MAX_PIXELS) -> ImageInfo:
    """Decode ``path`` fully and fingerprint it.

    Raises:
        dof_io.ImageReadError: when the file does not decode (truncated, not an image, a bomb).
    """
    path = Path(path)
    image = open_image(path, max_pixels=max_pixels)
    return ImageInfo(
        width=image.width,
        height=image.height,
        bytes=path.stat().st_size,
        sha256=sha256_file(path),
        phash=str(imagehash.phash(image)),
        camera=camera_of(image),
    )
