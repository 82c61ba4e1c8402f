"""The person detector and pose model (a converted TFLite graph run by GraphNet), the region
warps, suppression, and detect-then-segment on real photos."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from dof_io import mask_iou, read_mask, read_rgb
from dof_seg import PeopleSegmenter, get_segmenter, load_pose_net
from dof_seg.graph_net import resize_bilinear
from dof_seg.people import box_gate
from dof_seg.pose import (
    Person,
    detect_people,
    paste_region,
    region_grid,
    ssd_anchors,
    tiles,
    weighted_nms,
)

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    """Outputs of the original .tflite files run by LiteRT (tests/data/README.md)."""
    with np.load(DATA / "pose_reference.npz") as data:
        return {key: data[key] for key in data.files}


def noise(size: int) -> torch.Tensor:
    """The input the reference was made with: (1, 3, size, size)."""
    x = np.random.default_rng(14).random((1, size, size, 3), dtype=np.float32)
    return torch.from_numpy(x).permute(0, 3, 1, 2)


@pytest.mark.parametrize("model", ["pose_detection", "pose_landmark_full"])
def test_graph_matches_litert(model: str, reference: dict[str, np.ndarray]) -> None:
    """Every output of our GraphNet against the TFLite runtime on the same input."""
    net = load_pose_net(model)
    short, size = ("det", 224) if model == "pose_detection" else ("lm", 256)
    with torch.inference_mode():
        outputs = net(noise(size))
    names = net.spec["output_names"]
    checked = 0
    for name, out in zip(names, outputs, strict=True):
        key = f"{short}_{name}"
        if key not in reference:
            continue
        ours = out.permute(0, 2, 3, 1).numpy() if out.ndim == 4 else out.numpy()
        if name == "Identity_2":
            ours = ours[:, ::8, ::8]
        theirs = reference[key]
        assert ours.shape == theirs.shape, key
        scale = np.abs(theirs).mean() + 1e-6
        assert np.abs(ours - theirs).mean() / scale < 1e-3, key  # measured: about 1e-5
        checked += 1
    assert checked == (2 if short == "det" else 4)


def test_resize_conventions_differ() -> None:
    """TF's legacy, half-pixel and aligned-corner resizes are three different maps."""
    x = torch.arange(4.0).view(1, 1, 1, 4)
    legacy = resize_bilinear(x, [1, 8], align=False, half=False)[0, 0, 0]
    half = resize_bilinear(x, [1, 8], align=False, half=True)[0, 0, 0]
    corners = resize_bilinear(x, [1, 8], align=True, half=False)[0, 0, 0]
    assert legacy.tolist() == [0, 0.5, 1, 1.5, 2, 2.5, 3, 3]
    assert half.tolist() == [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3]
    assert corners[-1] == 3 and corners[0] == 0 and abs(float(corners[1]) - 3 / 7) < 1e-6


def test_anchors_match_the_detector_layout() -> None:
    anchors = ssd_anchors()
    assert anchors.shape == (2254, 2)
    assert torch.allclose(anchors[0], torch.tensor([0.5 / 28, 0.5 / 28]))
    assert torch.equal(anchors[0], anchors[1])  # two anchors per cell at stride 8
    assert torch.allclose(anchors[1568], torch.tensor([0.5 / 14, 0.5 / 14]))
    assert torch.allclose(anchors[-1], torch.tensor([6.5 / 7, 6.5 / 7]))


def test_tiles_cover_the_photo() -> None:
    assert tiles(300, 400, (1,)) == [(0, 0, 300, 400)]
    grid = tiles(300, 400, (2,))
    assert len(grid) == 4
    covered = np.zeros((300, 400), dtype=bool)
    for top, left, h, w in grid:
        assert top + h <= 300 and left + w <= 400
        covered[top : top + h, left : left + w] = True
    assert covered.all()


def test_weighted_nms_merges_overlaps_and_keeps_the_rest() -> None:
    boxes = torch.tensor([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], dtype=torch.float32)
    points = torch.zeros(3, 4, 2)
    points[:, 0, 0] = torch.tensor([0.0, 4.0, 100.0])
    scores = torch.tensor([0.9, 0.3, 0.6])
    kept = weighted_nms(boxes, points, scores, 0.3)
    assert [round(s, 2) for _, _, s in kept] == [0.9, 0.6]
    box, kps, _ = kept[0]
    assert torch.allclose(box, torch.tensor([0.25, 0, 10.25, 10]))  # 0.9 * 0 + 0.3 * 1, / 1.2
    assert float(kps[0, 0]) == pytest.approx(1.0)


def _person(rotation: float) -> Person:
    return Person((0, 0, 1, 1), torch.zeros(4, 2), 1.0, (50.0, 40.0), 30.0, rotation)


@pytest.mark.parametrize("rotation", [0.0, 0.7, -2.0])
def test_region_crop_and_paste_are_inverse(rotation: float) -> None:
    """Sampling a region and pasting it back gives the photo inside the region, 0 outside:
    a sign error in either rotation would move the content."""
    y, x = torch.meshgrid(torch.arange(80.0), torch.arange(100.0), indexing="ij")
    photo = ((x / 100) + (y / 80) ** 2)[None, None]  # no symmetry to hide a wrong rotation
    person = _person(rotation)
    grid = region_grid(person, 80, 100, 256, photo.device)
    crop = torch.nn.functional.grid_sample(photo, grid, align_corners=False)
    back = paste_region(crop, person, 80, 100)[0, 0]
    inside = paste_region(torch.ones(1, 1, 256, 256), person, 80, 100)[0, 0] > 0.999
    assert 0.8 * 30**2 < int(inside.sum()) < 1.05 * 30**2
    assert (back[inside] - photo[0, 0][inside]).abs().max() < 0.02
    outside = paste_region(torch.ones(1, 1, 8, 8), person, 80, 100)[0, 0] == 0
    assert outside.any() and float(back[outside].abs().max()) == 0


def _paste_everywhere(mask: torch.Tensor, person: Person, height: int, width: int) -> torch.Tensor:
    """paste_region as first written: the warp evaluated at every pixel of the frame."""
    ys, xs = torch.arange(height) + 0.5, torch.arange(width) + 0.5
    yy, xx = torch.meshgrid(ys - person.center[1], xs - person.center[0], indexing="ij")
    c, s = math.cos(person.rotation), math.sin(person.rotation)
    u, v = (xx * c + yy * s) / person.side, (-xx * s + yy * c) / person.side
    grid = torch.stack([2 * u, 2 * v], dim=-1)[None]
    return torch.nn.functional.grid_sample(mask, grid, align_corners=False)


@pytest.mark.parametrize("rotation", [0.0, 0.3, math.pi / 4, -2.0, math.pi])
@pytest.mark.parametrize("center", [(50.0, 40.0), (3.0, 75.0), (130.0, -20.0)])
def test_paste_works_in_the_region_only_and_loses_nothing(rotation, center) -> None:
    """Pasting only the region's bounding box is bit for bit the warp of the whole frame,
    for regions inside, across and beyond the photo's edge."""
    person = dataclasses.replace(_person(rotation), center=center)
    mask = torch.rand(1, 1, 256, 256, generator=torch.Generator().manual_seed(3)) + 0.01
    assert torch.equal(
        paste_region(mask, person, 80, 100), _paste_everywhere(mask, person, 80, 100)
    )


def test_an_upright_person_region_points_up() -> None:
    """kp1 above kp0 (y down): no rotation, side 2.5 x the distance."""
    from dof_seg.pose import _with_region

    kps = torch.tensor([[50.0, 80.0], [50.0, 40.0], [0, 0], [0, 0]])
    person = _with_region((0, 0, 1, 1), kps, 0.9)
    assert person.rotation == pytest.approx(0.0, abs=1e-9)
    assert person.side == pytest.approx(100.0)
    lying = _with_region((0, 0, 1, 1), torch.tensor([[50.0, 80], [90, 80], [0, 0], [0, 0]]), 0.9)
    assert abs(lying.rotation) == pytest.approx(math.pi / 2)


def test_box_gate() -> None:
    gate = box_gate([dataclasses.replace(_person(0.0), box=(10, 20, 30, 60))], (100, 100), 0.1)
    assert gate.shape == (1, 100, 100)
    assert gate[0, 20, 10] == 1 and gate[0, 17, 8] == 1 and gate[0, 10, 5] == 0


def test_nobody_in_noise(make_photo) -> None:
    people = PeopleSegmenter((1,))
    image = torch.from_numpy(make_photo(96, 128)).permute(2, 0, 1).float() / 255
    with torch.inference_mode():
        mask, labels, found = people.segment_people(image)
    assert found == [] and float(mask.max()) == 0 and int(labels.max()) == 0


def test_auto_is_selfie_where_nobody_is_detected(make_photo, selfie) -> None:
    image = torch.from_numpy(make_photo(96, 128)).permute(2, 0, 1)[None].float() / 255
    with torch.inference_mode():
        assert torch.equal(get_segmenter("auto", levels=(1,))(image), selfie(image))


def test_detects_and_segments_a_real_person(coco_person: Path) -> None:
    """A photo where selfie scores 0.62: the detector finds the person, the pose model's mask
    of that person alone scores above 0.85 (measured 0.89)."""
    stem = "000000234748"
    rgb = read_rgb(coco_person / "images" / f"{stem}.jpg")
    image = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255
    with torch.inference_mode():
        found = detect_people(load_pose_net("pose_detection"), image)
        mask, labels, people = PeopleSegmenter((1,)).segment_people(image)
    assert len(found) >= 1 and found[0].score > 0.9
    assert len(people) >= 1 and int(labels.max()) == len(people)
    assert mask_iou(mask[0].numpy(), read_mask(coco_person / "masks" / f"{stem}.png")) > 0.85


def test_auto_gives_its_mask_and_the_detected_people(coco_person: Path) -> None:
    """``segment_instances`` (what main-subject selection uses) returns exactly the mask
    ``auto`` makes, and a label map of the people the detector found."""
    rgb = read_rgb(coco_person / "images" / "000000234748.jpg")
    image = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255
    auto = get_segmenter("auto", levels=(1,), refine="guided")
    assert auto.detects_people and not get_segmenter("selfie").detects_people
    with torch.inference_mode():
        mask, labels = auto.segment_instances(image)
        assert torch.equal(mask, auto(image[None])[0])
    assert labels is not None and labels.shape == mask.shape and labels.dtype == torch.int64
    assert int(labels.max()) >= 1 and float(mask[labels > 0].mean()) > 0.7
