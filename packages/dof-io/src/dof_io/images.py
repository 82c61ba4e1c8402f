"""Reading photos safely and the RGBA mask format.

Every reader returns plain numpy arrays: RGB photos as (H, W, 3) uint8, masks as (H, W) float32
in [0, 1]. Anything that cannot be read raises :class:`ImageReadError` naming the file.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from dof_io.atomic import atomic_path
from dof_io.errors import ImageReadError, MaskFormatError

#: Default limit on width x height. 150 MP covers every current camera; a header that claims
#: more is treated as a decompression bomb unless the caller raises the limit.
MAX_PIXELS = 150_000_000

#: Suffixes that :func:`list_images` picks up (lower case).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})

RGBArray = npt.NDArray[np.uint8]
MaskArray = npt.NDArray[np.float32]


def open_image(path: str | Path, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open and fully decode an image file with EXIF orientation applied.

    The pixel count is checked from the header before any pixel is decoded, so a file that
    claims 50,000 x 50,000 pixels costs nothing. The image keeps its own mode.

    Raises:
        ImageReadError: missing, empty, not an image, truncated, or larger than ``max_pixels``.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise ImageReadError(path, f"cannot open ({err.strerror}); check the path") from err
    if size == 0:
        raise ImageReadError(path, "the file is empty; download or export it again")
    return _decode(path, path, max_pixels)


def decode_image(data: bytes, name: str | Path, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """:func:`open_image` for a file held in memory (an upload): same checks, same messages.

    Args:
        data: the file's bytes.
        name: what the messages call it (the uploaded file's name); never opened.

    Raises:
        ImageReadError: empty, not an image, truncated, or larger than ``max_pixels``.
    """
    if not data:
        raise ImageReadError(name, "the file is empty; download or export it again")
    return _decode(io.BytesIO(data), Path(name), max_pixels)


def _decode(source: Path | BinaryIO, label: Path, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(source)
            width, height = image.size
            if width * height > max_pixels:
                image.close()
                raise ImageReadError(
                    label,
                    f"{width}x{height} = {width * height:,} pixels is over the limit of "
                    f"{max_pixels:,}; if the photo is genuine, raise max_pixels",
                )
            image.load()
    except ImageReadError:
        raise
    except UnidentifiedImageError as err:
        raise ImageReadError(label, "not an image file Pillow can read (JPEG, PNG, ...)") from err
    except Image.DecompressionBombError as err:
        raise ImageReadError(
            label,
            f"rejected as a decompression bomb ({err}); if the photo is genuine, raise "
            "max_pixels and PIL.Image.MAX_IMAGE_PIXELS",
        ) from err
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageReadError(
            label, f"the image data is damaged or truncated ({err}); re-download or re-export it"
        ) from err
    try:
        return ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, KeyError, TypeError):
        return image  # unreadable EXIF: keep the pixels as stored


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB.

    16-bit and 32-bit grey images are scaled by their type's range (not clipped); palette and
    transparent images are flattened onto white; CMYK goes through Pillow's conversion.
    """
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        array = np.asarray(image, dtype=np.float64)
        scale = 65535.0 if image.mode.startswith("I;16") or array.max(initial=0) > 255 else 255.0
        grey = np.clip(np.rint(array / scale * 255.0), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, mode="L").convert("RGB")
    if image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        peak = 1.0 if array.max(initial=0) <= 1.0 else 255.0
        grey = np.clip(np.rint(array / peak * 255.0), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, mode="L").convert("RGB")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def has_alpha_mask(source: Image.Image | str | Path) -> bool:
    """Whether an image carries a person mask in its alpha channel (the dof-seg RGBA format).

    The one rule every package uses: an alpha band (RGBA, LA, PA) or transparency data that
    Pillow turns into one (a palette or grey PNG with a ``tRNS`` chunk). Given a path, only the
    header is read.

    Raises:
        ImageReadError: when ``source`` is a path that cannot be opened as an image.
    """
    if isinstance(source, Image.Image):
        return bool(source.has_transparency_data)
    path = Path(source)
    try:
        with Image.open(path) as image:
            return bool(image.has_transparency_data)
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError) as err:
        raise ImageReadError(path, f"not an image file Pillow can read ({err})") from err


def _photo_part(image: Image.Image) -> RGBArray:
    """The colour of an alpha-carrying image with the alpha dropped (not flattened)."""
    return np.asarray(image.convert("RGBA").convert("RGB"), dtype=np.uint8).copy()


def _alpha_part(image: Image.Image) -> MaskArray:
    alpha = np.asarray(image.convert("RGBA"), dtype=np.float32)[..., 3] / 255.0
    return alpha.astype(np.float32)


def read_rgb(path: str | Path, *, max_pixels: int = MAX_PIXELS) -> RGBArray:
    """Read a photo as an (H, W, 3) uint8 RGB array, EXIF orientation applied.

    For an image that carries its mask in alpha (:func:`has_alpha_mask`; the dof-seg format)
    this returns the photo part: the stored colours with the alpha dropped.

    Raises:
        ImageReadError: when the file cannot be read; the message names it.
    """
    return _rgb_array(open_image(path, max_pixels=max_pixels))


def decode_rgb(data: bytes, name: str | Path, *, max_pixels: int = MAX_PIXELS) -> RGBArray:
    """:func:`read_rgb` for a file held in memory (an upload); ``name`` is used in messages."""
    return _rgb_array(decode_image(data, name, max_pixels=max_pixels))


def _rgb_array(image: Image.Image) -> RGBArray:
    if has_alpha_mask(image):
        return _photo_part(image)  # keep the photo, drop the mask
    return np.asarray(to_rgb(image), dtype=np.uint8).copy()


def read_rgba(
    path: str | Path, *, max_pixels: int = MAX_PIXELS
) -> tuple[RGBArray, MaskArray | None]:
    """Read a photo and, when it carries one in alpha, its mask, decoding the file once.

    Returns:
        ((H, W, 3) uint8 photo, (H, W) float32 mask in [0, 1] or None).

    Raises:
        ImageReadError: when the file cannot be read.
    """
    image = open_image(path, max_pixels=max_pixels)
    return _rgb_array(image), _alpha_part(image) if has_alpha_mask(image) else None


def read_mask(
    path: str | Path,
    *,
    size: tuple[int, int] | None = None,
    what: str = "mask",
    max_pixels: int = MAX_PIXELS,
) -> MaskArray:
    """Read a person mask (or any one-channel map, such as a depth map) as an (H, W) float32
    array in [0, 1].

    Accepts the RGBA format (alpha = mask, see :func:`has_alpha_mask`), a grey PNG (0..255 or
    0/1), a 16-bit PNG or a 1-bit image. A grey mask stored only as 0 and 1 is recognised and
    scaled to 0 and 1.

    Args:
        path: the mask file.
        size: (H, W) of the photo it belongs to; a mask of another size is refused.
        what: what the file is, for messages ("mask", "depth map").
        max_pixels: see :func:`open_image`.

    Raises:
        ImageReadError: when the file cannot be read, or its size is not ``size``.
    """
    mask = _read_map(path, max_pixels)
    if size is not None and mask.shape != tuple(size):
        raise ImageReadError(
            path,
            f"the {what} is {mask.shape[1]}x{mask.shape[0]} but its photo is {size[1]}x{size[0]}"
            f"; it belongs to another photo or must be made at the photo's size",
        )
    return mask


def _read_map(path: str | Path, max_pixels: int) -> MaskArray:
    image = open_image(path, max_pixels=max_pixels)
    if has_alpha_mask(image):
        return _alpha_part(image)
    if image.mode.startswith("I"):
        array = np.asarray(image, dtype=np.float32)
        peak = 65535.0 if array.max(initial=0) > 255 else 255.0
    elif image.mode == "F":  # float masks: [0, 1] or [0, 255]
        array = np.asarray(image, dtype=np.float32)
        peak = 255.0
    else:
        array = np.asarray(image.convert("L"), dtype=np.float32)
        peak = 255.0
    if array.max(initial=0) <= 1.0:
        peak = 1.0
    result: MaskArray = np.clip(array / peak, 0.0, 1.0).astype(np.float32)
    return result


def _mask_to_uint8(mask: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    array = np.asarray(mask)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2:
        raise MaskFormatError(f"mask must be (H, W); got shape {array.shape}")
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    return np.clip(np.rint(array.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)


def rgba_image(rgb: npt.ArrayLike, mask: npt.ArrayLike) -> Image.Image:
    """Build the RGBA mask image: RGB = photo, alpha = mask.

    Args:
        rgb: (H, W, 3) uint8 photo.
        mask: (H, W) float in [0, 1], bool, or uint8 in [0, 255].

    Raises:
        MaskFormatError: when the sizes differ or the shapes are wrong.
    """
    photo = np.asarray(rgb)
    if photo.ndim != 3 or photo.shape[-1] != 3 or photo.dtype != np.uint8:
        raise MaskFormatError(
            f"rgb must be (H, W, 3) uint8; got {photo.shape} {photo.dtype}: read it with read_rgb"
        )
    alpha = _mask_to_uint8(mask)
    if alpha.shape != photo.shape[:2]:
        raise MaskFormatError(
            f"mask {alpha.shape} and photo {photo.shape[:2]} differ in size: resize the mask "
            "to the photo first"
        )
    return Image.fromarray(np.dstack([photo, alpha]), mode="RGBA")


def write_rgba(
    path: str | Path, rgb: npt.ArrayLike, mask: npt.ArrayLike, *, compress_level: int = 6
) -> Path:
    """Write the photo and its mask as one RGBA PNG, atomically. Returns the path.

    ``compress_level`` (0-9) trades file size for speed; 1 writes several times faster.
    """
    return save_image(rgba_image(rgb, mask), path, compress_level=compress_level)


def write_rgb(path: str | Path, rgb: npt.ArrayLike, *, quality: int = 95) -> Path:
    """Write an (H, W, 3) uint8 array atomically; the format follows the suffix."""
    return save_image(_rgb_image(rgb), path, quality=quality)


#: the PNG text key that holds the radius, in pixels, that white (255) stands for in a map
RADIUS_KEY = "dof:max_radius_px"


def write_radius_map(path: str | Path, radius: npt.ArrayLike) -> Path:
    """Write a defocus map (blur radius per pixel, in pixels) as a grey PNG, atomically.

    A picture to look at and edit: black is in focus, white the largest radius, whose value in
    pixels is kept in the PNG's text (``dof:max_radius_px``); :func:`read_radius_map` reads
    both back (to 1/255 of the largest radius).

    Args:
        radius: (H, W) float radii >= 0.
    """
    array = np.asarray(radius, dtype=np.float64)
    if array.ndim != 2 or not np.isfinite(array).all() or array.min(initial=0) < 0:
        raise MaskFormatError(f"a radius map must be (H, W), finite and >= 0; got {array.shape}")
    top = float(array.max(initial=0))
    grey = np.zeros(array.shape, np.uint8) if top == 0 else _mask_to_uint8(array / top)
    info = PngImagePlugin.PngInfo()
    info.add_text(RADIUS_KEY, f"{top:.6g}")
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise MaskFormatError(
            f"{path.name}: a radius map is written as PNG (its text holds the scale)"
        )
    with atomic_path(path) as tmp:
        Image.fromarray(grey, mode="L").save(tmp, format="PNG", pnginfo=info)
    return path


def read_radius_map(path: str | Path, *, max_radius: float | None = None) -> MaskArray:
    """Read a map written by :func:`write_radius_map` (or painted: then give ``max_radius``,
    the radius white stands for) as (H, W) float32 radii in pixels."""
    radii = read_mask(path)  # the checks of every mask read (size limit, damaged files)
    with Image.open(path) as image:
        scale = (getattr(image, "text", None) or {}).get(RADIUS_KEY)
    if max_radius is None:
        if scale is None:
            raise ImageReadError(Path(path), f"has no {RADIUS_KEY} text: give the radius white "
                                 "stands for (max_radius)")  # fmt: skip
        max_radius = float(scale)
    return (radii * np.float32(max_radius)).astype(np.float32)


def encode_rgb(
    rgb: npt.ArrayLike, suffix: str, *, quality: int = 95, compress_level: int = 6
) -> bytes:
    """The bytes :func:`write_rgb` would write for a file ending in ``suffix`` (".png", ".jpg").

    For results that are sent rather than saved (a download from a local web page).
    """
    buffer = io.BytesIO()
    image, options = _format_options(_rgb_image(rgb), suffix, quality, compress_level)
    image_format = _FORMATS.get(suffix.lower(), suffix.lstrip("."))
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}


def _rgb_image(rgb: npt.ArrayLike) -> Image.Image:
    photo = np.asarray(rgb)
    if photo.ndim != 3 or photo.shape[-1] != 3 or photo.dtype != np.uint8:
        raise MaskFormatError(f"rgb must be (H, W, 3) uint8; got {photo.shape} {photo.dtype}")
    return Image.fromarray(photo, mode="RGB")


def _format_options(
    image: Image.Image, suffix: str, quality: int, compress_level: int
) -> tuple[Image.Image, dict[str, object]]:
    """The one place that says how each format is written: JPEG at ``quality`` without chroma
    subsampling, PNG lossless at ``compress_level``."""
    suffix = suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        return image.convert("RGB"), {"quality": quality, "subsampling": 0}
    if suffix == ".png":
        return image, {"compress_level": compress_level}
    return image, {}


def save_image(
    image: Image.Image, path: str | Path, *, quality: int = 95, compress_level: int = 6
) -> Path:
    """Save a Pillow image atomically; JPEG gets ``quality``, PNG is lossless at
    ``compress_level`` (0-9)."""
    path = Path(path)
    image, options = _format_options(image, path.suffix, quality, compress_level)
    with atomic_path(path) as tmp:
        image.save(tmp, **options)  # type: ignore[arg-type]
    return path


def list_images(folder: str | Path, *, recursive: bool = False) -> list[Path]:
    """The image files in ``folder``, sorted by name (hidden files skipped)."""
    folder = Path(folder)
    pattern = "**/*" if recursive else "*"
    return sorted(
        p
        for p in folder.glob(pattern)
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def expand_inputs(items: Iterable[str | Path]) -> list[Path]:
    """Turn command-line arguments (files and folders) into a sorted list of image paths.

    Folders contribute their images; files are kept as given, even with an unusual suffix, so
    that a bad file is reported by name later rather than silently dropped.
    """
    found: list[Path] = []
    for item in items:
        path = Path(item)
        found.extend(list_images(path) if path.is_dir() else [path])
    return sorted(dict.fromkeys(found))
