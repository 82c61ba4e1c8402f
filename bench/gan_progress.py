"""The GAN runs scored at several points of training: scores against step, and an image grid.

    uv run dof paired-bench --paired synth128/test -o progress/ --methods lens --masks gt \
        --gallery 4 --generator snap/cyclegan.step500.pt --generator snap/cyclegan.step1000.pt ...
    uv run python bench/gan_progress.py progress/ --out docs/results/gan128 \
        [--docs docs/results.md --docs-block gan-progress]

The generators' file names say what they are: ``<run>.step<N>.pt`` (checkpoint copies taken
while the runs trained), so that ``dof paired-bench`` labels their rows ``GAN <run>.step<N>``
(and ``GAN <run>.step<N> + overlay`` for the presets that paste the subject back). From the
benchmark's ``paired.json`` and ``gallery/`` this writes:

- ``gan_progress.png``/``.svg``: overall, subject and background PSNR against step, one line per
  run (dashed: with the overlay), the unchanged input and lens + halo-free as references (where
  they are below 40 dB);
- ``gan_progress_grid.jpg``: input, truth, then every run at every step on the gallery's items;
- a Markdown table (overall PSNR per run and step), printed and, with ``--docs``, written
  between the block's markers.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from dof_eval import Gallery, GalleryRow, contact_sheet, write_block
from dof_eval.render import slug

LABEL = re.compile(r"^GAN (?P<run>[\w-]+)\.step(?P<step>\d+)(?P<overlay> \+ overlay)?$")
PANELS = (("psnr", "overall PSNR (dB)"), ("psnr_subject", "subject PSNR (dB)"),
          ("psnr_background", "background PSNR (dB)"))  # fmt: skip
REFERENCES = ("none (input)", "lens + halo_free")
REFERENCE_CEILING = 40.0  # dB: a reference above it (the lens's 60 dB background) flattens the plot

#: (run, with overlay) -> step -> row of paired.json
Series = dict[tuple[str, bool], dict[int, dict[str, Any]]]


def read_series(paired: dict[str, Any], masks: str = "gt") -> tuple[Series, dict[str, Any]]:
    """Split the benchmark's rows into the GAN series and the reference rows."""
    series: Series = defaultdict(dict)
    references = {}
    for row in paired["rows"]:
        if row["masks"] != masks:
            continue
        match = LABEL.match(row["method"])
        if match:
            series[match["run"], bool(match["overlay"])][int(match["step"])] = row
        elif row["method"] in REFERENCES:
            references[row["method"]] = row
    if not series:
        raise SystemExit("no row is labelled 'GAN <run>.step<N>': name the checkpoints so")
    return dict(series), references


def plot(series: Series, references: dict[str, Any], stem: Path) -> None:
    """Three panels of PSNR against step, written as PNG and SVG."""
    figure = Figure(figsize=(12.0, 3.8))
    axes = figure.subplots(1, len(PANELS))
    colours = {run: f"C{i}" for i, run in enumerate(sorted({r for r, _ in series}))}
    for ax, (score, title) in zip(axes, PANELS, strict=True):
        for (run, overlay), rows in sorted(series.items()):
            steps = sorted(rows)
            values = [rows[s][score] for s in steps]
            if all(v is None for v in values):  # paired.json writes infinity as null
                continue  # the overlay keeps the subject exact: nothing to draw
            label = f"{run} + overlay" if overlay else run
            style = "--" if overlay else "-"
            ax.plot(steps, values, style, marker="o", ms=3, color=colours[run], label=label)
        for style, name in zip((":", "-."), REFERENCES, strict=True):
            value = references.get(name, {}).get(score)
            if value is not None and value <= REFERENCE_CEILING:
                ax.axhline(value, color="grey", linestyle=style, linewidth=1, label=name)
        ax.set_title(title)
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    for suffix in (".png", ".svg"):
        figure.savefig(stem.with_suffix(suffix), dpi=110)


def grid(series: Series, gallery: Path, out: Path, *, overlay: bool) -> None:
    """Rows: input, truth, then each run at each step; columns: the gallery's items."""
    items = sorted(p.stem for p in (gallery / "input").glob("*.png"))
    rows = [GalleryRow(name, {i: gallery / name / f"{i}.png" for i in items})
            for name in ("input", "truth")]  # fmt: skip
    for (run, with_overlay), steps in sorted(series.items()):
        if with_overlay != overlay and (run, not with_overlay) in series:
            continue
        for step in sorted(steps):
            label = f"GAN {run}.step{step}{' + overlay' if with_overlay else ''}"
            folder = gallery / slug(label)
            name = f"{run} {step}{' +ov' if with_overlay else ''}"
            rows.append(GalleryRow(name, {i: folder / f"{i}.png" for i in items}))
    contact_sheet(Gallery(tuple(items), tuple(rows)), out, cell=96, label_width=130)


def table(series: Series, score: str = "psnr") -> str:
    """Markdown: one row per run (raw G and + overlay), one column per step."""
    steps = sorted({s for rows in series.values() for s in rows})
    lines = ["| run | " + " | ".join(f"step {s}" for s in steps) + " |",
             "| --- |" + " ---: |" * len(steps)]  # fmt: skip
    for (run, overlay), rows in sorted(series.items()):
        cells = [_cell(rows[s][score]) if s in rows else "" for s in steps]
        lines.append(f"| {run}{' + overlay' if overlay else ''} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: float | None) -> str:
    return "∞" if value is None else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bench", type=Path, help="a dof paired-bench output folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for the figures")
    parser.add_argument("--docs", type=Path, help="Markdown file with the block's markers")
    parser.add_argument("--docs-block", default="gan-progress")
    args = parser.parse_args()
    paired = json.loads((args.bench / "paired.json").read_text())
    series, references = read_series(paired)
    args.out.mkdir(parents=True, exist_ok=True)
    plot(series, references, args.out / "gan_progress")
    if (args.bench / "gallery" / "input").is_dir():
        grid(series, args.bench / "gallery", args.out / "gan_progress_grid.jpg", overlay=False)
    body = (f"Overall PSNR (dB, true masks) of each run's G on the {paired['rows'][0]['n']} "
            f"held-out items; from `{paired['command']}`:\n\n{table(series)}")  # fmt: skip
    print(body)
    if args.docs:
        write_block(args.docs, args.docs_block, body)


if __name__ == "__main__":
    main()
