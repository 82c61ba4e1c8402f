"""``dof-train``: train one of the paper's four models. Wiring only: dof_gan does the work.

Options are validated into a frozen config by ``dof_gan.config_from_options`` before anything
is read or written; ``--dry-run`` prints that config as JSON and stops.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dof_cli.common import CONTEXT, device_option, resolve_device
from dof_cli.errors import UserErrors


@click.command(cls=UserErrors, context_settings=CONTEXT)
@click.option("--preset", help="cyclegan, mask-loss, mask-overlay or combined (new runs).")
@click.option(
    "--data", help="Folder with trainA/ and trainB/ (masks: RGBA alpha or maskA/ maskB/).",
)  # fmt: skip
@click.option(
    "--out", required=True, help="Run folder, e.g. runs/portrait (must be new unless --resume).",
)  # fmt: skip
@click.option("--resume", is_flag=True, help="Continue the run in --out from checkpoints/last.pt.")
@click.option("--dry-run", is_flag=True, help="Print the resolved config as JSON and exit.")
@click.option("--name", help="Run name (default: the --out folder's name).")
@click.option("--epochs", type=int, help="Epochs at the full learning rate (paper: 50).")
@click.option("--epochs-decay", type=int, help="Epochs of linear decay to zero (paper: 25).")
@click.option("--batch-size", type=int, help="Images per step (paper: 1).")
@click.option("--size", type=int, help="Training crop in pixels, a multiple of 4 (default 256).")
@click.option(
    "--load-size", type=int, help="Shorter side before the crop (default 286/256 of --size).",
)  # fmt: skip
@click.option("--flip/--no-flip", default=None, help="Random horizontal mirroring (default on).")
@click.option("--workers", type=int, help="Data-loading processes (default 2).")
@device_option
@click.option("--ngf", type=int, help="Generator filters (default 64).")
@click.option("--ndf", type=int, help="Discriminator filters (default 64).")
@click.option("--n-blocks", type=int, help="Residual blocks in the generator (9 or 6).")
@click.option("--upsampling", help="transpose (default) or resize (resize-then-convolve, 4.4.1).")
@click.option(
    "--generator",
    help="resnet (the paper's, default) or defocus (a map network + dof-smooth's lens).",
)
@click.option(
    "--prior", help="defocus: segmenter whose person mask the map network reads (selfie)."
)
@click.option("--max-radius", type=float, help="defocus: largest blur radius, px (default 12).")
@click.option("--map-width", type=int, help="defocus: map network filters (default 16).")
@click.option("--map-depth", type=int, help="defocus: map network levels (default 4).")
@click.option(
    "--one-sided/--two-sided", default=None, help="defocus: G and D_B alone (no F, cycle)."
)
@click.option("--lambda-focus", type=float, help="defocus: weight of the map's focus term (5).")
@click.option("--d-augment", help="D_B's augmentation: translation, cutout, or both with a comma.")
@click.option("--gan-mode", help="lsgan (least squares, default) or vanilla (cross-entropy).")
@click.option("--vgg-weights", help="imagenet (default), none (tests only) or a .pth path.")
@click.option("--mask-reading", help="paper (default) or author: how the mask terms are weighted.")
@click.option("--lambda-mask-pixel", type=float, help="Weight of the mask loss pixel term.")
@click.option("--lambda-mask-vgg", type=float, help="Weight of the mask loss VGG term.")
@click.option("--lr", type=float, help="Adam learning rate (default 2e-4).")
@click.option(
    "--ema-images", type=int,
    help="Half-life in images of the average of G's weights that is scored and exported "
    "(0: none, the paper's; defocus default 1000).",
)  # fmt: skip
@click.option("--seed", type=int, help="Seed of every random draw (default 0).")
@click.option("--deterministic/--no-deterministic", default=None, help="Deterministic kernels.")
@click.option(
    "--precision", type=click.Choice(["auto", "fp32", "bf16", "fp16"]),
    help="Autocast dtype of forward passes and losses (default auto: bf16 where the device has "
    "native bf16, else fp32; fp16 is CUDA only). Weights and checkpoints stay fp32.",
)  # fmt: skip
@click.option(
    "--channels-last/--no-channels-last", default=None, help="NHWC memory layout (default off).",
)  # fmt: skip
@click.option(
    "--compile/--no-compile", default=None, help="torch.compile the four networks (default off).",
)  # fmt: skip
@click.option("--max-steps", type=int, help="Stop (with a checkpoint) after this global step.")
@click.option("--sample-every", type=int, help="Write a sample grid every N steps (default 500).")
@click.option("--checkpoint-every", type=int, help="Write last.pt every N steps (default 2000).")
@click.option(
    "--keep-checkpoints", type=int, help="Keep only the last N epoch checkpoints (0: all).",
)  # fmt: skip
@click.option(
    "--nproc", type=click.IntRange(min=1), default=1,
    help="Training processes on this machine (DDP through torchrun; one GPU each on CUDA).",
)  # fmt: skip
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def main(**options: Any) -> None:
    """Train CycleGAN with the paper's mask loss and overlay; writes config, log, samples and
    checkpoints into --out.

    \b
    Example:
      dof-train --preset combined --data datasets/portraits --out runs/combined
      dof-train --out runs/combined --resume
    """
    import dof_gan

    resume, dry_run = options.pop("resume"), options.pop("dry_run")
    progress, nproc = not options.pop("no_progress"), options.pop("nproc")
    options["device"] = resolve_device(options["device"])
    if options["data"] is not None:
        options["data"] = str(Path(options["data"]).expanduser().absolute())
    try:
        config = dof_gan.command_config(options, resume=resume)
    except dof_gan.ConfigError as err:  # the options do not make a config: a usage error
        raise click.UsageError(str(err)) from err
    if dry_run:
        click.echo(dof_gan.config_to_json(config), nl=False)
        return
    if nproc > 1:
        from dof_gan.distributed import launch

        raise SystemExit(launch(config, options["out"], nproc, resume=resume, progress=progress))
    result = dof_gan.train(config, options["out"], resume=resume, progress=progress)
    click.echo(result.describe(config.name))
