"""Sample grids of several runs at several points of training, as one PNG.

The trainer writes ``RUN/samples/step_XXXXXXX.png``: two rows (A, B) of six cells (real |
output | raw output | cycle | identity | mask). :func:`sample_progression` keeps the A row
(what G does to an ordinary photo) of each run at each chosen step, one row per (run, step).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from dof_eval.errors import LogFormatError
from dof_io import open_image, save_image

_STEP = re.compile(r"step_(\d+)\.png$")
COLUMNS = ("real A", "G(a) as judged", "G(a) raw", "F(G(a))", "F(a)", "mask")


def sample_steps(run: str | Path) -> dict[int, Path]:
    """step -> sample grid of a run folder (empty when it has none)."""
    folder = Path(run) / "samples"
    found = {}
    for path in sorted(folder.glob("step_*.png")) if folder.is_dir() else []:
        match = _STEP.search(path.name)
        if match:
            found[int(match.group(1))] = path
    return found


def sample_progression(
    runs: Sequence[str | Path],
    path: str | Path,
    *,
    steps: Sequence[int] | None = None,
    label_width: int = 170,
) -> Path:
    """Stack the A rows of each run's samples at ``steps`` into one labelled PNG.

    Args:
        runs: run folders (their names label the rows).
        path: the PNG to write (atomically).
        steps: the steps to show; each run shows its latest sample at or before each step.
            Default: the first, middle and last sample of the first run.
        label_width: width of the label column, pixels.

    Returns:
        ``path``.

    Raises:
        LogFormatError: a run has no sample grids.
    """
    found = {Path(r): sample_steps(r) for r in runs}
    for run, samples in found.items():
        if not samples:
            raise LogFormatError(f"{run}/samples holds no step_*.png: train the run first")
    if steps is None:
        first = sorted(next(iter(found.values())))
        steps = sorted({first[0], first[len(first) // 2], first[-1]})
    rows: list[tuple[str, Image.Image]] = []
    for run, samples in found.items():
        for step in steps:
            at = max((s for s in samples if s <= step), default=min(samples))
            grid = open_image(samples[at]).convert("RGB")
            rows.append((f"{run.name}\nstep {at}", grid.crop((0, 0, grid.width, grid.height // 2))))
    cell_h, width = rows[0][1].height, rows[0][1].width
    header = 18
    sheet = Image.new("RGB", (label_width + width, header + cell_h * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for c, name in enumerate(COLUMNS):
        draw.text((label_width + c * width // len(COLUMNS) + 4, 3), name, fill="black", font=font)
    for r, (label, image) in enumerate(rows):
        top = header + r * cell_h
        sheet.paste(image.resize((width, cell_h)), (label_width, top))
        draw.multiline_text((6, top + cell_h // 2 - 12), label, fill="black", font=font)
    return save_image(sheet, path)
