from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from dof_data import (
    ConfigError,
    Manifest,
    PrepareConfig,
    center_square,
    filter_small,
    import_folder,
    prepare,
    split_ids,
)
from dof_io import read_rgb


def listing(out: Path) -> dict[str, list[str]]:
    return {
        d: sorted(p.name for p in (out / d).iterdir())
        for d in ("trainA", "testA", "trainB", "testB")
    }


@pytest.fixture
def dataset(tmp_path: Path, coco_person: Path) -> Manifest:
    """14 photos in A and 8 in B, imported from coco-person."""
    files = sorted((coco_person / "images").glob("*.jpg"))
    for domain, chosen in (("A", files[:14]), ("B", files[14:22])):
        folder = tmp_path / f"in{domain}"
        folder.mkdir()
        for path in chosen:
            shutil.copy(path, folder / path.name)
    manifest = Manifest(tmp_path / "dataset", create=True)
    import_folder(manifest, tmp_path / "inA", "A")
    import_folder(manifest, tmp_path / "inB", "B")
    return manifest


def test_split_is_a_function_of_seed_and_ids() -> None:
    ids = [f"id{i}" for i in range(200)]
    train, test = split_ids(ids, 20, seed=7)
    assert len(test) == 20 and sorted(train + test) == sorted(ids)
    assert split_ids(list(reversed(ids)), 20, seed=7) == (train, test)  # order does not matter
    assert split_ids(ids, 20, seed=8)[1] != test
    grown = split_ids([*ids, *(f"new{i}" for i in range(20))], 20, seed=7)[1]
    assert len(set(grown) & set(test)) >= 15  # adding photos moves few test photos
    with pytest.raises(ConfigError, match="only 200 are kept"):
        split_ids(ids, 201, seed=0)


def test_center_square_crops_the_middle() -> None:
    wide = np.zeros((100, 200, 3), dtype=np.uint8)
    wide[:, :50] = (0, 255, 0)  # left quarter green: cropped away
    wide[:, 50:100] = (255, 0, 0)
    wide[:, 100:150] = (0, 0, 255)
    wide[:, 150:] = (0, 255, 0)  # right quarter green: cropped away
    out = center_square(wide, 32)
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8
    assert out[:, :14, 0].min() > 200 and out[:, 18:, 2].min() > 200
    assert out[..., 1].max() < 40  # no green left


def test_prepare_writes_the_papers_layout(dataset: Manifest, tmp_path: Path) -> None:
    out = tmp_path / "prepared"
    summary = prepare(dataset, out, PrepareConfig(size=64, test_a=3, test_b=2, seed=1))
    files = listing(out)
    assert [len(files[d]) for d in ("trainA", "testA", "trainB", "testB")] == [11, 3, 6, 2]
    assert summary.counts == {"trainA": 11, "testA": 3, "trainB": 6, "testB": 2}
    assert summary.written == 22
    for folder, names in files.items():
        for name in names:
            assert read_rgb(out / folder / name).shape == (64, 64, 3)
    kept_a = {row.id for row in dataset.photos(domain="A")}
    assert {n[:-4] for n in files["trainA"] + files["testA"]} == kept_a
    record = json.loads((out / "prepare.json").read_text())
    assert record["state"] == "done" and record["config"]["size"] == 64


def test_same_seed_same_split_and_reruns_are_cheap(dataset: Manifest, tmp_path: Path) -> None:
    config = PrepareConfig(size=48, test_a=4, seed=3)
    prepare(dataset, tmp_path / "one", config)
    prepare(dataset, tmp_path / "two", config)
    assert listing(tmp_path / "one") == listing(tmp_path / "two")
    again = prepare(dataset, tmp_path / "one", config)
    assert (again.written, again.skipped, again.deleted) == (0, 22, 0)
    other = prepare(dataset, tmp_path / "three", PrepareConfig(size=48, test_a=4, seed=4))
    assert other.counts == again.counts
    assert listing(tmp_path / "three")["testA"] != listing(tmp_path / "one")["testA"]


def test_rerun_follows_the_manifest_and_leaves_foreign_files(
    dataset: Manifest, tmp_path: Path
) -> None:
    out = tmp_path / "prepared"
    prepare(dataset, out, PrepareConfig(size=32, test_a=2))
    (out / "trainA" / "notes.txt").write_text("mine")
    (out / "trainA" / ".local-0a1b.k3j_9x2q.jpg").write_bytes(b"half")  # a killed run's temp
    filter_small(dataset, min_side=480)  # removes some photos
    removed = {row.id for row in dataset.photos(status="removed")}
    assert removed
    summary = prepare(dataset, out, PrepareConfig(size=32, test_a=2))
    names = {n[:-4] for folder in listing(out).values() for n in folder}
    assert not names & removed
    assert summary.deleted >= len(removed)
    assert (out / "trainA" / "notes.txt").read_text() == "mine"
    assert not (out / "trainA" / ".local-0a1b.k3j_9x2q.jpg").exists()


def test_too_few_photos_for_the_test_set(dataset: Manifest, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="100 test photos asked for but only 14"):
        prepare(dataset, tmp_path / "out")  # the paper's default: 100 ordinary test photos
    with pytest.raises(ConfigError, match="size >= 8"):
        PrepareConfig(size=4)
