"""dof-io: the file layer every dof package shares."""

from dof_io.atomic import (
    atomic_open,
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    live_temp_files,
)
from dof_io.errors import (
    DofIOError,
    FolderLockedError,
    ImageReadError,
    MaskFormatError,
    OutputError,
)
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
from dof_io.lock import (
    FolderLock,
    LockHolder,
    folder_lock,
    is_temp_file,
    read_holder,
    remove_temp_files,
)
from dof_io.masks import binarize, mask_iou

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "DofIOError",
    "FolderLock",
    "FolderLockedError",
    "ImageReadError",
    "LockHolder",
    "MaskFormatError",
    "OutputError",
    "atomic_open",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "binarize",
    "expand_inputs",
    "folder_lock",
    "is_temp_file",
    "list_images",
    "live_temp_files",
    "mask_iou",
    "open_image",
    "read_holder",
    "read_mask",
    "read_rgb",
    "remove_temp_files",
    "rgba_image",
    "save_image",
    "to_rgb",
    "write_rgb",
    "write_rgba",
]
