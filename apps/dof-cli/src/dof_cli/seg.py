"""`dof seg`: person masks as RGBA PNGs; `dof seg eval` scores them; `dof seg train` fine-tunes.

    dof seg PHOTOS... -o DIR [--segmenter selfie]   # the same as `dof seg run PHOTOS... -o DIR`
    dof seg eval --masks GT_DIR PRED_DIR [--csv F] [--json F]
    dof seg train PHOTOS_DIR MASKS_DIR -o RUN_DIR [--encoder tu-xception65]

`seg` is a group whose default subcommand is `run`: when the first argument is not a subcommand
name, `run` is assumed. (A photo literally named `eval` or `train` needs `dof seg run eval`.)
Wiring only: the logic lives in dof_seg.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import click

from dof_cli.common import (
    DIR,
    NEW_FILE,
    BatchReport,
    device_option,
    load_segmenter,
    lock_output,
    max_memory_option,
    out_dir_option,
    resolve_device,
    run_photos,
    segmenter_options,
)


class DefaultGroup(click.Group):
    """A click group that runs ``default_command`` when the first argument names no subcommand."""

    default_command = "run"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "[run] PHOTOS... -o DIR [OPTIONS] | eval | train")


@click.group(cls=DefaultGroup)
def seg() -> None:
    """Person masks: `dof seg PHOTOS... -o DIR` writes DIR/<stem>.png (RGB = photo, alpha = mask).

    The default segmenter, selfie (MediaPipe Selfie Segmentation in PyTorch), ships with dof
    and works offline. `dof seg run --help` lists every option.
    """


@seg.command("run")
@click.argument("photos", nargs=-1, required=True, type=click.Path(path_type=Path))
@out_dir_option("Folder for the RGBA masks (<stem>.png); created if missing.")
@segmenter_options("selfie", "Backend")
@click.option(
    "--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="Make hard 0/1 masks at this level (default: keep soft masks).",
)  # fmt: skip
@click.option(
    "--keep", type=click.Choice(["all", "largest", "center"]), default="all",
    help="Keep every person region, or only the main one.",
)  # fmt: skip
@click.option(
    "--fill-holes", type=click.FloatRange(min=0), default=0.0,
    help="Fill enclosed holes up to this size (fraction of the image if < 1, else px).",
)  # fmt: skip
@click.option("--batch-size", type=click.IntRange(1), default=8)
@click.option("--overwrite", is_flag=True, help="Recompute masks that already exist.")
@max_memory_option
@device_option
def run(
    photos: tuple[Path, ...], out_dir: Path, segmenter: str, batch_size: int, overwrite: bool,
    device: str, threshold: float | None, keep: str, fill_holes: float, max_memory: int,
    refine: str | None, **backend: Any,
) -> None:  # fmt: skip
    """Write DIR/<stem>.png for each photo; photos whose mask exists are skipped (resume)."""
    import dof_seg

    post = dof_seg.PostProcessConfig(threshold=threshold, keep=keep, fill_holes=fill_holes)
    model = load_segmenter(segmenter, device, refine, **backend)
    job = partial(dof_seg.iter_segment_files, segmenter=model, batch_size=batch_size, post=post,
                  overwrite=overwrite, max_memory=max_memory)  # fmt: skip
    run_photos(photos, out_dir, job, desc="seg", what=f"masks written to {out_dir}")


@seg.command("eval")
@click.option(
    "--masks", "gt_dir", required=True, type=DIR,
    help="Ground-truth masks <id>.png (<id>_crowd.png regions are ignored).",
)  # fmt: skip
@click.argument("pred_dir", type=DIR)
@click.option("--threshold", type=float, default=0.5)
@click.option("--csv", "csv_path", type=NEW_FILE, help="Also write name,iou rows here.")
@click.option(
    "--json", "json_path", type=NEW_FILE, help="Also write the scores and the mean as JSON here.",
)  # fmt: skip
def evaluate(
    gt_dir: Path, pred_dir: Path, threshold: float, csv_path: Path | None, json_path: Path | None
) -> None:
    """IoU of each mask in PRED_DIR against --masks, and the mean."""
    from dof_seg import evaluate_masks

    result = evaluate_masks(gt_dir, pred_dir, threshold=threshold)
    click.echo(result.table())
    for path in (csv_path, json_path):
        if path is not None:
            result.write(path)
    report = BatchReport(done=len(result.scores))
    for name, reason in result.failed:
        report.fail(Path(name), reason)
    report.finish("images scored")


@seg.command("train")
@click.argument("photos_dir", type=DIR)
@click.argument("masks_dir", type=DIR)
@out_dir_option(
    "Run folder: config.json, log.jsonl, checkpoint.pt, model.safetensors.", dest="run_dir",
)  # fmt: skip
@click.option(
    "--encoder", default="tu-xception65",
    help="smp encoder (resnet18, mobilenet_v2, tu-xception65, ...).",
)  # fmt: skip
@click.option(
    "--encoder-weights", default="imagenet",
    help="Pretrained encoder weights to start from ('none' for random; offline).",
)  # fmt: skip
@click.option("--size", type=int, default=512, help="Crop size (x16).")
@click.option("--batch-size", type=click.IntRange(1), default=8)
@click.option("--steps", type=click.IntRange(1), default=2000)
@click.option("--lr", type=float, default=1e-4)
@click.option("--save-every", type=click.IntRange(1), default=500)
@click.option("--seed", type=int, default=0)
@click.option("--dry-run", is_flag=True, help="Print the resolved configuration and stop.")
@click.option("--resume", is_flag=True, help="Continue the run in RUN_DIR from its checkpoint.")
@device_option
def train(
    photos_dir: Path, masks_dir: Path, run_dir: Path, encoder_weights: str, device: str,
    dry_run: bool, resume: bool, **fields: Any,
) -> None:  # fmt: skip
    """Fine-tune DeepLabV3+ on PHOTOS_DIR and MASKS_DIR (matched by stem) into RUN_DIR."""
    from dof_seg import DofSegError, TrainConfig, train_deeplabv3plus

    weights = None if encoder_weights.lower() == "none" else encoder_weights
    try:
        config = TrainConfig(encoder_weights=weights, **fields).validate()
    except DofSegError as err:
        raise click.UsageError(str(err)) from err
    if dry_run:
        click.echo(json.dumps(asdict(config), indent=2))
        return
    lock_output(run_dir)
    device = resolve_device(device)
    path = train_deeplabv3plus(photos_dir, masks_dir, run_dir, config, device=device, resume=resume)
    click.echo(f"wrote {path}")
