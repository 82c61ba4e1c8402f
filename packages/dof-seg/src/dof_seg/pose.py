"""Find every person: MediaPipe's BlazePose person detector, and the pose model's mask per person.

What ``mp.solutions.pose`` does on one photo (mediapipe==0.10.21, ``static_image_mode``), for
every person the detector finds rather than only the first:

1. Detector (``pose_detection.tflite``): the photo letterboxed into 224x224 (aspect kept, zero
   border), values in [-1, 1]; 2254 SSD anchors (strides 8, 16, 32, 32, 32, fixed size); each
   anchor regresses a box and 4 keypoints (x, y order); score = sigmoid (clipped at +-100),
   kept from 0.5, weighted non-maximum suppression at IoU 0.3; letterbox removed.
2. Region of interest: centred on keypoint 0 (mid-hip), side 2 x |kp1 - kp0| x 1.25 (kp1 spans
   the body's enclosing circle), turned so that kp0 -> kp1 points up.
3. Landmark model (``pose_landmark_full.tflite``) on that region at 256x256, [0, 1]: besides
   landmarks it gives a 256x256 segmentation logit map and a pose-presence score; the mask is
   the sigmoid of the logits, warped back into the photo (zero outside the region).

People are merged by a per-pixel maximum; ``labels`` says which person owns which pixel (the
exchange format of :mod:`dof_seg.instances`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from dof_seg.graph_net import GraphNet, load_graph_net

DETECTOR_SIZE = 224
LANDMARK_SIZE = 256
_STRIDES = (8, 16, 32, 32, 32)
_HINT = (
    "The weights ship inside dof-seg; reinstall it, or rebuild them with "
    "`python -m dof_seg.convert_tflite WHEEL OUT --model {model}` (see docs/seg.md)."
)


def pose_weights_path(model: str) -> Path:
    """The shipped safetensors file of ``pose_detection`` or ``pose_landmark_full``."""
    return Path(str(resources.files("dof_seg") / "weights" / f"{model}.safetensors"))


def load_pose_net(model: str, weights: str | Path | None = None) -> GraphNet:
    """The converted pose detector or landmark model as a :class:`GraphNet`, float32, eval."""
    path = Path(weights) if weights is not None else pose_weights_path(model)
    return load_graph_net(path, model, _HINT.format(model=model))


def ssd_anchors() -> Tensor:
    """The detector's 2254 anchor centres, (N, 2) as (x, y) in [0, 1]
    (MediaPipe's SsdAnchorsCalculator with the pose detector's options, fixed anchor size)."""
    centres = []
    index = 0
    while index < len(_STRIDES):
        stride = _STRIDES[index]
        layers = sum(1 for s in _STRIDES[index:] if s == stride)  # layers sharing a stride
        cells = math.ceil(DETECTOR_SIZE / stride)
        ys, xs = torch.meshgrid(torch.arange(cells), torch.arange(cells), indexing="ij")
        grid = torch.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], dim=-1).reshape(-1, 1, 2)
        centres.append(grid.expand(-1, 2 * layers, 2).reshape(-1, 2))  # 2 anchors per layer
        index += layers
    return torch.cat(centres).float()


@dataclass(frozen=True)
class Person:
    """One detected person, in the photo's pixel coordinates (x right, y down).

    Attributes:
        box: (x0, y0, x1, y1) of the detector's box.
        keypoints: (4, 2) the detector's keypoints (mid-hip, body circle, two more).
        score: detector confidence in [0, 1].
        center, side, rotation: the landmark model's square region (radians, 0 = upright).
        presence: the landmark model's pose-presence score (NaN before it ran).
    """

    box: tuple[float, float, float, float]
    keypoints: Tensor
    score: float
    center: tuple[float, float]
    side: float
    rotation: float
    presence: float = float("nan")

    @property
    def area(self) -> float:
        return max(self.box[2] - self.box[0], 0.0) * max(self.box[3] - self.box[1], 0.0)


def letterbox_grid(height: int, width: int, size: int, device: torch.device) -> Tensor:
    """grid_sample grid (1, size, size, 2) putting the whole photo, aspect kept and centred,
    into a size x size square (MediaPipe's ImageToTensor with keep_aspect_ratio)."""
    long = max(height, width)
    t = (torch.arange(size, device=device, dtype=torch.float32) + 0.5) / size  # in [0, 1]
    x = t * long - (long - width) / 2  # photo pixel coordinates (edges at 0 and width)
    y = t * long - (long - height) / 2
    gx, gy = 2 * x / width - 1, 2 * y / height - 1
    return torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], dim=-1)[None]


def _iou(box: Tensor, boxes: Tensor) -> Tensor:
    x0 = torch.maximum(box[0], boxes[:, 0])
    y0 = torch.maximum(box[1], boxes[:, 1])
    x1 = torch.minimum(box[2], boxes[:, 2])
    y1 = torch.minimum(box[3], boxes[:, 3])
    inter = (x1 - x0).clamp_min(0) * (y1 - y0).clamp_min(0)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / (area + areas - inter).clamp_min(1e-12)


def weighted_nms(
    boxes: Tensor, points: Tensor, scores: Tensor, iou: float
) -> list[tuple[Tensor, Tensor, float]]:
    """MediaPipe's WEIGHTED non-maximum suppression: each cluster (IoU > ``iou`` with its best
    box) becomes the score-weighted mean of its boxes and keypoints, with the best score."""
    order = torch.argsort(scores, descending=True)
    boxes, points, scores = boxes[order], points[order], scores[order]
    alive = torch.ones(len(scores), dtype=torch.bool)
    kept = []
    for i in range(len(scores)):
        if not alive[i]:
            continue
        cluster = alive & (_iou(boxes[i], boxes) > iou)
        cluster[i] = True
        weights = scores[cluster][:, None]
        total = weights.sum()
        box = (boxes[cluster] * weights).sum(0) / total
        kps = (points[cluster] * weights[:, :, None]).sum(0) / total
        kept.append((box, kps, float(scores[i])))
        alive &= ~cluster
    return kept


def _candidates(
    detector: GraphNet, image: Tensor, min_score: float
) -> tuple[Tensor, Tensor, Tensor]:
    """Decoded detections of one photo before suppression, in its pixel coordinates:
    boxes (n, 4) as x0, y0, x1, y1; keypoints (n, 4, 2); scores (n,)."""
    _, H, W = image.shape
    grid = letterbox_grid(H, W, DETECTOR_SIZE, image.device)
    x = F.grid_sample(image[None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    raw, logits = detector(x * 2 - 1)  # (1, 2254, 12), (1, 2254, 1)
    raw, logits = raw[0].float(), logits[0, :, 0].float()
    scores = torch.sigmoid(logits.clamp(-100, 100))
    keep = scores >= min_score
    anchors = ssd_anchors().to(raw.device)[keep]
    raw, scores = raw[keep] / DETECTOR_SIZE, scores[keep]
    long = max(H, W)
    offset = torch.tensor([(long - W) / 2, (long - H) / 2], device=raw.device)
    centre, half = anchors + raw[:, :2], raw[:, 2:4] / 2
    boxes = torch.cat([centre - half, centre + half], dim=1) * long - offset.repeat(2)
    points = (anchors[:, None] + raw[:, 4:].reshape(-1, 4, 2)) * long - offset
    return boxes, points, scores


def tiles(height: int, width: int, levels: tuple[int, ...]) -> list[tuple[int, int, int, int]]:
    """(top, left, height, width) of the crops the detector looks at: for each level n, an n x n
    grid of overlapping crops, each 3 / (2n + 1) of the photo's height and width."""
    out = []
    for n in levels:
        if n == 1:
            out.append((0, 0, height, width))
            continue
        h, w = math.ceil(height * 3 / (2 * n + 1)), math.ceil(width * 3 / (2 * n + 1))
        for i in range(n):
            for j in range(n):
                top = round(i * (height - h) / (n - 1))
                left = round(j * (width - w) / (n - 1))
                out.append((top, left, h, w))
    return out


def detect_people(
    detector: GraphNet,
    image: Tensor,
    *,
    min_score: float = 0.5,
    nms_iou: float = 0.3,
    levels: tuple[int, ...] = (1,),
) -> list[Person]:
    """Every person the detector finds in one photo, best first.

    Args:
        detector: :func:`load_pose_net("pose_detection") <load_pose_net>`.
        image: (3, H, W) float in [0, 1], on the detector's device.
        min_score: detections below this score are dropped (MediaPipe: 0.5).
        nms_iou: boxes overlapping more than this are merged (MediaPipe: 0.3).
        levels: the detector sees the whole photo (1) and, for each n > 1, an n x n grid of
            overlapping crops, so that people small in the frame are found too. (1,) is
            MediaPipe's behaviour.
    """
    _, H, W = image.shape
    found = []
    for top, left, h, w in tiles(H, W, levels):
        boxes, points, scores = _candidates(
            detector, image[:, top : top + h, left : left + w], min_score
        )
        shift = torch.tensor([left, top], device=boxes.device, dtype=boxes.dtype)
        found.append((boxes + shift.repeat(2), points + shift, scores))
    boxes, points, scores = (torch.cat(parts) for parts in zip(*found, strict=True))
    if scores.numel() == 0:
        return []
    return [
        _with_region(tuple(box.tolist()), kps.cpu(), score)
        for box, kps, score in weighted_nms(boxes, points, scores, nms_iou)
    ]


def _with_region(box: tuple[float, ...], kps: Tensor, score: float) -> Person:
    (x0, y0), (x1, y1) = kps[0].tolist(), kps[1].tolist()
    side = 2 * math.hypot(x1 - x0, y1 - y0) * 1.25
    angle = math.pi / 2 - math.atan2(-(y1 - y0), x1 - x0)
    rotation = (angle + math.pi) % (2 * math.pi) - math.pi
    return Person((box[0], box[1], box[2], box[3]), kps, score, (x0, y0), side, rotation)


def region_grid(person: Person, height: int, width: int, size: int, device: torch.device) -> Tensor:
    """grid_sample grid (1, size, size, 2) of the person's rotated square region."""
    t = (torch.arange(size, device=device, dtype=torch.float32) + 0.5) / size - 0.5
    dy, dx = torch.meshgrid(t * person.side, t * person.side, indexing="ij")
    c, s = math.cos(person.rotation), math.sin(person.rotation)
    x = person.center[0] + dx * c - dy * s
    y = person.center[1] + dx * s + dy * c
    return torch.stack([2 * x / width - 1, 2 * y / height - 1], dim=-1)[None]


def paste_region(mask: Tensor, person: Person, height: int, width: int) -> Tensor:
    """A (1, 1, s, s) mask of the person's region warped back into a (1, 1, H, W) photo frame
    (bilinear, zero outside the region).

    Only the pixels of the region's bounding box (grown by one region pixel, beyond which the
    bilinear sample is exactly zero) are computed: on a 12 MP photo a person is a small part
    of the frame.
    """
    device = mask.device
    c, s = math.cos(person.rotation), math.sin(person.rotation)
    reach = (0.5 + 1 / mask.shape[-1]) * person.side * (abs(c) + abs(s)) + 1
    (cx, cy), out = person.center, mask.new_zeros(1, 1, height, width)
    top, bottom = max(0, math.floor(cy - reach)), min(height, math.ceil(cy + reach) + 1)
    left, right = max(0, math.floor(cx - reach)), min(width, math.ceil(cx + reach) + 1)
    if top >= bottom or left >= right:
        return out
    ys = torch.arange(top, bottom, device=device, dtype=torch.float32) + 0.5
    xs = torch.arange(left, right, device=device, dtype=torch.float32) + 0.5
    yy, xx = torch.meshgrid(ys - cy, xs - cx, indexing="ij")
    u = (xx * c + yy * s) / person.side  # in [-0.5, 0.5] inside the region
    v = (-xx * s + yy * c) / person.side
    grid = torch.stack([2 * u, 2 * v], dim=-1)[None]
    out[..., top:bottom, left:right] = F.grid_sample(
        mask, grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    return out


def pose_masks(
    landmark: GraphNet, image: Tensor, people: list[Person], *, min_presence: float = 0.0
) -> tuple[list[Tensor], list[Person]]:
    """The landmark model's mask of each person at the photo's size: ((1, 1, H, W) each,
    people with their presence score), in the order given; people whose pose-presence score
    is below ``min_presence`` are left out (before their masks are warped to full size)."""
    if not people:
        return [], []
    _, H, W = image.shape
    grids = torch.cat([region_grid(p, H, W, LANDMARK_SIZE, image.device) for p in people])
    crops = F.grid_sample(
        image[None].expand(len(people), -1, -1, -1), grids, mode="bilinear",
        padding_mode="zeros", align_corners=False,
    )  # fmt: skip
    outputs = landmark(crops)
    presence, logits = outputs[1].reshape(-1), outputs[2]  # (n,), (n, 1, 256, 256)
    kept = [i for i in range(len(people)) if float(presence[i]) >= min_presence]
    masks = [paste_region(torch.sigmoid(logits[i : i + 1].float()), people[i], H, W) for i in kept]
    scored = [dataclasses.replace(people[i], presence=float(presence[i])) for i in kept]
    return masks, scored
