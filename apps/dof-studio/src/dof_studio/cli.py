"""`dof studio` / `dof-studio`: start the local page (wiring only; the work is the engine's)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("studio", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on. Only 127.0.0.1 (this machine) unless you say otherwise; "
    "0.0.0.0 makes the page reachable from other machines.",
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
    help="Port; 0 picks a free one.",
)  # fmt: skip
@click.option(
    "--model",
    type=click.Path(exists=True, path_type=Path),
    help="The generator of the GAN method (default: dof-gan's bundled defocus model): "
    "exported .safetensors (with its .json, from `dof export`), a run folder or a checkpoint .pt.",
)
@click.option(
    "--segmenter", default="selfie", show_default=True,
    help="dof-seg backend for the person mask, as `dof seg --segmenter` (selfie is built in "
    "and offline; see docs/seg.md).",
)  # fmt: skip
@click.option(
    "--refine",
    type=click.Choice(["none", "guided", "matting"]),
    help="Refine the mask at the photo's size, as `dof seg --refine` (default: the "
    "segmenter's measured best, docs/seg.md).",
)
@click.option("--device", default="cpu", show_default=True, help="torch device: cpu, cuda, ...")
@click.option(
    "--preview-size", type=click.IntRange(128, 8192), default=1280, show_default=True,
    help="Longer side of the preview, pixels (the download is always full size).",
)  # fmt: skip
@click.option(
    "--max-upload-mb", type=click.FloatRange(min=0.001), default=256.0, show_default=True,
    help="Largest photo file accepted.",
)  # fmt: skip
@click.option(
    "--max-megapixels", type=click.FloatRange(min=0.001), default=150.0, show_default=True,
    help="Largest photo accepted, in millions of pixels, checked before decoding (150: the "
    "limit of every dof command).",
)  # fmt: skip
@click.option(
    "--max-memory", default="3GiB", show_default=True, callback=lambda _c, _p, v: _size(v),
    help="Memory one open or full-size render may take (as `dof apply`): generator renders "
    "tile within it, larger blurs and photos are refused before work starts; 0 = no limit.",
)  # fmt: skip
@click.option(
    "--threads", type=click.IntRange(min=0), default=0, show_default=True,
    help="torch threads for full-size renders (0 = torch's default).",
)  # fmt: skip
@click.option(
    "--preview-threads", type=click.IntRange(min=0), default=1, show_default=True,
    help="torch threads for opening and previews (0 = torch's default; 1 stays quick on a "
    "busy machine).",
)  # fmt: skip
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the web browser.")
def studio(
    host: str,
    port: int,
    model: Path | None,
    segmenter: str,
    refine: str | None,
    device: str,
    preview_size: int,
    max_upload_mb: float,
    max_megapixels: float,
    max_memory: int,
    threads: int,
    preview_threads: int,
    open_browser: bool,
) -> None:
    """A local web page: open a portrait, click the subject, set the aperture, save.

    Photos stay in this process's memory and are gone when it stops; nothing is sent anywhere.
    """
    from dof_gan import DofGanError
    from dof_seg import DofSegError
    from dof_studio.engine import Studio, StudioConfig
    from dof_studio.errors import StudioError
    from dof_studio.server import serve

    config = StudioConfig(
        segmenter=segmenter, refine=refine, model=model, device=device, preview_size=preview_size,
        max_upload_bytes=round(max_upload_mb * 2**20), max_pixels=round(max_megapixels * 1e6),
        max_memory=max_memory, render_threads=threads, preview_threads=preview_threads,
    )  # fmt: skip
    try:
        engine = Studio(config)
    except (DofGanError, DofSegError) as err:
        raise click.ClickException(str(err)) from err
    try:
        serve(engine, host=host, port=port, open_browser=open_browser)
    except StudioError as err:
        raise click.ClickException(err.message) from err


def _size(text: str) -> int:
    """``--max-memory``: ``3GiB``, ``512MiB``, ``0`` (dof_io.parse_size) -> bytes."""
    import dof_io

    try:
        return dof_io.parse_size(text)
    except ValueError as err:
        raise click.BadParameter(str(err)) from err


def main() -> None:
    """Entry point of the `dof-studio` script."""
    studio()
