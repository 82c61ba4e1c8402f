"""Our `selfie` against mediapipe==0.10.21 itself: mask difference, IoU and speed, side by side.

Runs where mediapipe is installed (``uv run nox -s seg-parity`` builds that environment; it
needs numpy<2)::

    python -m dof_seg.parity ../shared/data/coco-person --out bench/results/seg_mediapipe.json

For each photo of ``DATA_DIR/images`` and each model (general, landscape) it runs
``mp.solutions.selfie_segmentation`` and :class:`~dof_seg.selfie.SelfieSegmenter` on the same
decoded RGB array and reports the mean absolute difference of the two soft masks, and both
IoUs against ``DATA_DIR/masks`` (crowd regions ignored), over all photos and over those whose
largest person covers at least 15 % of the frame (``manifest.csv``). Speed is photos per second
from a decoded array to a mask at the photo's size, one photo at a time, the best of
``--repeats`` passes taken in turns (ours with 1 torch thread and with torch's default count;
mediapipe with its own threading).
It exits with status 1 when any photo differs by more than ``--tolerance`` (0.01).

With ``--pose`` (the default) it also checks the pose detector and pose landmark ports
(:mod:`dof_seg.pose`) against the original .tflite files run by the TFLite runtime
(``ai-edge-litert``, the interpreter MediaPipe embeds) on the inputs the pipeline gives them:
the largest difference of a detection score, and the mean difference of the person masks.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from dof_io import atomic_write_text, list_images, mask_iou, read_mask, read_rgb
from dof_io.tensors import image_to_tensor
from dof_seg.selfie import SelfieSegmenter

MaskFn = Callable[[npt.NDArray[np.uint8]], npt.NDArray[np.float32]]
LARGE = 0.15  # largest_person_frac threshold of the "portrait-like" subset


def _ours(model: str) -> MaskFn:
    segmenter = SelfieSegmenter(model)

    @torch.inference_mode()
    def run(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        image = image_to_tensor(rgb)
        mask: npt.NDArray[np.float32] = segmenter(image)[0, 0].numpy()
        return mask

    return run


def _mediapipe(model: str) -> tuple[MaskFn, Any]:
    import mediapipe as mp  # only in the parity environment

    solution = mp.solutions.selfie_segmentation.SelfieSegmentation(
        model_selection=0 if model == "general" else 1
    )

    def run(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        return np.asarray(solution.process(rgb).segmentation_mask, dtype=np.float32).copy()

    return run, solution


def _iou(mask: npt.NDArray[np.float32], gt: Path) -> float:
    crowd = gt.with_name(f"{gt.stem}_crowd.png")
    return mask_iou(mask, read_mask(gt), read_mask(crowd) if crowd.is_file() else None)


def _speeds(
    runners: dict[str, tuple[MaskFn, int]], photos: list[npt.NDArray[np.uint8]], repeats: int
) -> dict[str, float]:
    """Photos per second of each runner (fn, torch threads): the best of ``repeats`` passes,
    the runners taking turns, so that load from other processes hits them alike."""
    best = dict.fromkeys(runners, 0.0)
    threads = torch.get_num_threads()
    for _ in range(repeats):
        for name, (fn, count) in runners.items():
            torch.set_num_threads(count)
            fn(photos[0])  # warm-up (and after a thread-count change)
            start = time.perf_counter()
            for rgb in photos:
                fn(rgb)
            best[name] = max(best[name], len(photos) / (time.perf_counter() - start))
    torch.set_num_threads(threads)
    return best


def large_subset(data_dir: Path) -> set[str]:
    """Stems of photos whose largest person covers >= 15 % of the frame."""
    with (data_dir / "manifest.csv").open(newline="") as handle:
        return {
            Path(row["file"]).stem
            for row in csv.DictReader(handle)
            if float(row["largest_person_frac"]) >= LARGE
        }


def compare(data_dir: Path, model: str, repeats: int) -> dict[str, Any]:
    """Parity, IoU and speed of one model on every photo of ``data_dir/images``."""
    photos = list_images(data_dir / "images")
    arrays = [read_rgb(p) for p in photos]
    ours, (theirs, solution) = _ours(model), _mediapipe(model)
    large = large_subset(data_dir)
    rows: list[dict[str, Any]] = []
    for path, rgb in zip(photos, arrays, strict=True):
        a, b = ours(rgb), theirs(rgb)
        gt = data_dir / "masks" / f"{path.stem}.png"
        rows.append(
            {
                "name": path.stem,
                "mad": float(np.abs(a - b).mean()),
                "max_abs": float(np.abs(a - b).max()),
                "iou_ours": _iou(a, gt),
                "iou_mediapipe": _iou(b, gt),
                "large": path.stem in large,
            }
        )
    threads = torch.get_num_threads()
    runners = {"mediapipe": (theirs, threads)}
    for count in sorted({1, threads}):
        runners[f"ours_{count}_thread{'s' if count > 1 else ''}"] = (ours, count)
    speed = _speeds(runners, arrays, repeats)
    solution.close()

    def mean(key: str, only_large: bool = False) -> float:
        values = [r[key] for r in rows if r["large"] or not only_large]
        return float(np.mean(values))

    return {
        "model": model,
        "photos": len(rows),
        "large_photos": sum(r["large"] for r in rows),
        "mad_mean": mean("mad"),
        "mad_max": max(r["mad"] for r in rows),
        "iou_ours_all": mean("iou_ours"),
        "iou_mediapipe_all": mean("iou_mediapipe"),
        "iou_ours_large": mean("iou_ours", True),
        "iou_mediapipe_large": mean("iou_mediapipe", True),
        "photos_per_s": speed,
        "per_image": rows,
    }


def summary(r: dict[str, Any], tolerance: float) -> str:
    """The human-readable lines for one model's results."""
    speed = r["photos_per_s"]
    return "\n".join(
        [
            f"{r['model']:>9}: {r['photos']} photos, mean |ours - mediapipe| = {r['mad_mean']:.5f}"
            f" (worst photo {r['mad_max']:.5f}; tolerance {tolerance})",
            f"  IoU, all photos       ours {r['iou_ours_all']:.4f}  mediapipe "
            f"{r['iou_mediapipe_all']:.4f}",
            f"  IoU, largest >= 15 %  ours {r['iou_ours_large']:.4f}  mediapipe "
            f"{r['iou_mediapipe_large']:.4f}  ({r['large_photos']} photos)",
            "  photos/s              "
            + "  ".join(f"{name} {value:.1f}" for name, value in speed.items()),
        ]
    )


def _litert(model: str) -> Any:
    """The original .tflite of a pose model in the TFLite runtime (``ai-edge-litert``), read
    from the mediapipe package installed beside it."""
    import mediapipe as mp
    from ai_edge_litert.interpreter import Interpreter

    folder = Path(mp.__file__).parent / "modules"
    member = {"pose_detection": "pose_detection", "pose_landmark_full": "pose_landmark"}[model]
    interpreter = Interpreter(model_path=str(folder / member / f"{model}.tflite"))
    interpreter.allocate_tensors()
    return interpreter


def compare_pose(data_dir: Path) -> dict[str, Any]:
    """Our GraphNet ports of the pose detector and pose landmark model against the TFLite
    runtime, on the inputs the pipeline gives them for every coco-person photo: the letterboxed
    photo (detector) and the region of its best detection, else its centre (landmark model).
    Compared: detection scores (sigmoid) and segmentation masks (sigmoid of the logits)."""
    from dof_seg.pose import (
        DETECTOR_SIZE,
        LANDMARK_SIZE,
        Person,
        detect_people,
        letterbox_grid,
        load_pose_net,
        region_grid,
    )

    nets = {m: load_pose_net(m) for m in ("pose_detection", "pose_landmark_full")}
    runtimes = {m: _litert(m) for m in nets}

    def both(model: str, x: torch.Tensor) -> tuple[list[np.ndarray], list[np.ndarray]]:
        with torch.inference_mode():
            ours = [o.permute(0, 2, 3, 1) if o.ndim == 4 else o for o in nets[model](x)]
        interpreter = runtimes[model]
        interpreter.set_tensor(
            interpreter.get_input_details()[0]["index"], x.permute(0, 2, 3, 1).numpy()
        )
        interpreter.invoke()
        order = {d["name"]: d["index"] for d in interpreter.get_output_details()}
        theirs = [interpreter.get_tensor(order[n]) for n in nets[model].spec["output_names"]]
        return [o.numpy() for o in ours], theirs

    def sigmoid(a: np.ndarray) -> np.ndarray:
        out: np.ndarray = 1 / (1 + np.exp(-np.clip(a, -80, 80)))
        return out

    rows: list[dict[str, Any]] = []
    for path in list_images(data_dir / "images"):
        image = torch.from_numpy(read_rgb(path)).permute(2, 0, 1).float() / 255
        H, W = image.shape[-2:]
        grid = letterbox_grid(H, W, DETECTOR_SIZE, image.device)
        x = torch.nn.functional.grid_sample(image[None], grid, align_corners=False) * 2 - 1
        ours, theirs = both("pose_detection", x)
        score_diff = float(np.abs(sigmoid(ours[1]) - sigmoid(theirs[1])).max())
        with torch.inference_mode():
            people = detect_people(nets["pose_detection"], image)
        side = float(min(H, W))
        person = people[0] if people else Person(
            (0, 0, W, H), torch.zeros(4, 2), 0.0, (W / 2, H / 2), side, 0.0
        )  # fmt: skip
        crop = torch.nn.functional.grid_sample(
            image[None], region_grid(person, H, W, LANDMARK_SIZE, image.device), align_corners=False
        )
        ours, theirs = both("pose_landmark_full", crop)
        mask_diff = float(np.abs(sigmoid(ours[2]) - sigmoid(theirs[2])).mean())
        rows.append({"name": path.stem, "score_max_abs": score_diff, "mask_mad": mask_diff})
    return {
        "photos": len(rows),
        "detector_score_max_abs": max(float(r["score_max_abs"]) for r in rows),
        "pose_mask_mad_mean": float(np.mean([r["mask_mad"] for r in rows])),
        "pose_mask_mad_max": max(float(r["mask_mad"]) for r in rows),
        "per_image": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dof_seg.parity", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "data_dir", type=Path, help="coco-person folder: images/, masks/, manifest.csv"
    )
    parser.add_argument("--models", default="general,landscape")
    parser.add_argument("--tolerance", type=float, default=0.01)
    parser.add_argument("--repeats", type=int, default=3, help="timing passes over the photos")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument(
        "--pose",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also check the pose detector and landmark ports against the TFLite runtime "
        "(needs ai-edge-litert)",
    )
    args = parser.parse_args(argv)
    import mediapipe as mp

    results = [compare(args.data_dir, m, args.repeats) for m in args.models.split(",")]
    for result in results:
        print(summary(result, args.tolerance))
    pose = compare_pose(args.data_dir) if args.pose else None
    if pose is not None:
        print(
            f"     pose: {pose['photos']} photos, detector scores max |ours - TFLite| = "
            f"{pose['detector_score_max_abs']:.5f}; pose masks mean |ours - TFLite| = "
            f"{pose['pose_mask_mad_mean']:.5f} (worst photo {pose['pose_mask_mad_max']:.5f})"
        )
    if args.out:
        env = {
            "mediapipe": mp.__version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "torch_threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(),
            "machine": platform.processor() or platform.machine(),
        }
        payload = {"env": env, "results": results, "pose": pose}
        atomic_write_text(args.out, json.dumps(payload, indent=2))
        print(f"wrote {args.out}")
    bad = [
        (r["model"], row["name"], row["mad"])
        for r in results
        for row in r["per_image"]
        if row["mad"] > args.tolerance
    ]
    if pose is not None:
        bad += [
            ("pose", row["name"], max(row["mask_mad"], row["score_max_abs"]))
            for row in pose["per_image"]
            if row["mask_mad"] > args.tolerance or row["score_max_abs"] > args.tolerance
        ]
    for model, name, mad in bad:
        print(f"FAIL {model} {name}: mean abs difference {mad:.5f} > {args.tolerance}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
