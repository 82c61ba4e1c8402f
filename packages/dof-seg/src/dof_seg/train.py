"""Fine-tune DeepLabV3+ on a folder of photos and masks (`dof seg train`).

Typical use is distillation: run the accurate ``deeplabv3`` (ResNet-101) once over a photo
collection, then train a faster DeepLabV3+ on its masks. Each step draws ``batch_size`` random
photos, takes a random square crop (35-100 % of the shorter side), flips half of them, resizes
to ``size`` and minimises BCE + soft Dice on the person logit. "poly" learning-rate decay, as
DeepLab trains.

The run folder holds ``config.json``, ``log.jsonl`` (step, loss, lr), ``checkpoint.pt``
(everything to resume exactly: model, optimiser, scheduler, random state, step; loaded with
``weights_only=True``) and ``model.safetensors`` (the weights to share and to load with
``get_segmenter("deeplabv3plus", checkpoint=...)``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dof_io import atomic_path, atomic_write_text, list_images, read_mask, read_rgb
from dof_seg.deeplab import IMAGENET_MEAN, IMAGENET_STD, normalize
from dof_seg.deeplabv3plus import DeepLabV3PlusSpec, build_deeplabv3plus, save_checkpoint
from dof_seg.errors import TrainDataError


@dataclass(frozen=True)
class TrainConfig:
    """Fine-tuning settings (written to ``config.json`` in the run folder)."""

    encoder: str = "tu-xception65"
    encoder_weights: str | None = "imagenet"
    size: int = 512
    batch_size: int = 8
    steps: int = 2000
    lr: float = 1e-4
    weight_decay: float = 1e-4
    seed: int = 0
    save_every: int = 500
    min_crop: float = 0.35

    def validate(self) -> TrainConfig:
        if self.size % 16 or self.size < 32:
            raise TrainDataError(f"size must be a multiple of 16, at least 32; got {self.size}")
        if self.batch_size < 1 or self.steps < 1 or self.save_every < 1:
            raise TrainDataError("batch_size, steps and save_every must be >= 1")
        if not 0 < self.min_crop <= 1:
            raise TrainDataError(f"min_crop must be in (0, 1]; got {self.min_crop}")
        return self


def find_pairs(photos_dir: str | Path, masks_dir: str | Path) -> list[tuple[Path, Path]]:
    """(photo, mask) pairs matched by file stem; masks as ``<stem>.png`` (RGBA or grey)."""
    masks = {p.stem: p for p in list_images(masks_dir) if not p.stem.endswith("_crowd")}
    pairs = [(p, masks[p.stem]) for p in list_images(photos_dir) if p.stem in masks]
    if not pairs:
        raise TrainDataError(
            f"no photo in {photos_dir} has a mask of the same stem in {masks_dir} "
            f"({len(masks)} masks found): masks must be named <photo stem>.png"
        )
    return pairs


def random_crop(
    photo: np.ndarray, mask: np.ndarray, size: int, min_crop: float, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """A random square crop of a (H, W, 3) uint8 photo and its (H, W) mask, resized to size.

    Returns:
        ((3, size, size) float in [0, 1], (1, size, size) float in [0, 1]).
    """
    H, W = mask.shape
    draw = torch.rand(4, generator=generator).tolist()
    side = max(1, round(min(H, W) * (min_crop + (1 - min_crop) * draw[0])))
    top, left = round((H - side) * draw[1]), round((W - side) * draw[2])
    image = torch.from_numpy(photo[top : top + side, left : left + side].copy())
    target = torch.from_numpy(mask[top : top + side, left : left + side].copy())
    image = image.permute(2, 0, 1)[None].float() / 255  # (1, 3, s, s)
    target = target[None, None].float()  # (1, 1, s, s)
    image = F.interpolate(image, size=(size, size), mode="bilinear", antialias=True)
    target = F.interpolate(target, size=(size, size), mode="bilinear", antialias=True)
    if draw[3] < 0.5:
        image, target = image.flip(-1), target.flip(-1)
    return image[0], target[0]


def segmentation_loss(logits: Tensor, target: Tensor) -> Tensor:
    """BCE-with-logits plus soft Dice, both on (B, 1, H, W); target in [0, 1]."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    prob = torch.sigmoid(logits)
    inter = (prob * target).sum((1, 2, 3))
    dice = 1 - (2 * inter + 1) / (prob.sum((1, 2, 3)) + target.sum((1, 2, 3)) + 1)
    return bce + dice.mean()


def _sample(
    pairs: list[tuple[Path, Path]], config: TrainConfig, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    picks = torch.randint(len(pairs), (config.batch_size,), generator=generator).tolist()
    crops = [
        random_crop(
            read_rgb(pairs[i][0]), read_mask(pairs[i][1]), config.size, config.min_crop, generator
        )
        for i in picks
    ]
    return torch.stack([c[0] for c in crops]), torch.stack([c[1] for c in crops])


def _save(
    run_dir: Path, state: dict[str, object], model: torch.nn.Module, spec: DeepLabV3PlusSpec
) -> None:
    with atomic_path(run_dir / "checkpoint.pt") as tmp:
        torch.save(state, tmp)
    save_checkpoint(model, spec, run_dir / "model.safetensors")


def _trim_log(path: Path, step: int) -> None:
    """Drop log lines written after the checkpoint we resume from (they will be redone)."""
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if line and json.loads(line)["step"] <= step]
        atomic_write_text(path, "".join(line + "\n" for line in kept))


def train_deeplabv3plus(
    photos_dir: str | Path,
    masks_dir: str | Path,
    run_dir: str | Path,
    config: TrainConfig = TrainConfig(),
    *,
    device: str = "cpu",
    on_step: Callable[[int, float], None] | None = None,
) -> Path:
    """Train (or resume training) and return the path of ``model.safetensors``."""
    config.validate()
    pairs = find_pairs(photos_dir, masks_dir)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    spec = DeepLabV3PlusSpec(encoder=config.encoder, size=config.size)
    model = build_deeplabv3plus(spec, config.encoder_weights).to(device).train()
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: (1 - step / config.steps) ** 0.9
    )
    generator = torch.Generator().manual_seed(config.seed)
    step = 0
    checkpoint = run_dir / "checkpoint.pt"
    if checkpoint.is_file():  # resume exactly where the last save left off
        state = torch.load(checkpoint, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"].cpu())
        torch.set_rng_state(state["torch_rng"].cpu())  # dropout in the ASPP head draws from it
        if torch.cuda.is_available() and "cuda_rng" in state:
            torch.cuda.set_rng_state_all(list(state["cuda_rng"]))
        step = int(state["step"])
        _trim_log(run_dir / "log.jsonl", step)
    atomic_write_text(run_dir / "config.json", json.dumps(asdict(config), indent=2))
    while step < config.steps:
        images, targets = _sample(pairs, config, generator)
        logits = model(normalize(images.to(device), IMAGENET_MEAN, IMAGENET_STD))
        loss = segmentation_loss(logits, targets.to(device))
        optimizer.zero_grad(set_to_none=True)
        torch.autograd.backward(loss)
        optimizer.step()
        scheduler.step()
        step += 1
        value = float(loss.detach())
        with (run_dir / "log.jsonl").open("a", encoding="utf-8") as log:
            log.write(
                json.dumps({"step": step, "loss": value, "lr": scheduler.get_last_lr()[0]}) + "\n"
            )
        if step % config.save_every == 0 or step == config.steps:
            state = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "generator": generator.get_state(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                "step": step,
                "config": asdict(config),
            }
            _save(run_dir, state, model, spec)
        if on_step is not None:  # after the save, so a callback may stop the run safely
            on_step(step, value)
    return run_dir / "model.safetensors"
