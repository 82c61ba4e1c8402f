"""dof-io: the file layer every dof package shares."""

from dof_io.atomic import atomic_open, atomic_path, atomic_write_bytes, atomic_write_text
from dof_io.errors import DofIOError, ImageReadError, MaskFormatError
from dof_io.images import (
    IMAGE_SUFFIXES,
    MAX_PIXELS,
    expand_inputs,
    list_images,
    open_image,
    read_mask,
    read_rgb,
    rgba_image,
    save_image,
    to_rgb,
    write_rgb,
    write_rgba,
)
from dof_io.masks import binarize, mask_iou

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "DofIOError",
    "ImageReadError",
    "MaskFormatError",
    "atomic_open",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "binarize",
    "expand_inputs",
    "list_images",
    "mask_iou",
    "open_image",
    "read_mask",
    "read_rgb",
    "rgba_image",
    "save_image",
    "to_rgb",
    "write_rgb",
    "write_rgba",
]
