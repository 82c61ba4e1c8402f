"""`dof report` and `dof paired-bench`: where the models meet dof-eval.

    dof report RUN_DIRS... --test DIR -o report/ [--real-b DIR] [--realism inception]
    dof paired-bench --source ../shared/data/coco-person -o paired/ [--masks gt,selfie]

Wiring only: this module turns the smoothing baselines (dof_smooth), the segmenters (dof_seg)
and the trained generators (dof_gan) into plain callables and hands them to dof_eval, which
renders, scores and writes everything.
"""

from __future__ import annotations

from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dof_cli.common import (
    DIR,
    FILE,
    BatchReport,
    command_line,
    device_option,
    gan_renderers,
    load_generator,
    load_segmenter,
    lock_output,
    out_dir_option,
    progress,
    refine_option,
    resolve_device,
)

if TYPE_CHECKING:
    from dof_eval.render import Renderer

#: gallery label -> dof_smooth method (each with its default composite: the paper's paste for
#: box and Gaussian, halo-free for lens).
BASELINES = {"box": "box", "Gaussian": "gaussian", "lens": "lens"}


def _csv_list(value: str, allowed: tuple[str, ...], option: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    wrong = [v for v in items if v not in allowed]
    if wrong or not items:
        raise click.BadParameter(
            f"{', '.join(wrong) or 'nothing'}: choose from {', '.join(allowed)}", param_hint=option
        )
    return items


def _smoothing(device: str, methods: dict[str, dict[str, Any]]) -> dict[str, Renderer]:
    """label -> dof_smooth.portrait_blur with those keywords, on ``device``."""
    import dof_eval
    import dof_smooth

    return {label: dof_eval.on_device(partial(dof_smooth.portrait_blur, **kw), device)
            for label, kw in methods.items()}  # fmt: skip


@click.command()
@click.argument("run_dirs", nargs=-1, type=DIR)
@click.option(
    "--test", "test_dir", required=True, type=DIR,
    help="Test photos: DIR/images + DIR/masks (coco-person), DIR/testA + maskA, or photos with "
    "RGBA masks.",
)  # fmt: skip
@out_dir_option("Report folder: index.html, metrics.json, metrics.csv, curves/, renders/.")
@click.option("--size", default=256, help="Long side the test photos are evaluated at.")
@click.option("--limit", type=int, help="Use only the first N test photos.")
@click.option(
    "--manifest", type=FILE,
    help="CSV with credits (default: manifest.csv or credits.csv in --test).",
)  # fmt: skip
@click.option(
    "--real-b", "real_b", type=DIR,
    help="Real shallow-DoF photos: FID/KID against them; with masks beside them, also their focus "
    "ratio.",
)  # fmt: skip
@click.option(
    "--realism", type=click.Choice(["inception", "random-conv"]), default="inception",
    help="Feature extractor for FID/KID (with --real-b).",
)  # fmt: skip
@click.option("--segmenter", default="selfie", help="dof-seg backend for photos without a mask.")
@click.option(
    "--score-segmenter", is_flag=True,
    help="Also run --segmenter on every photo and report its IoU against the masks.",
)  # fmt: skip
@click.option(
    "--baselines/--no-baselines", default=True,
    help="Include the box, Gaussian and lens smoothing baselines.",
)  # fmt: skip
@click.option("--smoothing", default=0.6, help="EMA weight of the curves.")
@click.option(
    "--generator", "generators", multiple=True, type=(str, FILE), metavar="LABEL FILE",
    help="An exported generator (.safetensors + .json) as a column named LABEL, with a 'LABEL + "
    "overlay' column where its preset uses the overlay (repeatable).",
)  # fmt: skip
@refine_option
@device_option
def report(
    run_dirs: tuple[Path, ...], test_dir: Path, out_dir: Path, size: int, limit: int | None,
    manifest: Path | None, real_b: Path | None, realism: str, segmenter: str, score_segmenter: bool,
    baselines: bool, smoothing: float, refine: str | None, device: str,
    generators: tuple[tuple[str, Path], ...] = (),
) -> None:  # fmt: skip
    """Curves, gallery and metrics of training runs and the smoothing baselines.

    RUN_DIRS are dof-train run folders (their generators G: A -> B are applied to the test
    photos, with the mask overlay too where the preset uses it). Writes OUT/index.html,
    OUT/metrics.json and OUT/metrics.csv.
    """
    import dof_eval
    import dof_gan

    device = resolve_device(device)
    lock_output(out_dir)
    runs = [dof_eval.read_run(d) for d in run_dirs]
    photos = dof_eval.find_photos(test_dir, manifest)[:limit]
    extractor = dof_eval.get_extractor(realism, device) if real_b is not None else None
    renderers = _smoothing(device, {k: {"method": v} for k, v in BASELINES.items() if baselines})
    labelled = [*((run.label, d) for run, d in zip(runs, run_dirs, strict=True)), *generators]
    maps: dict[str, Renderer] = {}  # defocus maps: shown, not scored
    for label, path in labelled:  # G alone and, where the preset uses it, with the overlay
        generator, info, prior = load_generator(path, device)
        renderers |= dof_gan.as_renderers(generator, label, overlay=info.overlay, prior=prior)
        if info.has_map:
            maps[f"{label} map"] = dof_gan.map_renderer(generator, prior=prior)
    renderers |= maps
    if not renderers:
        raise click.UsageError("nothing to show: give RUN_DIRS or leave --baselines on")
    segment = None
    if score_segmenter or any(p.mask is None for p in photos):
        segment = dof_eval.on_device(load_segmenter(segmenter, device, refine), device)
    batch = BatchReport()
    renders = dof_eval.render_columns(
        photos, renderers, out_dir / "renders", size=size, fallback_segmenter=segment,
        segmenters={segmenter: segment} if score_segmenter and segment else None,
        on_error=batch.fail, progress=lambda it: progress(it, desc="render", total=len(photos)),
        pictures=maps,
    )  # fmt: skip
    batch.done = len(renders.names)
    real = dof_eval.find_photos(real_b) if real_b else []
    files = dof_eval.build_report(
        out_dir, runs, renders, real_b=[p.image for p in real], extractor=extractor,
        extractor_name=realism if extractor else "",
        reference_photos=[p for p in real if p.mask], device=device, smoothing=smoothing,
    )  # fmt: skip
    if files.samples:  # the runs' sample grids at their first, middle and last sample
        click.echo(f"samples: {files.samples}")
    click.echo(f"report: {files.index}")
    batch.finish("photos in the report")


@click.command("paired-bench")
@click.option("--source", type=DIR, help="coco-person style folder: images/, masks/, manifest.csv.")
@click.option(
    "--paired", "paired_dir", type=DIR,
    help="Score an already-built benchmark instead of building one from --source (e.g. the "
    "held-out DATA/test/ of dof data synth; its own size and radius apply).",
)  # fmt: skip
@out_dir_option("Writes OUT/data/ (the benchmark) and OUT/paired.{json,csv,md}.")
@click.option("--n", default=24, help="Number of composites.")
@click.option("--size", default=256, help="Side of the square composites.")
@click.option("--radius", default=8.0, help="Truth's disk radius, pixels.")
@click.option("--seed", default=0)
@click.option("--methods", default="box,gaussian,lens", help="dof-smooth methods, comma-separated.")
@click.option("--composites", default="paste,halo_free", help="Compositing modes, comma-separated.")
@click.option(
    "--masks", "mask_sources", default="gt,selfie",
    help="Mask sources: gt (the benchmark's own mattes) and/or a dof-seg backend, optionally "
    "with its refinement (selfie:guided), each a row.",
)  # fmt: skip
@click.option("--band", default=6, help="Half-width of the boundary band.")
@click.option(
    "--method-radius", type=float,
    help="Radius given to every method (default: the truth's --radius).",
)  # fmt: skip
@click.option(
    "--generator", "generators", multiple=True, type=click.Path(exists=True, path_type=Path),
    help="A trained generator (run folder, .pt or exported .safetensors) scored as extra rows, "
    "with the mask overlay too where its preset uses it (repeatable).",
)  # fmt: skip
@click.option(
    "--all-scores", is_flag=True,
    help="Add subject PSNR (mask eroded by 3 px) and background PSNR to the table.",
)  # fmt: skip
@click.option(
    "--gallery", default=0,
    help="Also draw the first N items: input | truth | every method (true masks), as "
    "OUT/gallery/gallery.{html,png}.",
)  # fmt: skip
@refine_option
@click.option(
    "--docs", type=FILE, multiple=True,
    help="Also write the command and the table into this Markdown file, between its lines '<!-- "
    "begin generated: paired-bench -->' and '<!-- end generated: paired-bench -->' (repeatable).",
)  # fmt: skip
@click.option("--docs-block", default="paired-bench", help="Name of the generated block in --docs.")
@device_option
@click.pass_context
def paired_bench(
    ctx: click.Context, out_dir: Path, n: int, size: int, radius: float, seed: int, methods: str,
    composites: str, mask_sources: str, method_radius: float | None, band: int,
    docs: tuple[Path, ...], docs_block: str, refine: str | None, device: str,
    source: Path | None, paired_dir: Path | None, generators: tuple[Path, ...], all_scores: bool,
    gallery: int,
) -> None:  # fmt: skip
    """Build the paired benchmark (real people over real backgrounds, known defocus) and score
    every smoothing method x composite x mask source against it; prints a Markdown table.

    With --paired an existing benchmark is scored; --generator adds trained GANs as rows."""
    import dof_eval
    import dof_seg
    import dof_smooth

    if (source is None) == (paired_dir is None):
        raise click.UsageError("give exactly one of --source (build) or --paired (score as is)")
    device = resolve_device(device)
    chosen = _csv_list(methods, tuple(dof_smooth.METHODS), "--methods")
    modes = _csv_list(composites, ("paste", "halo_free"), "--composites")
    sources = _csv_list(mask_sources, ("gt", *dof_seg.source_names()), "--masks")
    lock_output(out_dir)
    if source is not None:
        config = dof_eval.PairedConfig(n=n, size=size, radius=radius, seed=seed)
        paired = dof_eval.load_paired(dof_eval.build_paired(source, out_dir / "data", config))
    else:
        paired = dof_eval.load_paired(paired_dir or "")
    r = paired.config.radius if method_radius is None else method_radius
    renderers: dict[str, Renderer] = {"none (input)": lambda x, m: x}
    grid = {f"{m} + {c}": {"method": m, "radius": r, "composite": c} for m in chosen for c in modes}
    renderers |= _smoothing(device, grid)
    gans: dict[str, Renderer] = {}
    maps: dict[str, Renderer] = {}  # defocus maps: gallery columns, not scored
    for g in generators:  # mask-free rows (G alone) and, where the preset uses it, the overlay
        columns, drawn = gan_renderers(g, g.name if g.is_dir() else g.stem, device)
        gans, maps = gans | columns, maps | drawn
    renderers |= gans
    mask_free = {"none (input)", *(label for label in gans if not label.endswith(" + overlay"))}
    masks = {
        k: None if k == "gt" else dof_eval.on_device(load_segmenter(k, device, refine), device)
        for k in sources
    }
    rows = dof_eval.run_paired(
        paired, renderers, masks, band=band, mask_free=mask_free,
        progress=lambda ids: progress(ids, desc="score", total=len(paired.ids)),
    )  # fmt: skip
    if gallery:
        dof_eval.paired_gallery(paired, renderers | maps, out_dir / "gallery", n=gallery)
    as_built = () if source else ("n", "size", "radius", "seed")  # --paired: its own config
    table = dof_eval.write_paired_results(
        rows, out_dir, table_scores=dof_eval.SCORES if all_scores else dof_eval.TABLE_SCORES,
        docs=docs, docs_block=docs_block, config=asdict(paired.config), method_radius=r,
        band=band, generators=[str(g) for g in generators],
        command=command_line(ctx, skip=("docs", "docs_block", "device", *as_built)),
    )  # fmt: skip
    click.echo(table, nl=False)
