"""The evaluation report: ``index.html`` with curves, gallery and metrics, plus JSON and CSV.

:func:`build_report` takes run folders (for the curves), a render folder (for the gallery and
the per-image metrics) and, optionally, real domain-B photos and a feature extractor (for FID and
KID) and real shallow-DoF photos with masks (for the reference focus ratio).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from dof_eval.curves import fig15_cycle_loss, fig16_mask_loss, plot_loss_grid
from dof_eval.errors import DofEvalError
from dof_eval.evaluate import (
    DEFINITIONS,
    IMAGE_METRICS,
    Metrics,
    reference_focus_ratio,
    score_realism,
    score_renders,
    write_metrics,
)
from dof_eval.gallery import (
    STYLE,
    contact_sheet,
    gallery_from_renders,
    gallery_table_html,
    html_page,
    write_gallery,
)
from dof_eval.logs import RunLog
from dof_eval.photos import EvalPhoto
from dof_eval.realism import FeatureExtractor
from dof_eval.render import RenderSet
from dof_eval.samples import sample_progression, sample_steps
from dof_io import atomic_write_text

REPORT_STYLE = (
    STYLE
    + """
body { max-width: 110rem; }
h2 { margin-top: 2rem; border-bottom: 1px solid #ddd; }
table.numbers { border-collapse: collapse; }
table.numbers td, table.numbers th { padding: .25rem .6rem; border-bottom: 1px solid #eee;
  text-align: right; font-size: .9rem; }
table.numbers td:first-child, table.numbers th:first-child { text-align: left; }
figure { display: inline-block; margin: .5rem; }
figure img { max-width: 640px; }
table.gallery img { max-width: 200px; max-height: 200px; }
.note { color: #555; font-size: .9rem; }
"""
)


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`build_report` wrote."""

    index: Path
    metrics_json: Path
    metrics_csv: Path
    gallery: Path
    contact_sheet: Path
    curves: tuple[Path, ...]
    metrics: Metrics
    samples: Path | None = None


def fmt(value: float | None) -> str:
    """A number for a table: 3 significant digits, '∞' for +inf, '—' for missing."""
    if value is None or math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def _curves_html(curves: Sequence[Path], out_dir: Path) -> str:
    figures = []
    for png in (c for c in curves if c.suffix == ".png"):
        rel = html.escape(png.relative_to(out_dir).as_posix(), quote=True)
        svg = html.escape(png.with_suffix(".svg").relative_to(out_dir).as_posix(), quote=True)
        figures.append(
            f'<figure><img src="{rel}" alt="{html.escape(png.stem)}">'
            f'<figcaption><a href="{svg}">SVG</a></figcaption></figure>'
        )
    return "\n".join(figures) or '<p class="note">No training runs given.</p>'


def _runs_html(runs: Sequence[RunLog]) -> str:
    if not runs:
        return ""
    head = (
        "run",
        "preset",
        "overlay",
        "steps logged",
        "last step",
        "last epoch",
        "cycle",
        "mask",
        "skipped lines",
    )
    rows = []
    for run in runs:
        last = {t: run.series(t)[-1] for t in ("cycle", "mask")}
        cells = (
            run.name,
            run.preset or "?",
            "yes" if run.overlay else "no",
            str(len(run.steps)),
            f"{run.steps[-1]:.0f}",
            fmt(float(run.epochs[-1])),
            fmt(float(last["cycle"])),
            fmt(float(last["mask"])),
            str(run.skipped_lines),
        )
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return f'<table class="numbers"><tr>{header}</tr>{"".join(rows)}</table>'


def metrics_table_html(metrics: Metrics) -> str:
    """Means per method as an HTML table, with each metric's definition as a tooltip."""
    means = metrics.means()
    shown = [m for m in (*IMAGE_METRICS, "fid", "kid") if any(m in v for v in means.values())]
    header = "".join(
        f'<th title="{html.escape(DEFINITIONS[m][0], quote=True)}">{html.escape(m)}<br>'
        f"<small>({html.escape(DEFINITIONS[m][1])})</small></th>"
        for m in shown
    )
    rows = []
    for column, values in means.items():
        cells = "".join(f"<td>{fmt(values.get(m))}</td>" for m in shown)
        rows.append(f"<tr><td>{html.escape(column)}</td>{cells}</tr>")
    table = f'<table class="numbers"><tr><th>method</th>{header}</tr>{"".join(rows)}</table>'
    if metrics.segmentation:
        ious = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{fmt(v)}</td></tr>"
            for k, v in metrics.iou_means().items()
        )
        table += (
            f'<h3>Segmentation</h3><table class="numbers"><tr><th>segmenter</th>'
            f"<th>mean IoU</th></tr>{ious}</table>"
        )
    if metrics.reference:
        refs = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{fmt(v)}</td></tr>"
            for k, v in metrics.reference.items()
        )
        table += f'<h3>Real shallow-DoF photos</h3><table class="numbers">{refs}</table>'
    notes = "".join(
        f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in metrics.notes.items()
    )
    definitions = "".join(
        f"<li><b>{html.escape(k)}</b> ({html.escape(b)} is better): {html.escape(d)}</li>"
        for k, (d, b) in DEFINITIONS.items()
    )
    return (
        f"{table}<ul class='note'>{notes}</ul><h3>Definitions</h3><ul class='note'>"
        f"{definitions}</ul>"
    )


def build_report(
    out_dir: str | Path,
    runs: Sequence[RunLog],
    renders: RenderSet,
    *,
    real_b: Sequence[Path] = (),
    extractor: FeatureExtractor | None = None,
    extractor_name: str = "",
    reference_photos: Sequence[EvalPhoto] = (),
    device: str | torch.device = "cpu",
    smoothing: float = 0.6,
    title: str = "dof evaluation report",
) -> ReportFiles:
    """Compute every metric and write ``index.html``, ``metrics.json`` and ``metrics.csv``.

    Args:
        out_dir: the report folder; ``renders`` should lie inside it so links stay relative.
        runs: training logs for the curves (may be empty).
        renders: the render folder to show and score.
        real_b: real domain-B photos for FID/KID (skipped, with a note, when fewer than 2).
        extractor: the feature extractor for FID/KID (skipped, with a note, when None).
        extractor_name: its name, recorded with the numbers.
        reference_photos: real shallow-DoF photos with masks, for the reference focus ratio.
        device: where the extractor runs.
        smoothing: EMA weight of the curves.
        title: the page title.
    """
    out_dir = Path(out_dir)
    curves: list[Path] = []
    if runs:
        curve_dir = out_dir / "curves"
        curves += fig15_cycle_loss(runs, curve_dir, smoothing=smoothing)
        curves += fig16_mask_loss(runs, curve_dir, smoothing=smoothing)
        curves += plot_loss_grid(runs, curve_dir / "all_losses", smoothing=smoothing)
    sampled = [run.path for run in runs if sample_steps(run.path)]
    samples = sample_progression(sampled, out_dir / "samples.png") if sampled else None
    metrics = score_renders(renders)
    if extractor is not None and len(real_b) >= 2:
        metrics.realism = score_realism(renders, real_b, extractor, device=device)
        metrics.notes["realism"] = (
            f"FID/KID with the {extractor_name or 'given'} extractor "
            f"against {len(real_b)} real domain-B photos"
        )
    else:
        metrics.notes["realism"] = (
            "FID/KID not measured: give at least 2 real domain-B photos and a feature extractor"
        )
    if reference_photos:
        try:
            metrics.reference = reference_focus_ratio(reference_photos, renders.size)
        except DofEvalError as error:
            metrics.notes["reference"] = str(error)
    gallery = gallery_from_renders(renders)
    sheet = contact_sheet(gallery, out_dir / "contact_sheet.png")
    gallery_page = write_gallery(gallery, out_dir / "gallery.html", title=f"{title}: gallery")
    json_path, csv_path = write_metrics(
        metrics,
        out_dir,
        runs=[{"name": r.name, "preset": r.preset, "path": str(r.path)} for r in runs],
        photos=list(renders.names),
        extractor=extractor_name or None,
    )
    body = "\n".join(
        [
            '<p class="note">Numbers: <a href="metrics.json">metrics.json</a> · '
            '<a href="metrics.csv">metrics.csv</a> · <a href="gallery.html">gallery alone</a> · '
            '<a href="contact_sheet.png">contact sheet</a></p>',
            "<h2>Training curves</h2>",
            _runs_html(runs),
            _curves_html(curves, out_dir),
            '<figure><img src="samples.png" alt="samples"><figcaption>Each run\'s samples at '
            "its first, middle and last sample step</figcaption></figure>"
            if samples
            else "",
            "<h2>Metrics (means over the test photos)</h2>",
            metrics_table_html(metrics),
            "<h2>Gallery</h2>",
            gallery_table_html(gallery, out_dir),
        ]
    )
    index = out_dir / "index.html"
    atomic_write_text(index, html_page(title, body, style=REPORT_STYLE))
    return ReportFiles(
        index, json_path, csv_path, gallery_page, sheet, tuple(curves), metrics, samples
    )
