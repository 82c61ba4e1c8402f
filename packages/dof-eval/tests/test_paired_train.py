from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from dof_eval import DatasetError, TrainSetConfig, build_train_set, load_paired

#: real coco-person photos with people and with person-free corners (all four do both)
STEMS = ("000000253956", "000000519208", "000000278528", "000000126107", "000000160012",
         "000000229358", "000000357888", "000000404484")  # fmt: skip
CONFIG = TrainSetConfig(n_train=6, n_test=3, test_photos=3, size=64, radius=3.0, seed=1)


@pytest.fixture(scope="module")
def sources(coco_person: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sources")
    (folder / "images").mkdir()
    (folder / "masks").mkdir()
    for stem in STEMS:
        shutil.copy(coco_person / "images" / f"{stem}.jpg", folder / "images")
        shutil.copy(coco_person / "masks" / f"{stem}.png", folder / "masks")
    shutil.copy(coco_person / "manifest.csv", folder)
    return folder


@pytest.fixture(scope="module")
def built(sources: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_train_set(sources, tmp_path_factory.mktemp("built"), CONFIG).parent


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _hf(rgb: np.ndarray, where: np.ndarray) -> float:
    grey = rgb.astype(np.float64).mean(-1)
    return float(ndimage.laplace(grey)[where].var())


def test_build_is_byte_identical_on_rebuild(sources: Path, built: Path, tmp_path: Path) -> None:
    second = build_train_set(sources, tmp_path / "two", CONFIG).parent
    files = _files(built)
    assert len(files) == 2 * 6 + 2 * 3 + 4 * 3 + 2  # train, testA/B, test/ kinds, two json
    assert files == _files(second)
    other = build_train_set(
        sources, tmp_path / "three", TrainSetConfig(**{**vars(CONFIG), "seed": 2})
    )
    assert _files(other.parent) != files  # the seed matters


def test_train_and_test_sources_and_pairs_are_disjoint(built: Path) -> None:
    root = built
    info = json.loads((root / "dataset.json").read_text())
    train, test = set(info["split"]["train"]), set(info["split"]["test"])
    assert len(test) == 3 and len(train) == 5 and not train & test
    for domain in ("A", "B"):
        for item in info["train"][domain]:
            assert {item["person"], item["background"]} <= train
            assert item["person"] != item["background"]
    test_items = load_paired(root / "test").info["items"]
    assert len(test_items) == 3
    for item in test_items:
        assert {item["person"], item["background"]} <= test
    pairs = {d: {(i["person"], i["background"]) for i in info["train"][d]} for d in ("A", "B")}
    assert pairs["A"] and pairs["B"] and not pairs["A"] & pairs["B"]


def test_domain_b_is_defocused_and_alpha_is_the_matte(built: Path) -> None:
    root = built
    ratios = []
    for domain in ("A", "B"):
        for path in sorted((root / f"train{domain}").glob("*.png")):
            image = Image.open(path)
            assert image.mode == "RGBA" and image.size == (64, 64)
    for a_path, b_path in zip(sorted((root / "trainA").glob("*.png")),
                              sorted((root / "trainB").glob("*.png")), strict=True):  # fmt: skip
        a, b = np.asarray(Image.open(a_path)), np.asarray(Image.open(b_path))
        background_a, background_b = a[..., 3] == 0, b[..., 3] == 0
        ratios.append(_hf(b[..., :3], background_b) / _hf(a[..., :3], background_a))
    assert float(np.median(ratios)) < 0.3  # B's backgrounds are blurred, A's are not
    # the test domains are the paired items: A = input, B = truth, alpha = the matte
    for name in ("000.png", "002.png"):
        a, b = (
            np.asarray(Image.open(root / "testA" / name)),
            np.asarray(Image.open(root / "testB" / name)),
        )
        assert np.array_equal(a[..., :3], np.asarray(Image.open(root / "test" / "input" / name)))
        assert np.array_equal(b[..., :3], np.asarray(Image.open(root / "test" / "truth" / name)))
        assert np.array_equal(a[..., 3], np.asarray(Image.open(root / "test" / "mask" / name)))
        assert 0.01 < (a[..., 3] > 127).mean() < 0.99


def test_too_many_test_photos_is_refused(sources: Path, tmp_path: Path) -> None:
    config = TrainSetConfig(**{**vars(CONFIG), "test_photos": 7})
    with pytest.raises(DatasetError, match="--test-photos must be between 1 and 6"):
        build_train_set(sources, tmp_path / "data", config)


def test_test_items_alone_are_the_same_bytes(sources: Path, built: Path, tmp_path: Path) -> None:
    config = TrainSetConfig(**{**vars(CONFIG), "n_train": 0})
    alone = build_train_set(sources, tmp_path / "test-only", config).parent
    assert not (alone / "trainA").exists()
    assert _files(alone / "test") == _files(built / "test")
    assert _files(alone / "testB") == _files(built / "testB")


def test_synth_composes_through_the_public_module_only() -> None:
    """`dof data synth` and the paired bench share paired_compose; no private name crosses."""
    import ast
    import inspect

    import dof_eval.paired_build
    import dof_eval.paired_train

    for module in (dof_eval.paired_train, dof_eval.paired_build):
        tree = ast.parse(inspect.getsource(module))
        private = [
            f"{node.module}.{alias.name}"
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dof_eval")
            for alias in node.names
            if alias.name.startswith("_")
        ]
        assert private == [], module.__name__
