"""`dof data synth`: the synthetic unpaired training set (sharp / defocused composites).

Wiring only: dof_eval.build_train_set composes real coco-person people over real person-free
backgrounds the way the paired benchmark does, splits the source photos into training and
held-out test photos first, and writes trainA/ trainB/ testA/ testB/ (RGBA, alpha = matte) and
test/ (the held-out items as a paired benchmark).
"""

from __future__ import annotations

from pathlib import Path

import click

from dof_cli.common import DIR, lock_output, out_dir_option


@click.command()
@click.option(
    "--source", required=True, type=DIR,
    help="coco-person style folder: images/, masks/, manifest.csv.",
)  # fmt: skip
@out_dir_option("Dataset folder: trainA/ trainB/ testA/ testB/ test/ dataset.json.")
@click.option(
    "--n-train", default=2000,
    help="Items per training domain; 0 builds only the held-out test items (same bytes).",
)  # fmt: skip
@click.option("--n-test", default=48, help="Held-out paired test items.")
@click.option("--test-photos", default=10, help="Source photos kept for the test.")
@click.option("--size", default=128, help="Side of the square items.")
@click.option("--radius", default=4.0, help="Defocus disk radius, pixels.")
@click.option(
    "--source-scale", default=0.5,
    help="Scale of the source photos before background windows are cut.",
)  # fmt: skip
@click.option("--seed", default=0)
def synth(
    source: Path,
    out_dir: Path,
    n_train: int,
    n_test: int,
    test_photos: int,
    size: int,
    radius: float,
    source_scale: float,
    seed: int,
) -> None:
    """Build a synthetic unpaired training set with a known answer for its test items.

    \b
    A = real people over real backgrounds, sharp; B = the same construction with the
    background defocused by a lens disk in linear light (never the same person-background
    pair as an A item). Test items come from source photos no training item uses.
    """
    import dof_eval

    lock_output(out_dir)
    config = dof_eval.TrainSetConfig(
        n_train=n_train, n_test=n_test, test_photos=test_photos, size=size, radius=radius,
        source_scale=source_scale, seed=seed,
    )  # fmt: skip
    try:
        index = dof_eval.build_train_set(source, out_dir, config)
    except dof_eval.DofEvalError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"dataset: {index} (held-out paired test items: {index.parent / 'test'})")
