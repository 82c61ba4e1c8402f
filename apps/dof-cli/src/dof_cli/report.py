"""`dof report` and `dof paired-bench`: where the models meet dof-eval.

    dof report RUN_DIRS... --test DIR -o report/ [--real-b DIR] [--realism inception]
    dof paired-bench --source ../shared/data/coco-person -o paired/ [--masks gt,selfie]

Wiring only: this module turns the smoothing baselines (dof_smooth), the segmenters (dof_seg)
and the trained generators (dof_gan) into plain callables and hands them to dof_eval, which
renders, scores and writes everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dof_cli.common import (
    BatchReport,
    device_option,
    lock_output,
    out_dir_option,
    progress,
    refine_option,
    resolve_device,
)

if TYPE_CHECKING:
    import torch
    from torch import Tensor

    Renderer = Callable[[Tensor, Tensor], Tensor]

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


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the packages' typed errors (bad folders, runs, weights) into one-line CLI errors."""
    import dof_eval
    import dof_gan
    import dof_io
    import dof_seg

    try:
        yield
    except (
        dof_eval.DofEvalError,
        dof_gan.DofGanError,
        dof_seg.DofSegError,
        dof_io.DofIOError,
    ) as e:
        raise click.ClickException(str(e)) from e


def _on(device: str, fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """Run ``fn`` with every tensor argument moved to ``device``; bring the result to the CPU."""

    def call(*tensors: Tensor) -> Tensor:
        return fn(*(t.to(device) for t in tensors)).float().cpu()

    return call


def _baselines(device: str, **options: Any) -> dict[str, Renderer]:
    import dof_smooth

    return {
        label: _on(
            device, lambda x, m, method=method: dof_smooth.portrait_blur(x, m, method, **options)
        )
        for label, method in BASELINES.items()
    }


def _generators(run_dirs: tuple[Path, ...], device: str) -> dict[str, Renderer]:
    import dof_eval
    import dof_gan

    renderers: dict[str, Renderer] = {}
    for run_dir in run_dirs:
        run = dof_eval.read_run(run_dir)
        G = dof_gan.load_generator(run_dir, direction="AtoB", device=device)
        renderers[run.label] = _on(device, lambda x, m, G=G: dof_gan.translate(G, x))
        if run.overlay or run.overlay_at_test:
            renderers[f"{run.label} + overlay"] = _on(
                device, lambda x, m, G=G: dof_gan.translate(G, x, mask=m, overlay=True)
            )
    return renderers


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("run_dirs", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--test",
    "test_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Test photos: DIR/images + DIR/masks (coco-person), DIR/testA + maskA, or "
    "photos with RGBA masks.",
)
@out_dir_option("Report folder: index.html, metrics.json, metrics.csv, curves/, renders/.")
@click.option(
    "--size", default=256, show_default=True, help="Long side the test photos are evaluated at."
)
@click.option("--limit", type=int, help="Use only the first N test photos.")
@click.option(
    "--manifest",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with credits (default: manifest.csv or credits.csv in --test).",
)
@click.option(
    "--real-b",
    "real_b",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Real shallow-DoF photos: FID/KID against them; with masks beside them, "
    "also their focus ratio.",
)
@click.option(
    "--realism",
    type=click.Choice(["inception", "random-conv"]),
    default="inception",
    show_default=True,
    help="Feature extractor for FID/KID (with --real-b).",
)
@click.option(
    "--segmenter",
    default="selfie",
    show_default=True,
    help="dof-seg backend for photos without a mask.",
)
@click.option(
    "--score-segmenter",
    is_flag=True,
    help="Also run --segmenter on every photo and report its IoU against the masks.",
)
@click.option(
    "--baselines/--no-baselines",
    default=True,
    show_default=True,
    help="Include the box, Gaussian and lens smoothing baselines.",
)
@click.option("--smoothing", default=0.6, show_default=True, help="EMA weight of the curves.")
@click.option(
    "--generator",
    "generators",
    multiple=True,
    type=(str, click.Path(exists=True, dir_okay=False, path_type=Path)),
    metavar="LABEL FILE",
    help="An exported generator (.safetensors + .json) as a column named LABEL, with a "
    "'LABEL + overlay' column where its preset uses the overlay (repeatable).",
)
@refine_option
@device_option
def report(
    run_dirs: tuple[Path, ...],
    test_dir: Path,
    out_dir: Path,
    size: int,
    limit: int | None,
    manifest: Path | None,
    real_b: Path | None,
    realism: str,
    segmenter: str,
    score_segmenter: bool,
    baselines: bool,
    smoothing: float,
    refine: str | None,
    device: str,
    generators: tuple[tuple[str, Path], ...] = (),
) -> None:
    """Curves, gallery and metrics of training runs and the smoothing baselines.

    RUN_DIRS are dof-train run folders (their generators G: A -> B are applied to the test
    photos, with the mask overlay too where the preset uses it). Writes OUT/index.html,
    OUT/metrics.json and OUT/metrics.csv.
    """
    import dof_eval
    import dof_seg

    with _user_errors():
        device = resolve_device(device)
        lock_output(out_dir)
        runs = [dof_eval.read_run(d) for d in run_dirs]
        photos = dof_eval.find_photos(test_dir, manifest)[:limit]
        extractor = None
        if real_b is not None:
            extractor = dof_eval.get_extractor(realism, device)
        renderers = {**(_baselines(device) if baselines else {}), **_generators(run_dirs, device)}
        for label, path in generators:
            renderers.update(_exported(label, path, device))
        if not renderers:
            raise click.UsageError("nothing to show: give RUN_DIRS or leave --baselines on")
        segment = None
        if score_segmenter or any(p.mask is None for p in photos):
            segment = _on(device, dof_seg.get_segmenter(segmenter, device=device, refine=refine))
        batch = BatchReport()
        renders = dof_eval.render_columns(
            photos,
            renderers,
            out_dir / "renders",
            size=size,
            fallback_segmenter=segment,
            segmenters={segmenter: segment} if score_segmenter and segment else None,
            on_error=batch.fail,
            progress=lambda items: progress(items, desc="render", total=len(photos)),
        )
        batch.done = len(renders.names)
        reference = [p for p in dof_eval.find_photos(real_b) if p.mask] if real_b else []
        files = dof_eval.build_report(
            out_dir,
            runs,
            renders,
            real_b=[p.image for p in dof_eval.find_photos(real_b)] if real_b else [],
            extractor=extractor,
            extractor_name=realism if extractor else "",
            reference_photos=reference,
            device=device,
            smoothing=smoothing,
        )
        sampled = [d for d in run_dirs if dof_eval.sample_steps(d)]
        if sampled:  # the runs' sample grids at their first, middle and last sample
            sheet = dof_eval.sample_progression(sampled, out_dir / "samples.png")
            click.echo(f"samples: {sheet}")
    click.echo(f"report: {files.index}")
    batch.finish("photos in the report")


@click.command("paired-bench", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--source",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="coco-person style folder: images/, masks/, manifest.csv.",
)
@click.option(
    "--paired",
    "paired_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Score an already-built benchmark instead of building one from --source (e.g. the "
    "held-out DATA/test/ of dof data synth; its own size and radius apply).",
)
@click.option(
    "--generator",
    "generators",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A trained generator (run folder, .pt or exported .safetensors) scored as extra "
    "rows, with the mask overlay too where its preset uses it (repeatable).",
)
@click.option(
    "--gallery",
    default=0,
    show_default=True,
    help="Also draw the first N items: input | truth | every method (true masks), as "
    "OUT/gallery/gallery.{html,png}.",
)
@click.option(
    "--all-scores",
    is_flag=True,
    help="Add subject PSNR (mask eroded by 3 px) and background PSNR to the table.",
)
@out_dir_option("Writes OUT/data/ (the benchmark) and OUT/paired.{json,csv,md}.")
@click.option("--n", default=24, show_default=True, help="Number of composites.")
@click.option("--size", default=256, show_default=True, help="Side of the square composites.")
@click.option("--radius", default=8.0, show_default=True, help="Truth's disk radius, pixels.")
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--methods",
    default="box,gaussian,lens",
    show_default=True,
    help="dof-smooth methods, comma-separated.",
)
@click.option(
    "--composites",
    default="paste,halo_free",
    show_default=True,
    help="Compositing modes, comma-separated.",
)
@click.option(
    "--masks",
    "mask_sources",
    default="gt,selfie",
    show_default=True,
    help="Mask sources: gt (the benchmark's own mattes) and/or a dof-seg backend.",
)
@click.option(
    "--method-radius",
    type=float,
    help="Radius given to every method (default: the truth's --radius).",
)
@click.option("--band", default=6, show_default=True, help="Half-width of the boundary band.")
@click.option(
    "--docs",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also write the command and the table into this Markdown file, between its lines "
    "'<!-- begin generated: paired-bench -->' and '<!-- end generated: paired-bench -->'.",
)
@click.option(
    "--docs-block",
    default="paired-bench",
    show_default=True,
    help="Name of the generated block in --docs.",
)
@refine_option
@device_option
def paired_bench(
    out_dir: Path,
    n: int,
    size: int,
    radius: float,
    seed: int,
    methods: str,
    composites: str,
    mask_sources: str,
    method_radius: float | None,
    band: int,
    docs: Path | None,
    docs_block: str,
    refine: str | None,
    device: str,
    source: Path | None,
    paired_dir: Path | None,
    generators: tuple[Path, ...],
    all_scores: bool,
    gallery: int,
) -> None:
    """Build the paired benchmark (real people over real backgrounds, known defocus) and score
    every smoothing method x composite x mask source against it; prints a Markdown table.

    With --paired an existing benchmark is scored; --generator adds trained GANs as rows."""
    import dof_eval
    import dof_seg
    import dof_smooth

    if (source is None) == (paired_dir is None):
        raise click.UsageError("give exactly one of --source (build) or --paired (score as is)")
    with _user_errors():
        device = resolve_device(device)
        lock_output(out_dir)
        chosen = _csv_list(methods, tuple(dof_smooth.METHODS), "--methods")
        modes = _csv_list(composites, ("paste", "halo_free"), "--composites")
        sources = _csv_list(mask_sources, ("gt", *dof_seg.SEGMENTERS), "--masks")
        if paired_dir is None:
            assert source is not None
            config = dof_eval.PairedConfig(n=n, size=size, radius=radius, seed=seed)
            paired = dof_eval.load_paired(dof_eval.build_paired(source, out_dir / "data", config))
        else:
            paired = dof_eval.load_paired(paired_dir)
            config = dof_eval.PairedConfig(**paired.info["config"])
            radius, n = config.radius, len(paired.ids)
        r = radius if method_radius is None else method_radius
        renderers: dict[str, Renderer] = {"none (input)": lambda x, m: x}
        for method in chosen:
            for mode in modes:
                renderers[f"{method} + {mode}"] = _on(
                    device,
                    lambda x, m, method=method, mode=mode: dof_smooth.portrait_blur(
                        x, m, method, r, mode
                    ),
                )
        gans, mask_free = _paired_generators(generators, device)
        renderers.update(gans)
        mask_free.add("none (input)")
        masks = {
            k: None
            if k == "gt"
            else _on(device, dof_seg.get_segmenter(k, device=device, refine=refine))
            for k in sources
        }
        rows = dof_eval.run_paired(
            paired,
            renderers,
            masks,
            band=band,
            progress=lambda ids: progress(ids, desc="score", total=n),
            mask_free=mask_free,
        )
        if gallery:
            dof_eval.paired_gallery(paired, renderers, out_dir / "gallery", n=gallery)
        where = (
            f"--paired {paired_dir} -o {out_dir}"
            if paired_dir is not None
            else f"--source {source} -o {out_dir} --n {n} --size {size} --radius {radius:g} "
            f"--seed {seed}"
        )
        command = (
            f"dof paired-bench {where} --methods {','.join(chosen)} "
            f"--composites {','.join(modes)} --masks {','.join(sources)} --band {band}"
            + ("" if method_radius is None else f" --method-radius {method_radius:g}")
            + "".join(f" --generator {g}" for g in generators)
            + (" --all-scores" if all_scores else "")
            + (f" --gallery {gallery}" if gallery else "")
            + ("" if refine is None else f" --refine {refine}")
        )
        table_scores = dof_eval.TABLE_SCORES if not all_scores else dof_eval.SCORES
        dof_eval.write_paired_results(
            rows, out_dir, table_scores=table_scores, config=asdict(config), method_radius=r,
            band=band, command=command, versions=_versions("torch", "numpy", "pillow", "scipy"),
            generators=[str(g) for g in generators],
        )  # fmt: skip
        table = dof_eval.paired_markdown(rows, table_scores)
        if docs is not None:
            block = f"```bash\n{command}\n```\n\n{table}"
            dof_eval.write_block(docs, docs_block, block)
    click.echo(table, nl=False)


def _versions(*names: str) -> dict[str, str]:
    """Installed versions of the libraries the benchmark's numbers depend on."""
    from importlib.metadata import version

    return {name: version(name) for name in names}


def _exported(label: str, path: Path, device: str) -> dict[str, Renderer]:
    import dof_gan

    G, info = dof_gan.load_generator_with_info(path, direction="AtoB", device=device)
    overlay = info.overlay_at_test or info.preset in ("mask-overlay", "combined")
    return gan_renderers(label, G, overlay=overlay, device=device)


def _paired_generators(
    paths: tuple[Path, ...], device: str
) -> tuple[dict[str, Renderer], set[str]]:
    """GAN rows for every generator file or run folder (see :func:`gan_renderers`)."""
    renderers: dict[str, Renderer] = {}
    for path in paths:
        renderers.update(
            _exported(f"GAN {path.name if path.is_dir() else path.stem}", path, device)
        )
    return renderers, {label for label in renderers if not label.endswith(" + overlay")}


def gan_renderers(
    label: str, G: torch.nn.Module, *, overlay: bool, device: str
) -> dict[str, Renderer]:
    """``label`` (raw G(x), mask-free) and, with ``overlay``, ``label + overlay`` (eq. 13)."""
    import dof_gan

    renderers = {label: _on(device, lambda x, m: dof_gan.translate(G, x))}
    if overlay:
        renderers[f"{label} + overlay"] = _on(
            device, lambda x, m: dof_gan.translate(G, x, mask=m, overlay=True)
        )
    return renderers
