"""Training curves from run logs: any loss term over steps or epochs, several runs overlaid.

Figures are drawn with matplotlib's object API on the Agg canvas (no pyplot, no global state, no
display needed) and written as PNG (for pages) and SVG (for papers), atomically.

The paper's two curve figures are :func:`fig15_cycle_loss` (cycle-consistency loss of each model)
and :func:`fig16_mask_loss` (mask loss of models trained with and without the overlay).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dof_eval.errors import DofEvalError
from dof_eval.logs import DERIVED, LOSS_LABELS, FloatArray, RunLog
from dof_io import atomic_path

AXES = ("step", "epoch")
_STYLES = ("-", "--", ":", "-.")


def ema_smooth(values: FloatArray, weight: float) -> FloatArray:
    """Exponential moving average with start-up debiasing (TensorBoard's smoothing).

    Args:
        values: (N,) series; NaN entries are skipped (they stay NaN in the output).
        weight: in [0, 1); 0 = no smoothing, 0.9 = heavy.

    Returns:
        (N,) smoothed series.
    """
    if not 0.0 <= weight < 1.0:
        raise DofEvalError(f"smoothing weight must be in [0, 1); got {weight}")
    out = np.full(len(values), np.nan)
    last, count = 0.0, 0
    for i, value in enumerate(values):
        if np.isnan(value):
            continue
        last = weight * last + (1 - weight) * value
        count += 1
        out[i] = last / (1 - weight**count)
    return out


def term_label(term: str) -> str:
    """What a reader sees for a loss term: ``cycle_A`` -> 'cycle loss A→B→A (L1)'."""
    if term in DERIVED:
        return DERIVED[term][1]
    return LOSS_LABELS.get(term, term)


def _x(run: RunLog, axis: str) -> FloatArray:
    if axis not in AXES:
        raise DofEvalError(f"axis must be one of {AXES}; got {axis!r}")
    return run.steps if axis == "step" else run.fractional_epochs()


def save_figure(figure: Figure, out_stem: str | Path) -> tuple[Path, Path]:
    """Write ``out_stem``.png and ``out_stem``.svg atomically; returns both paths."""
    out_stem = Path(out_stem)
    paths = (out_stem.with_suffix(".png"), out_stem.with_suffix(".svg"))
    with matplotlib.rc_context({"svg.hashsalt": "dof-eval", "svg.fonttype": "none"}):
        for path in paths:
            fmt = path.suffix[1:]
            with atomic_path(path) as tmp:
                figure.savefig(
                    tmp, format=fmt, dpi=120, metadata={"Date": None} if fmt == "svg" else None
                )
    return paths


def draw_curves(
    ax: Axes,
    runs: Sequence[RunLog],
    terms: Sequence[str],
    *,
    axis: str = "step",
    smoothing: float = 0.6,
    labels: Sequence[str] | None = None,
) -> int:
    """Draw each run's terms on a matplotlib Axes (raw faint, smoothed solid); returns #lines."""
    drawn = 0
    for index, run in enumerate(runs):
        colour = f"C{index % 10}"
        x = _x(run, axis)
        for t_index, term in enumerate(terms):
            y = run.series(term)
            keep = ~np.isnan(y) & ~np.isnan(x)
            if not keep.any():
                continue
            name = labels[index] if labels else run.label
            label = name if len(terms) == 1 else f"{name}: {term_label(term)}"
            style = _STYLES[t_index % len(_STYLES)]
            ax.plot(x[keep], y[keep], color=colour, alpha=0.25, linewidth=0.8, linestyle=style)
            smooth = ema_smooth(y[keep], smoothing)
            ax.plot(x[keep], smooth, color=colour, linewidth=1.8, linestyle=style, label=label)
            drawn += 1
    return drawn


def plot_curves(
    runs: Sequence[RunLog],
    terms: str | Sequence[str],
    out_stem: str | Path,
    *,
    axis: str = "step",
    smoothing: float = 0.6,
    title: str | None = None,
    labels: Sequence[str] | None = None,
    log_y: bool = False,
) -> tuple[Path, Path]:
    """Plot loss terms of several runs in one figure, written as PNG and SVG.

    Args:
        runs: logs from :func:`dof_eval.read_run`.
        terms: a logged term (``cycle_A``) or derived sum (``cycle``, ``mask``, ``idt``, ``gan``,
            ``D``), or several.
        out_stem: path without suffix; ``.png`` and ``.svg`` are written.
        axis: ``"step"`` or ``"epoch"`` (fractional epochs, so every logged step is drawn).
        smoothing: EMA weight in [0, 1) for the solid line; the raw values are drawn faint.
        title: figure title (default: the term's label).
        labels: one legend name per run (default: name and preset).
        log_y: logarithmic loss axis.

    Returns:
        (png_path, svg_path).
    """
    terms = [terms] if isinstance(terms, str) else list(terms)
    if labels is not None and len(labels) != len(runs):
        raise DofEvalError(f"got {len(labels)} labels for {len(runs)} runs: give one per run")
    figure = Figure(figsize=(7.0, 4.2))
    ax = figure.subplots()
    drawn = draw_curves(ax, runs, terms, axis=axis, smoothing=smoothing, labels=labels)
    ax.set_xlabel("training step" if axis == "step" else "epoch")
    ax.set_ylabel(term_label(terms[0]) if len(terms) == 1 else "loss")
    ax.set_title(title or (term_label(terms[0]) if len(terms) == 1 else "losses"))
    ax.grid(True, alpha=0.3)
    if log_y and drawn:
        ax.set_yscale("log")
    if drawn:
        ax.legend(fontsize="small", title=f"solid: EMA {smoothing:g}; faint: raw")
    else:
        ax.text(0.5, 0.5, "no run logged these terms", ha="center", transform=ax.transAxes)
    figure.tight_layout()
    return save_figure(figure, out_stem)


def fig15_cycle_loss(
    runs: Sequence[RunLog], out_dir: str | Path, *, axis: str = "epoch", smoothing: float = 0.6
) -> tuple[Path, Path]:
    """The paper's Fig. 15: cycle-consistency loss of each model, overlaid."""
    return plot_curves(
        runs,
        "cycle",
        Path(out_dir) / "fig15_cycle_loss",
        axis=axis,
        smoothing=smoothing,
        title="Cycle-consistency loss of each model (paper Fig. 15)",
    )


def fig16_mask_loss(
    runs: Sequence[RunLog], out_dir: str | Path, *, axis: str = "epoch", smoothing: float = 0.6
) -> tuple[Path, Path]:
    """The paper's Fig. 16: mask loss with and without the overlay, one curve per run."""
    labels = [f"{r.label}, {'with' if r.overlay else 'without'} overlay" for r in runs]
    return plot_curves(
        runs,
        "mask",
        Path(out_dir) / "fig16_mask_loss",
        axis=axis,
        smoothing=smoothing,
        labels=labels,
        title="Mask loss with and without the overlay (paper Fig. 16)",
    )


def plot_loss_grid(
    runs: Sequence[RunLog],
    out_stem: str | Path,
    *,
    axis: str = "step",
    smoothing: float = 0.6,
    terms: Sequence[str] | None = None,
) -> tuple[Path, Path]:
    """Every logged term in its own panel, all runs overlaid in each; PNG and SVG."""
    present = {t for r in runs for t in r.losses}
    chosen = list(terms) if terms else [t for t in LOSS_LABELS if t in present]
    chosen += sorted(present - set(LOSS_LABELS)) if not terms else []
    if not chosen:
        raise DofEvalError("the runs log no loss terms: nothing to plot")
    cols = min(3, len(chosen))
    rows = -(-len(chosen) // cols)
    figure = Figure(figsize=(4.2 * cols, 2.9 * rows))
    axes = np.atleast_1d(figure.subplots(rows, cols, squeeze=False)).ravel()
    for ax, term in zip(axes, chosen, strict=False):
        draw_curves(ax, runs, [term], axis=axis, smoothing=smoothing)
        ax.set_title(term_label(term), fontsize="medium")
        ax.set_xlabel("training step" if axis == "step" else "epoch", fontsize="small")
        ax.grid(True, alpha=0.3)
    for ax in axes[len(chosen) :]:
        ax.set_visible(False)
    handles, names = axes[0].get_legend_handles_labels()
    if handles:
        figure.legend(
            handles,
            names,
            loc="upper center",
            ncol=min(4, len(names)),
            fontsize="small",
            bbox_to_anchor=(0.5, 1.0),
        )
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.35 / (2.9 * rows)))
    return save_figure(figure, out_stem)
