"""`dof smooth`: the smoothing baseline on photo files (wiring only; the work is dof_smooth's).

    dof smooth PHOTOS... --masks DIR -o OUT [--method lens] [--radius R] [--composite halo_free]
    dof smooth PHOTOS... --segmenter selfie -o OUT --method box

For photo `x.jpg` the mask is `DIR/x.png` (RGBA alpha = mask, dof-seg's format, or a grey
PNG); the result is `OUT/x.png` (or `.jpg` with `--format jpg`). Photos whose output exists are
skipped, so an interrupted run resumes; a file that would overwrite a photo, mask or depth map
is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dof_cli.common import (
    DIR,
    device_option,
    load_segmenter,
    max_memory_option,
    out_dir_option,
    resolve_device,
    run_photos,
    segmenter_options,
)

if TYPE_CHECKING:
    from dof_io import PlannedPhoto

METHODS = ("box", "gaussian", "lens")
COMPOSITES = ("paste", "halo_free")


def _read_map(path: Path, size: tuple[int, int], what: str, device: str) -> Any:
    """A mask or depth PNG as a (1, 1, H, W) tensor in [0, 1], checked against the photo size."""
    from dof_io import read_mask
    from dof_io.tensors import mask_to_tensor

    if not path.is_file():
        hint = " (make masks with `dof seg PHOTOS -o DIR`)" if what == "mask" else ""
        raise FileNotFoundError(f"no {what} {path}{hint}")
    return mask_to_tensor(read_mask(path, size=size, what=what), device=device)


@click.command("smooth")
@click.argument("photos", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--masks", "masks_dir", type=DIR,
    help="Folder of masks <photo stem>.png: RGBA (alpha = mask, dof-seg's format) or grey.",
)  # fmt: skip
@segmenter_options(None, "Compute the masks with this dof-seg backend instead", files=False)
@out_dir_option("Folder for the results <stem>.png; created if missing.")
@click.option("--method", type=click.Choice(METHODS), default="lens")
@click.option(
    "--radius", type=click.FloatRange(min=0),
    help="box/gaussian: kernel half-size (default 2 = 5x5, 4 = 9x9); lens: aperture radius in "
    "pixels (default 2% of the longer side).",
)  # fmt: skip
@click.option(
    "--composite", type=click.Choice(COMPOSITES),
    help="Default: paste for box and gaussian (the paper), halo_free for lens.",
)  # fmt: skip
@click.option("--blades", type=click.IntRange(min=0), default=0, help="lens: 0 = round, else >= 3.")
@click.option(
    "--highlights", type=click.FloatRange(min=0), default=0.0,
    help="Highlight boost before the blur: bright bokeh discs (2 to 8 typical; 0 = off).",
)  # fmt: skip
@click.option(
    "--depths", type=DIR,
    help="Folder of depth maps <stem>.png (grey, larger = farther): depth-aware blur.",
)  # fmt: skip
@click.option("--disparity", is_flag=True, help="The depth maps hold disparity (larger = nearer).")
@click.option(
    "--format", "fmt", type=click.Choice(["png", "jpg"]), default="png",
    help="Output format (jpg: quality 95).",
)  # fmt: skip
@click.option("--overwrite", is_flag=True, help="Redo photos whose output already exists.")
@max_memory_option
@device_option
def smooth(
    photos: tuple[Path, ...], masks_dir: Path | None, segmenter: str | None, out_dir: Path,
    method: str, radius: float | None, composite: str | None, blades: int, highlights: float,
    depths: Path | None, disparity: bool, fmt: str, refine: str | None, overwrite: bool,
    max_memory: int, device: str, **backend: Any,
) -> None:  # fmt: skip
    """Blur the background of PHOTOS (files or folders), keeping the people sharp."""
    if (masks_dir is None) == (segmenter is None):
        raise click.UsageError("give exactly one of --masks DIR and --segmenter NAME")
    if segmenter is None and any(v is not None for v in backend.values()):
        raise click.UsageError("the segmenter's options (--model, ...) need --segmenter NAME")
    if blades in (1, 2) or (blades and method != "lens"):
        raise click.BadParameter("0 (round) or at least 3, lens only", param_hint="--blades")
    import torch

    import dof_smooth
    from dof_io import check_memory, write_rgb

    device = resolve_device(device)
    model = load_segmenter(segmenter, device, refine, **backend) if segmenter else None
    failures: tuple[type[BaseException], ...] = (OSError, ValueError, MemoryError)
    failures += (torch.OutOfMemoryError,)  # one photo too large: skip it, go on
    if model is not None:
        import dof_seg

        failures += (dof_seg.DofSegError,)
    options = {
        "method": method, "radius": radius, "composite": composite, "blades": blades,
        "highlights": highlights, "disparity": disparity,
    }  # fmt: skip
    per_pixel = dof_smooth.MEMORY_PER_PIXEL[method] * (
        dof_smooth.DEPTH_MEMORY_FACTOR if depths else 1
    )

    def work(planned: PlannedPhoto) -> None:
        check_memory(planned.photo, bytes_per_pixel=per_pixel, budget=max_memory,
                     what=f"{method} blur")  # fmt: skip
        write_rgb(planned.target, _render(planned.photo, model, masks_dir, depths, device, options))

    run_photos(photos, out_dir, work, desc="smooth", what=f"photos written to {out_dir}",
               tails={"": f".{fmt}"}, reads=(masks_dir, depths), overwrite=overwrite,
               failures=failures)  # fmt: skip


def _render(
    photo: Path, model: Any, masks_dir: Path | None, depths: Path | None, device: str,
    options: dict[str, Any],
) -> Any:  # fmt: skip
    """One photo through dof_smooth.portrait_blur -> (H, W, 3) uint8 array."""
    import torch

    import dof_smooth
    from dof_io import read_rgb
    from dof_io.tensors import image_to_tensor, tensor_to_image

    rgb = read_rgb(photo)
    size = (rgb.shape[0], rgb.shape[1])
    image = image_to_tensor(rgb, device=device)
    with torch.inference_mode():
        if model is not None:
            mask = model(image).clamp(0, 1)
        else:
            assert masks_dir is not None
            mask = _read_map(masks_dir / f"{photo.stem}.png", size, "mask", device)
        depth = None
        if depths is not None:
            depth = _read_map(depths / f"{photo.stem}.png", size, "depth map", device)
        out = dof_smooth.portrait_blur(image, mask, depth=depth, **options)
    return tensor_to_image(out)
