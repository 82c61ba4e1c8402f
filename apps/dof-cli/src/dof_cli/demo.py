"""`dof demo`: the whole pipeline on the bundled photos, offline, on built-in defaults.

Bundled portraits (see demo_photos/ATTRIBUTION.md) -> `selfie` person masks (built into dof-seg)
-> the box, Gaussian and lens baselines (dof-smooth), the GAN that dof-gan ships (a defocus
generator: its map network reads the photo and the `selfie` mask, dof-smooth's lens draws the
map; docs/results.md says how it was trained) with its map, and the paper's ResNet generator at
2,000 steps for comparison (demo_model/README.md) -> a report with gallery, contact sheet and
metrics (dof-eval). Runs of dof-train can be added to the same page.
"""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

import click

from dof_cli.common import DIR, device_option
from dof_cli.report import report

#: the bundled generators' columns: what they are, in the gallery's header
GAN_LABEL = "GAN (defocus + selfie)"
PAPER_LABEL = "paper ResNet GAN, 2k steps"
GAN_FILE = "G.safetensors"  # the paper model's file in demo_model/


@click.command()
@click.option(
    "-o", "--out", "out_dir", default="dof-demo", type=click.Path(path_type=Path),
    help="Where the report goes (index.html, gallery.html, contact_sheet.png, metrics).",
)  # fmt: skip
@click.option("--size", default=512, help="Long side of the rendered photos.")
@click.option(
    "--run", "run_dirs", multiple=True, type=DIR,
    help="A dof-train run folder whose generator joins the gallery (repeatable).",
)  # fmt: skip
@device_option
@click.pass_context
def demo(
    ctx: click.Context, out_dir: Path, size: int, run_dirs: tuple[Path, ...], device: str
) -> None:
    """Render the bundled portraits with every smoothing baseline and the bundled GANs.

    Needs no download: the `selfie` segmenter's weights ship with dof-seg. Open
    OUT/index.html in a browser afterwards.
    """
    from dof_gan import bundled_generator

    with (
        as_file(files("dof_cli") / "demo_photos") as photos,
        as_file(files("dof_cli") / "demo_model") as model,
    ):
        ctx.invoke(
            report,
            run_dirs=run_dirs,
            test_dir=photos,
            out_dir=out_dir,
            size=size,
            manifest=photos / "credits.csv",
            device=device,
            generators=((GAN_LABEL, bundled_generator()), (PAPER_LABEL, model / GAN_FILE)),
        )
    click.echo(f"open {out_dir / 'index.html'} (contact sheet: {out_dir / 'contact_sheet.png'})")
