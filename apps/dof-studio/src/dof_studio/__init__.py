"""dof studio: a local web page to open a portrait, pick the subject, set the aperture and save.

    dof studio [--model G.safetensors] [--port 8765]      # or: dof-studio
    app = dof_studio.create_app(dof_studio.Studio(dof_studio.StudioConfig()))

The page calls the same package functions as the command line (dof_seg for the mask and the
people in it, dof_smooth.portrait_blur or dof_gan.translate for the render, dof_io to read and
write), on a downscaled copy for the preview and on the photo itself for the download.
"""

from dof_studio.engine import Photo, RenderSettings, Studio, StudioConfig
from dof_studio.errors import NotOpenError, StudioError, UploadTooLargeError
from dof_studio.server import create_app

__all__ = [
    "NotOpenError",
    "Photo",
    "RenderSettings",
    "Studio",
    "StudioConfig",
    "StudioError",
    "UploadTooLargeError",
    "create_app",
]
