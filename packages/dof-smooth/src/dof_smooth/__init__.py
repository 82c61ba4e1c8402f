"""dof-smooth: the smoothing baseline. Box, Gaussian and lens blur with halo-free compositing.

Needs only torch; any device::

    import dof_smooth
    out = dof_smooth.portrait_blur(images, masks)                  # lens, halo-free, linear light
    out = dof_smooth.portrait_blur(images, masks, method="box")    # the paper: 5x5 box, pasted
    soft = dof_smooth.gaussian_blur2d(images, 9)                   # = cv2.GaussianBlur, 9x9
    disc = dof_smooth.lens_blur2d(images, radius=25, blades=6)     # a six-blade aperture
    out = dof_smooth.defocus_blur(images, radius_map)              # each pixel its own radius

Images are (B, 3, H, W) float in [0, 1]; masks (B, 1, H, W) in [0, 1] with 1 = subject.
"""

from dof_smooth.color import boost_highlights, linear_to_srgb, srgb_to_linear
from dof_smooth.composite import (
    HaloFreeComposite,
    Paste,
    feather_matte,
    halo_free_composite,
    masked_blur,
    paste,
)
from dof_smooth.defocus import DefocusBlur, defocus_blur, radius_levels
from dof_smooth.depth import DepthBlur, depth_blur, focus_from_mask
from dof_smooth.errors import (
    DeviceError,
    DTypeError,
    MemoryBudgetError,
    OptionError,
    ShapeError,
    SmoothError,
    UnknownNameError,
    ValueRangeError,
)
from dof_smooth.fft import filter2d
from dof_smooth.filters import (
    BoxBlur2d,
    GaussianBlur2d,
    LensBlur2d,
    box_blur2d,
    gaussian_blur2d,
    lens_blur2d,
)
from dof_smooth.kernels import (
    box_kernel1d,
    disk_kernel,
    gaussian_kernel1d,
    opencv_kernel_size,
    opencv_sigma,
)
from dof_smooth.methods import (
    DEFAULT_COMPOSITE,
    DEPTH_MEMORY_FACTOR,
    MEMORY_PER_PIXEL,
    METHODS,
    check_blur_memory,
    default_radius,
    make_blur,
)
from dof_smooth.metrics import outside_band, subject_leakage
from dof_smooth.portrait import COMPOSITES, PortraitBlur, portrait_blur
from dof_smooth.separable import separable_filter2d

__all__ = [
    "COMPOSITES",
    "DEFAULT_COMPOSITE",
    "DEPTH_MEMORY_FACTOR",
    "MEMORY_PER_PIXEL",
    "METHODS",
    "BoxBlur2d",
    "DTypeError",
    "DefocusBlur",
    "DepthBlur",
    "DeviceError",
    "GaussianBlur2d",
    "HaloFreeComposite",
    "LensBlur2d",
    "MemoryBudgetError",
    "OptionError",
    "Paste",
    "PortraitBlur",
    "ShapeError",
    "SmoothError",
    "UnknownNameError",
    "ValueRangeError",
    "boost_highlights",
    "box_blur2d",
    "box_kernel1d",
    "check_blur_memory",
    "default_radius",
    "defocus_blur",
    "depth_blur",
    "disk_kernel",
    "feather_matte",
    "filter2d",
    "focus_from_mask",
    "gaussian_blur2d",
    "gaussian_kernel1d",
    "halo_free_composite",
    "lens_blur2d",
    "linear_to_srgb",
    "make_blur",
    "masked_blur",
    "opencv_kernel_size",
    "opencv_sigma",
    "outside_band",
    "paste",
    "portrait_blur",
    "radius_levels",
    "separable_filter2d",
    "srgb_to_linear",
    "subject_leakage",
]
