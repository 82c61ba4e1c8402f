"""evaluate_masks: IoU per image and mean, crowd regions ignored, failures listed."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
from PIL import Image

from dof_io import write_rgba
from dof_seg import evaluate_masks


def grey(path, array):
    Image.fromarray((array * 255).astype(np.uint8), mode="L").save(path)


def make_case(tmp_path):
    gt_dir, pred_dir = tmp_path / "gt", tmp_path / "pred"
    gt_dir.mkdir()
    pred_dir.mkdir()
    gt = np.zeros((10, 10))
    gt[:, :5] = 1  # 50 px
    grey(gt_dir / "a.png", gt)
    pred = np.zeros((10, 10))
    pred[:, :5] = 0.9
    pred[:, 5:7] = 0.8  # 20 px false positive
    write_rgba(pred_dir / "a.png", np.zeros((10, 10, 3), np.uint8), pred)
    crowd = np.zeros((10, 10))
    crowd[:, 5:6] = 1  # ignores 10 of the 20 false positives
    grey(gt_dir / "b.png", gt)
    grey(gt_dir / "b_crowd.png", crowd)
    write_rgba(pred_dir / "b.png", np.zeros((10, 10, 3), np.uint8), pred)
    grey(gt_dir / "c.png", gt)  # no prediction for c
    grey(gt_dir / "d.png", gt)
    grey(pred_dir / "d.png", np.zeros((5, 5)))  # wrong size
    return gt_dir, pred_dir


def test_iou_per_image_crowd_and_failures(tmp_path):
    result = evaluate_masks(*make_case(tmp_path))
    scores = {s.name: s.iou for s in result.scores}
    assert scores == {"a": 50 / 70, "b": 50 / 60}
    assert math.isclose(result.mean_iou, (50 / 70 + 50 / 60) / 2)
    failed = dict(result.failed)
    assert set(failed) == {"c", "d"}
    assert "no prediction" in failed["c"] and "same" in failed["d"]
    assert "b_crowd" not in scores


def test_writes_csv_and_json(tmp_path):
    result = evaluate_masks(*make_case(tmp_path))
    rows = list(csv.DictReader(result.write(tmp_path / "s.csv").open()))
    assert [row["name"] for row in rows] == ["a", "b"]
    payload = json.loads(result.write(tmp_path / "s.json").read_text())
    assert payload["count"] == 2 and math.isclose(payload["mean_iou"], result.mean_iou)
    assert {f["name"] for f in payload["failed"]} == {"c", "d"}


def test_subset_and_empty(tmp_path):
    result = evaluate_masks(*make_case(tmp_path))
    assert [s.name for s in result.subset(["b", "c"]).scores] == ["b"]
    assert math.isnan(result.subset([]).mean_iou)


def test_boundary_f_score():
    import numpy as np

    from dof_seg import boundary_f_score

    square = np.zeros((60, 60))
    square[10:40, 10:40] = 1
    moved = np.roll(square, 2, axis=0)
    far = np.roll(square, 8, axis=0)
    assert boundary_f_score(square, square) == 1.0
    assert boundary_f_score(moved, square) == 1.0  # 2 px off: within 3 px
    assert boundary_f_score(moved, square, tolerance=1) < 0.8
    assert 0 < boundary_f_score(far, square) < 0.6  # the side edges still agree
    assert boundary_f_score(np.zeros((60, 60)), square) == 0.0
    assert boundary_f_score(np.ones((60, 60)), np.ones((60, 60))) == 1.0  # the frame is no edge
    ignore = np.zeros((60, 60))
    ignore[:25] = 1  # crowd over the top half: only the bottom edges count
    assert boundary_f_score(far, square, ignore) < boundary_f_score(moved, square, ignore) == 1.0
