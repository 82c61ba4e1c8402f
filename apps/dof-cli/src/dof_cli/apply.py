"""``dof apply`` and ``dof export``: run a trained generator on photos; export it.

Wiring only: dof_gan loads, translates and exports; this module walks the files and reports.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import click

from dof_cli.common import (
    DIR,
    NEW_FILE,
    device_option,
    load_generator,
    out_dir_option,
    resolve_device,
    run_photos,
)

_DIRECTION = click.option(
    "--direction", type=click.Choice(["AtoB", "BtoA"]), default="AtoB",
    help="AtoB: G, ordinary -> shallow depth of field; BtoA: F.",
)  # fmt: skip


@click.command()
@click.option(
    "--checkpoint", "-c", required=True, type=click.Path(exists=True, path_type=Path),
    help="Run folder, checkpoint .pt, or exported .safetensors (with its .json).",
)  # fmt: skip
@click.argument("photos", nargs=-1, required=True, type=click.Path(path_type=Path))
@out_dir_option("Output folder (created when missing).", dest="out")
@click.option("--overlay", is_flag=True, help="Put the input's person back over the output.")
@click.option(
    "--masks", type=DIR,
    help="Folder of <stem>.png person masks (default: the photo's own alpha channel).",
)  # fmt: skip
@click.option("--both", is_flag=True, help="Write <stem>.png and <stem>_overlay.png.")
@click.option("--overwrite", is_flag=True, help="Replace outputs that already exist.")
@click.option(
    "--max-memory", type=click.FloatRange(min=0.25), default=3.0,
    help="GiB a photo may take; larger photos are translated in overlapping tiles.",
)  # fmt: skip
@click.option(
    "--save-map", is_flag=True,
    help="Also write <stem>_map.png: the defocus map as a grey picture (white = the largest "
    "radius, kept in the PNG's text); defocus generators only.",
)  # fmt: skip
@click.option(
    "--aperture", type=click.FloatRange(min=0), default=1.0,
    help="Scale the learned aperture (defocus generators; 0 = the photo as it is).",
)  # fmt: skip
@click.option(
    "--levels", type=click.IntRange(min=2), default=2,
    help="Radius levels of the full-size drawing (defocus generators; each costs one blur).",
)  # fmt: skip
@_DIRECTION
@device_option
def apply(
    checkpoint: Path, photos: tuple[Path, ...], out: Path, overlay: bool, masks: Path | None,
    both: bool, overwrite: bool, max_memory: float, save_map: bool, aperture: float,
    levels: int, direction: str, device: str,
) -> None:  # fmt: skip
    """Translate PHOTOS (files or folders) at full size with a trained generator.

    Outputs are PNGs named after the photos. A photo that fails is reported and skipped.
    Under torchrun each process translates its share of the photos.
    """
    from dof_gan import apply_files

    device = resolve_device(device)
    generator, info, prior = load_generator(checkpoint, device, direction)
    if info.overlay_at_test and not (overlay or both):
        click.echo(f"note: {info.preset} models are meant to be used with --overlay", err=True)
    render: dict[str, Any] = {"aperture": aperture, "levels": levels} if info.has_map else {}
    if save_map and not render:
        raise click.UsageError(f"{checkpoint} is a painting generator: it has no map to save")
    job = partial(apply_files, generator=generator, masks=masks, overlay=overlay, both=both,
                  overwrite=overwrite, max_memory=int(max_memory * 2**30), prior=prior,
                  save_map=save_map, **render)  # fmt: skip
    run_photos(photos, out, job, desc="translating", what=f"photos translated into {out}")


@click.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o", "--out", required=True, type=NEW_FILE,
    help="The .safetensors file to write; its .json sidecar goes beside it.",
)  # fmt: skip
@_DIRECTION
@click.option("--half", is_flag=True, help="Store float16 weights (half the size).")
@click.option(
    "--as-trained", is_flag=True,
    help="G as last trained, not the average of its weights (runs with --ema-images).",
)  # fmt: skip
def export(source: Path, out: Path, direction: str, half: bool, as_trained: bool) -> None:
    """Export the generator of SOURCE (a run folder or checkpoint .pt) as safetensors."""
    from dof_gan import export_generator

    path = export_generator(source, out, direction=direction, half=half, average=not as_trained)
    click.echo(f"wrote {path} and {path.with_suffix('.json')}")
