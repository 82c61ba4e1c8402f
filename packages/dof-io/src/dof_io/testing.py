"""A corpus of awkward and broken image files, for tests of any package that reads photos.

``make_bad_files(folder)`` writes one file per case and returns ``{case: path}``. The cases in
``DECODABLE`` are real photos in unusual encodings that must read correctly; the cases in
``BROKEN`` must raise :class:`dof_io.ImageReadError` naming the file. ``find_chromium()``
finds the system browser that page tests drive.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

DECODABLE = (
    "cmyk.jpg",
    "gray16.png",
    "palette_transparent.png",
    "grayscale.jpg",
    "exif_rotated.jpg",
    "one_pixel.png",
    "png_named.jpg",
)
BROKEN = ("truncated.jpg", "bomb_header.png", "random_bytes.jpg", "empty.jpg")


def gradient_rgb(height: int = 48, width: int = 64) -> np.ndarray:
    """A deterministic (H, W, 3) uint8 test picture with distinct rows, columns and channels."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack(
        [
            x * 255 // max(width - 1, 1),
            y * 255 // max(height - 1, 1),
            (x + y) * 255 // max(width + height - 2, 1),
        ],
        axis=-1,
    ).astype(np.uint8)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 50_000, height: int = 50_000) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def _jpeg(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95, **options)
    return buffer.getvalue()


def make_bad_files(folder: str | Path) -> dict[str, Path]:
    """Write the corpus into ``folder``; return ``{case name: path}``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rgb = Image.fromarray(gradient_rgb())
    files: dict[str, bytes] = {}
    files["cmyk.jpg"] = _jpeg(rgb.convert("CMYK"))
    gray16 = (np.arange(48 * 64, dtype=np.uint16).reshape(48, 64) * 21).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(gray16).save(buffer, format="PNG")
    files["gray16.png"] = buffer.getvalue()
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG", transparency=0)
    files["palette_transparent.png"] = buffer.getvalue()
    files["grayscale.jpg"] = _jpeg(rgb.convert("L"))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    files["exif_rotated.jpg"] = _jpeg(rgb, exif=exif.tobytes())
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), (10, 20, 30)).save(buffer, format="PNG")
    files["one_pixel.png"] = buffer.getvalue()
    buffer = io.BytesIO()
    rgb.save(buffer, format="PNG")
    files["png_named.jpg"] = buffer.getvalue()
    whole = _jpeg(rgb)
    files["truncated.jpg"] = whole[: len(whole) // 2]
    files["bomb_header.png"] = bomb_png()
    files["random_bytes.jpg"] = np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes()
    files["empty.jpg"] = b""
    paths = {}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths[name] = folder / name
    return paths


def find_chromium() -> str | None:
    """Path of a chromium binary for tests that drive a page through playwright:
    ``$DOF_CHROMIUM``, else chromium / chromium-browser / google-chrome on the PATH, else None
    (browser tests then skip and say so)."""
    for name in (os.environ.get("DOF_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and (path := shutil.which(name)):
            return path
    return None
