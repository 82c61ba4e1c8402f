"""The paired benchmark: real people over real backgrounds, with a known defocused answer.

Each item takes a person (the largest in its photo, with its mask) from one coco-person photo
and a person-free square of another photo as the background, both real. The input is the sharp
composite; the ground truth is the same composite with the background blurred by a known lens
kernel (a uniform disk of ``radius`` px, anti-aliased) before the sharp person goes on top::

    input = a · P + (1 - a) · Q
    truth = a · P + (1 - a) · srgb(linear(Q) ⊛ disk_r)

(``a`` the person's matte, ``P`` the person photo, ``Q`` the background; the blur happens in
linear light, as it does in a lens, unless ``linear=False``). Because the whole
background layer ``Q`` is known, the truth includes what lies behind the person, as a real lens
would see it; a method only sees the input. The builder is deterministic: the same sources,
config and seed give byte-identical files.

Layout under the output folder: ``input/``, ``mask/``, ``truth/``, ``background/`` (PNG, one per
item id) and ``dataset.json`` (config, kernel, sources and their credits per item).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from dof_eval.errors import DatasetError
from dof_eval.paired_compose import (
    FORMAT_VERSION,
    PairedConfig,
    defocus_background,
    free_windows,
    kernel_record,
    lens_blur,
    lens_kernel,
    load_sources,
    matches,
    person_crop,
    read_index,
    source_credits,
    write_item,
)
from dof_io import atomic_write_text

__all__ = ["FORMAT_VERSION", "PairedConfig", "build_paired", "defocus_background", "lens_blur",
           "lens_kernel"]  # fmt: skip


def build_paired(
    source: str | Path, out_dir: str | Path, config: PairedConfig | None = None
) -> Path:
    """Build the paired benchmark from a coco-person style folder.

    Args:
        source: folder with ``images/``, ``masks/<stem>.png`` (+ ``_crowd``) and, optionally,
            ``manifest.csv`` for the credits.
        out_dir: where the dataset goes; an existing complete build of the same config is kept.
        config: how to build it (defaults: 24 items, 256 px, disk radius 8, seed 0).

    Returns:
        The path of ``dataset.json``.

    Raises:
        DatasetError: when the sources give no person crop or no person-free background.
    """
    config = config or PairedConfig()
    source, out_dir = Path(source), Path(out_dir)
    index = out_dir / "dataset.json"
    if _complete(index, config):
        return index
    sources = load_sources(source)
    persons = [(s, c) for s in sources if (c := person_crop(s, config)) is not None]
    backgrounds = [
        (s, w) for s in sources if len(w := free_windows(s.person, config.size, config.margin))
    ]
    if not persons or not backgrounds:
        raise DatasetError(
            f"{source}: {len(persons)} usable people and {len(backgrounds)} person-free "
            f"{config.size}-px backgrounds; need at least one of each (try a smaller --size)"
        )
    credits = source_credits(source)
    rng = np.random.default_rng(config.seed)
    items = []
    for i, (person, background) in enumerate(matches(persons, backgrounds, config.n, rng)):
        assert background is not None  # fallback=True
        items.append(write_item(f"{i:03d}", person, background, config, rng, credits, out_dir))
    data = {"format": FORMAT_VERSION, "config": asdict(config), "source": source.name,
            "kernel": kernel_record(config), "items": items}  # fmt: skip
    atomic_write_text(index, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return index


def _complete(index: Path, config: PairedConfig) -> bool:
    data = read_index(index, FORMAT_VERSION, config)
    return data is not None and all(
        (index.parent / k / f"{item['id']}.png").is_file()
        for item in data.get("items", [])
        for k in ("input", "mask", "truth")
    )
