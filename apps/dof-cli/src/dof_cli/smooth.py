"""`dof smooth`: the smoothing baseline on photo files (wiring only; the work is dof_smooth's).

    dof smooth PHOTOS... --masks DIR -o OUT [--method lens] [--radius R] [--composite halo_free]
    dof smooth PHOTOS... --segmenter selfie -o OUT --method box

For photo `x.jpg` the mask is `DIR/x.png` (RGBA alpha = mask, dof-seg's format, or a grey
PNG); the result is `OUT/x.png` (or `.jpg` with `--format jpg`). Photos whose output exists are
skipped, so an interrupted run resumes; a file that would overwrite a photo, mask or depth map
is refused.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

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

METHODS = ("box", "gaussian", "lens")
COMPOSITES = ("paste", "halo_free")


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
    from dof_smooth.files import smooth_files

    device = resolve_device(device)
    model = load_segmenter(segmenter, device, refine, **backend) if segmenter else None
    run_photos(
        photos, out_dir, desc="smooth", what=f"photos written to {out_dir}",
        job=partial(smooth_files, masks=masks_dir, segmenter=model, depths=depths, fmt=fmt,
                    overwrite=overwrite, max_memory=max_memory, device=device, method=method,
                    radius=radius, composite=composite, blades=blades, highlights=highlights,
                    disparity=disparity, failures=_segmenter_errors(model)),
    )  # fmt: skip


def _segmenter_errors(model: object) -> tuple[type[BaseException], ...]:
    """What a photo may fail with in the segmenter (dof-seg's errors), besides dof_smooth's."""
    if model is None:
        return ()
    import dof_seg

    return (dof_seg.DofSegError,)
