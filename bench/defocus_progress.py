"""Held-out PSNR of defocus-generator runs against CPU-minutes, beside the paper's models.

    uv run python bench/defocus_progress.py --paired synth128/test \
        --run "defocus + selfie=runs/def-selfie-ema:1521" \
        --run "defocus, photo only=runs/def-none-ema:1400" \
        --paper docs/results.md --out docs/results/defocus128 \
        [--docs docs/results.md --docs-block defocus-progress]

Each ``--run LABEL=RUN_DIR:CPU_SECONDS`` is a dof-train run folder with its epoch checkpoints
(``checkpoints/epoch_*.pt``, and ``last.pt``) and the CPU-seconds the whole run took
(``/usr/bin/time``'s user + system); a checkpoint at step s is placed at
``s / last_step * CPU_SECONDS`` (the runs are one thread each, so wall time, inflated by
whatever else the machine ran, is not used). Every checkpoint's G is scored on the held-out
paired items with dof-eval's scorer (true mattes define the regions; the generator gets the
photo alone and runs its own segmenter where it has one); a run that keeps an average of G's
weights (``--ema-images``) is scored twice, the average and G as trained. The paper's four
models come from the ``gan-progress`` block of ``--paper`` (overall PSNR per step) at their measured
1.15 CPU-seconds per step (docs/results.md). Writes ``defocus_progress.{json,png,svg}`` and a
Markdown table (printed and, with ``--docs``, written into the block).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import torch
from matplotlib.figure import Figure

import dof_eval
import dof_gan
import dof_seg
from dof_eval import write_block

#: measured cost of a paper-model step at 128 px, bf16, one thread (docs/results.md)
PAPER_CPU_SECONDS_PER_STEP = 1.15
SCORES = ("psnr", "psnr_band", "psnr_subject", "psnr_background")


def paper_series(results: Path, block: str = "gan-progress") -> dict[str, dict[int, float]]:
    """run -> step -> overall PSNR, read from the generated table of ``results``."""
    text = results.read_text(encoding="utf-8")
    body = text.split(f"<!-- begin generated: {block} -->")[1].split("<!-- end generated")[0]
    lines = [line for line in body.splitlines() if line.startswith("|")]
    steps = [int(s) for s in re.findall(r"step (\d+)", lines[0])]
    series = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        series[f"paper {cells[0]}"] = {s: float(v) for s, v in zip(steps, cells[1:], strict=True)}
    return series


def checkpoints(run: Path) -> list[Path]:
    """The run's epoch checkpoints and its last one, each once, by step."""
    found = {}
    for path in [*sorted((run / "checkpoints").glob("epoch_*.pt")), run / "checkpoints/last.pt"]:
        if path.is_file():
            state = torch.load(path, map_location="cpu", weights_only=True)
            found[int(state["step"])] = path
    return [found[step] for step in sorted(found)]


def score_run(
    paired: dof_eval.PairedSet, run: Path, *, average: bool = True
) -> tuple[dict[int, dict[str, float]], bool]:
    """step -> mean scores of the run's G at each checkpoint (its weight average where the run
    keeps one, unless ``average`` is false), and whether an average was scored."""
    scores, averaged = {}, False
    for path in checkpoints(run):
        generator, info = dof_gan.load_generator_with_info(path, average=average)
        prior = dof_seg.get_segmenter(info.prior) if info.prior else None
        renderers = dof_gan.as_renderers(generator, "G", overlay=False, prior=prior)
        rows = dof_eval.run_paired(paired, renderers, {"gt": None}, mask_free={"G"})
        step = int(info.step or 0)
        scores[step] = {key: rows[0][key] for key in SCORES}
        print(f"{run.name} step {step}, averaged {info.averaged}: {scores[step]}")
        averaged |= info.averaged
    return scores, averaged


def plot(runs: dict[str, dict[float, float]], references: dict[str, float], stem: Path) -> None:
    figure = Figure(figsize=(7.5, 4.2))
    ax = figure.subplots()
    for i, (label, points) in enumerate(runs.items()):
        xs = sorted(points)
        style = "--" if label.startswith("paper") else ":" if label.endswith("trained") else "-"
        ax.plot(xs, [points[x] for x in xs], style, marker="o", ms=3, color=f"C{i % 10}",
                label=label)  # fmt: skip
    for style, (name, value) in zip((":", "-.", (0, (5, 1))), references.items(), strict=False):
        ax.axhline(value, color="grey", linestyle=style, linewidth=1, label=name)
    ax.set_xlabel("CPU-minutes of training (one thread)")
    ax.set_ylabel("overall PSNR on the held-out items (dB)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    figure.tight_layout()
    for suffix in (".png", ".svg"):
        figure.savefig(stem.with_suffix(suffix), dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paired", type=Path, required=True, help="held-out paired items")
    parser.add_argument("--run", action="append", required=True, help="LABEL=RUN_DIR:CPU_SECONDS")
    parser.add_argument("--paper", type=Path, help="results page with the gan-progress block")
    parser.add_argument("--reference", action="append", default=[], help="LABEL=PSNR (a line)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--docs", type=Path)
    parser.add_argument("--docs-block", default="defocus-progress")
    args = parser.parse_args()
    torch.set_num_threads(1)
    paired = dof_eval.load_paired(args.paired)
    curves: dict[str, dict[float, float]] = {}
    measured: dict[str, Any] = {}
    for spec in args.run:
        label, rest = spec.split("=", 1)
        folder, cpu = rest.rsplit(":", 1)
        # a run with a weight average: the average (what it exports), then G as trained
        scores, averaged = score_run(paired, Path(folder))
        variants = {label: scores}
        if averaged:
            raw, _ = score_run(paired, Path(folder), average=False)
            variants = {f"{label}, average": scores, f"{label}, G as trained": raw}
        for name, scores in variants.items():
            per_step = float(cpu) / max(scores)
            curves[name] = {step * per_step / 60: s["psnr"] for step, s in scores.items()}
            measured[name] = {"run": folder, "cpu_seconds": float(cpu),
                              "cpu_seconds_per_step": per_step,
                              "scores": {str(k): v for k, v in scores.items()}}  # fmt: skip
    if args.paper:
        for label, points in paper_series(args.paper).items():
            if not label.endswith("+ overlay"):
                curves[label] = {s * PAPER_CPU_SECONDS_PER_STEP / 60: v for s, v in points.items()}
    references = {r.split("=")[0]: float(r.split("=")[1]) for r in args.reference}
    args.out.mkdir(parents=True, exist_ok=True)
    plot(curves, references, args.out / "defocus_progress")
    (args.out / "defocus_progress.json").write_text(json.dumps(measured, indent=2) + "\n")
    lines = ["| run | step | CPU-min | PSNR | band | subject | background |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for label, info in measured.items():
        for step, s in info["scores"].items():
            cpu_min = int(step) * info["cpu_seconds_per_step"] / 60
            cells = [f"{s[k]:.2f}" if s[k] is not None else "∞" for k in SCORES]
            lines.append(f"| {label} | {step} | {cpu_min:.1f} | " + " | ".join(cells) + " |")
    body = (f"Held-out PSNR (dB, {len(paired.ids)} items, true mattes for the regions) of each "
            "run's G at its checkpoints, against the CPU time of its training:\n\n"
            + "\n".join(lines) + "\n")  # fmt: skip
    print(body)
    if args.docs:
        write_block(args.docs, args.docs_block, body)


if __name__ == "__main__":
    main()
