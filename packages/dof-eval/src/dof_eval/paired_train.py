"""A synthetic unpaired training set built like the paired benchmark, with a held-out test set.

Domain A holds sharp composites (a real person over a real person-free background), domain B
defocused ones (the same construction as the benchmark's truth: the background blurred by the
lens kernel in linear light, the sharp person on top). Both carry the person's matte as the PNG
alpha channel, the layout dof-gan reads::

    OUT/trainA/  trainB/  testA/  testB/   RGBA PNGs, alpha = person matte
    OUT/test/                              the test items as a paired benchmark
                                           (input/ mask/ truth/ background/ dataset.json)
    OUT/dataset.json                       config, split, and every item's recipe

How it avoids leaks:

- The source photos are split first (seeded); test items use only test photos, training items
  only training photos, so the test measures new people over new backgrounds.
- Every (person photo, background photo) pair of the training photos goes to A or to B, never
  both: B never shows the defocused twin of an A composite. Each pair is used several times
  with different background windows, scales, positions and flips.

Background windows are cut from the source photos downscaled by ``source_scale`` (0.5 at 128 px
makes a window cover what a 256-px window covers in the 256-px benchmark). Deterministic: the
same sources and config give byte-identical files.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dof_eval.credits import Attribution
from dof_eval.errors import DatasetError
from dof_eval.paired_compose import (
    FORMAT_VERSION,
    Background,
    PairedConfig,
    Person,
    Source,
    compose_item,
    free_windows,
    kernel_record,
    load_sources,
    matches,
    person_crop,
    read_index,
    source_credits,
    write_item,
)
from dof_io import atomic_write_text, save_image

TRAIN_FORMAT_VERSION = 1


@dataclass(frozen=True)
class TrainSetConfig:
    """How the synthetic training set is built.

    Attributes:
        n_train: items per training domain (A and B each); 0 builds the test items only
            (the same bytes as in a full build: they depend on the split and seed alone).
        n_test: held-out paired items.
        test_photos: source photos kept for the test items (the rest train).
        size: side of the square items, pixels.
        radius: disk radius of the defocus, pixels at ``size``.
        source_scale: the source photos are scaled by this before background windows are cut.
        seed: seeds the split and every choice.
        margin, min_cover, min_person, linear: as in :class:`dof_eval.PairedConfig`.
    """

    n_train: int = 2000
    n_test: int = 48
    test_photos: int = 10
    size: int = 128
    radius: float = 4.0
    source_scale: float = 0.5
    seed: int = 0
    margin: int = 8
    min_cover: float = 0.2
    min_person: float = 0.01
    linear: bool = True

    def paired(self, n: int) -> PairedConfig:
        """The benchmark config the items are composed with."""
        return PairedConfig(
            n=n, size=self.size, radius=self.radius, seed=self.seed, margin=self.margin,
            min_cover=self.min_cover, min_person=self.min_person, linear=self.linear,
        )  # fmt: skip


def _scaled(src: Source, scale: float) -> Source:
    if scale == 1.0:
        return src
    h, w = src.person.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    rgb = np.asarray(Image.fromarray(src.rgb).resize(size, Image.Resampling.LANCZOS))
    person = Image.fromarray(src.person.astype(np.uint8) * 255).resize(
        size, Image.Resampling.BILINEAR
    )
    return Source(src.file, rgb, np.asarray(person) > 0)  # any person pixel counts


def _parts(sources: list[Source], config: TrainSetConfig) -> tuple[list[Person], list[Background]]:
    paired = config.paired(1)
    persons = [(s, c) for s in sources if (c := person_crop(s, paired)) is not None]
    backgrounds: list[Background] = []
    for s in sources:
        small = _scaled(s, config.source_scale)
        windows = free_windows(small.person, config.size, config.margin)
        if len(windows):
            backgrounds.append((small, windows))
    return persons, backgrounds


def _pairs(persons: list[Person], backgrounds: list[Background]) -> list[tuple[int, int]]:
    return [
        (p, b)
        for p in range(len(persons))
        for b in range(len(backgrounds))
        if persons[p][0].file != backgrounds[b][0].file
    ]


def _write_train_item(
    path: Path,
    person: Person,
    background: Background,
    config: PairedConfig,
    rng: np.random.Generator,
    domain: str,
) -> dict[str, Any]:
    recipe, images = compose_item(person, background, config, rng)
    rgb = images["input"] if domain == "A" else images["truth"]
    rgba = Image.fromarray(np.dstack([rgb, images["mask"]]), mode="RGBA")
    save_image(rgba, path, compress_level=1)
    return {"file": path.name, **recipe}


def _split(sources: list[Source], config: TrainSetConfig) -> tuple[list[str], list[str]]:
    files = sorted(s.file for s in sources)
    if not 0 < config.test_photos < len(files) - 1:
        raise DatasetError(
            f"--test-photos must be between 1 and {len(files) - 2} for {len(files)} source "
            f"photos; got {config.test_photos}"
        )
    order = np.random.default_rng(config.seed).permutation(len(files))
    test = sorted(files[i] for i in order[: config.test_photos])
    return [f for f in files if f not in test], test


def build_train_set(
    source: str | Path, out_dir: str | Path, config: TrainSetConfig | None = None
) -> Path:
    """Build the unpaired training set and its held-out paired test set.

    Args:
        source: coco-person style folder (``images/``, ``masks/``, optional ``manifest.csv``).
        out_dir: where it goes; a complete build of the same config is kept as it is.
        config: sizes, split and seed (defaults: 2,000 items per domain at 128 px).

    Returns:
        The path of ``OUT/dataset.json``.

    Raises:
        DatasetError: too few source photos, or a split side without a usable person or
            person-free background.
    """
    config = config or TrainSetConfig()
    source, out_dir = Path(source), Path(out_dir)
    index = out_dir / "dataset.json"
    if _complete(index, config):
        return index
    sources = load_sources(source)
    train_files, test_files = _split(sources, config)
    credits = source_credits(source)
    test_sources = [s for s in sources if s.file in test_files]
    test_index = _build_test(test_sources, out_dir, config, credits)
    items = _build_train(source, [s for s in sources if s.file in train_files], out_dir, config)
    _write_test_domains(out_dir, test_index)
    data = {
        "format": TRAIN_FORMAT_VERSION,
        "config": asdict(config),
        "source": source.name,
        "split": {"train": train_files, "test": test_files},
        "kernel": {"type": "disk", "radius": config.radius, "linear_light": config.linear},
        "train": items,
        "credits": {f: vars(credits[f]) for f in train_files + test_files if f in credits},
    }
    atomic_write_text(index, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return index


def _build_train(
    source: Path, train: list[Source], out_dir: Path, config: TrainSetConfig
) -> dict[str, list[dict[str, Any]]]:
    """trainA/ and trainB/ from disjoint (person, background) pairs; their recipes."""
    if config.n_train == 0:
        return {"A": [], "B": []}
    persons, backgrounds = _parts(train, config)
    pairs = _pairs(persons, backgrounds)
    if len(pairs) < 2:
        raise DatasetError(
            f"{source}: the {len(train)} training photos give {len(persons)} people and "
            f"{len(backgrounds)} backgrounds, fewer than 2 pairs; use fewer --test-photos"
        )
    rng = np.random.default_rng([config.seed, 1])
    order = rng.permutation(len(pairs))
    domains = {"A": order[0::2], "B": order[1::2]}  # disjoint (person, background) pairs
    paired = config.paired(config.n_train)
    items: dict[str, list[dict[str, Any]]] = {}
    for domain, chosen in domains.items():
        items[domain] = []
        for i in range(config.n_train):
            p, b = pairs[int(chosen[i % len(chosen)])]
            path = out_dir / f"train{domain}" / f"{domain}{i:05d}.png"
            item = _write_train_item(path, persons[p], backgrounds[b], paired, rng, domain)
            items[domain].append(item)
    return items


def _build_test(
    sources: list[Source], out_dir: Path, config: TrainSetConfig, credits: dict[str, Attribution]
) -> Path:
    """The held-out items in the paired benchmark's format, in ``OUT/test/``."""
    persons, backgrounds = _parts(sources, config)
    if not persons or not backgrounds or not _pairs(persons, backgrounds):
        raise DatasetError(
            f"the {len(sources)} test photos give {len(persons)} people and {len(backgrounds)} "
            "backgrounds of other photos; try another --seed or more --test-photos"
        )
    paired = config.paired(config.n_test)
    rng = np.random.default_rng([config.seed, 2])
    root = out_dir / "test"
    entries = []
    pairs = matches(persons, backgrounds, config.n_test, rng, fallback=False)
    for i, (person, background) in enumerate(pairs):
        if background is None:
            raise DatasetError(f"{person[0].file}: no test background from another photo")
        entries.append(write_item(f"{i:03d}", person, background, paired, rng, credits, root))
    data = {
        "format": FORMAT_VERSION,
        "config": asdict(replace(paired, n=config.n_test)),
        "source": "held-out photos of the training set's source",
        "kernel": kernel_record(paired),
        "items": entries,
    }
    index = root / "dataset.json"
    atomic_write_text(index, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return index


def _write_test_domains(out_dir: Path, test_index: Path) -> None:
    """testA/ (inputs) and testB/ (truths) as RGBA, from the paired test items."""
    root = test_index.parent
    for item in json.loads(test_index.read_text(encoding="utf-8"))["items"]:
        name = f"{item['id']}.png"
        alpha = np.asarray(Image.open(root / "mask" / name).convert("L"))
        for domain, kind in (("A", "input"), ("B", "truth")):
            rgb = np.asarray(Image.open(root / kind / name).convert("RGB"))
            rgba = Image.fromarray(np.dstack([rgb, alpha]), mode="RGBA")
            save_image(rgba, out_dir / f"test{domain}" / name, compress_level=1)


def _complete(index: Path, config: TrainSetConfig) -> bool:
    data = read_index(index, TRAIN_FORMAT_VERSION, config)
    return data is not None and all(
        (index.parent / f"train{d}" / item["file"]).is_file()
        for d in ("A", "B")
        for item in data.get("train", {}).get(d, [])
    )
