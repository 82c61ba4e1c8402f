"""A gallery of paired-benchmark items: input | truth | every method, as PNGs, HTML and a sheet.

Methods are called as in :func:`dof_eval.run_paired` (``(image, mask) -> output``), with the
benchmark's own (true) masks.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from dof_eval.gallery import Gallery, GalleryRow, contact_sheet, write_gallery
from dof_eval.paired_score import PairedSet
from dof_eval.photos import write_image
from dof_eval.render import Renderer, slug


def paired_gallery(
    paired: PairedSet,
    methods: Mapping[str, Renderer],
    out_dir: str | Path,
    *,
    n: int = 8,
    cell: int = 128,
) -> tuple[Path, Path]:
    """Render the first ``n`` items with every method and lay them out beside input and truth.

    Args:
        paired: the benchmark.
        methods: column label -> (image (1, 3, H, W), mask (1, 1, H, W)) -> output, in [0, 1].
        out_dir: gets ``<column>/<id>.png``, ``gallery.html`` and ``gallery.png``.
        n: number of items (rows).
        cell: size of one contact-sheet cell, pixels.

    Returns:
        (``gallery.html``, ``gallery.png``).
    """
    out_dir = Path(out_dir)
    folders = {"input": "input", "truth": "truth", **{m: slug(m) for m in methods}}
    rows = []
    with torch.inference_mode():
        for item in paired.ids[:n]:
            image, mask, truth = paired.load(item)
            outputs = {"input": image, "truth": truth}
            outputs.update({m: fn(image, mask).float().clamp(0, 1) for m, fn in methods.items()})
            cells: dict[str, Path | None] = {}
            for label, tensor in outputs.items():
                path = out_dir / folders[label] / f"{item}.png"
                write_image(path, tensor)
                cells[label] = path
            rows.append(GalleryRow(item, cells))
    gallery = Gallery(tuple(folders), tuple(rows))
    page = write_gallery(gallery, out_dir / "gallery.html", title="paired benchmark")
    sheet = contact_sheet(gallery, out_dir / "gallery.png", cell=cell, label_width=40)
    return page, sheet
