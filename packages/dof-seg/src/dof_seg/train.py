"""Fine-tune DeepLabV3+ on a folder of photos and masks (`dof seg train`).

Typical use is distillation: run the accurate ``deeplabv3`` (ResNet-101) once over a photo
collection, then train a faster DeepLabV3+ on its masks. Each step draws ``batch_size`` random
photos, takes a random square crop (35-100 % of the shorter side), flips half of them, resizes
to ``size`` and minimises BCE + soft Dice on the person logit. "poly" learning-rate decay, as
DeepLab trains.

The run folder holds ``config.json``, ``log.jsonl`` (step, loss, lr), ``checkpoint.pt``
(everything to resume exactly: model, optimiser, scheduler, random state, step; loaded with
``weights_only=True``) and ``model.safetensors`` (the weights to share and to load with
``get_segmenter("deeplabv3plus", checkpoint=...)``). The run-folder rules are dof-gan's, from
dof-io: the folder is locked while training, an existing run is refused unless ``resume``, a
resumed run trims its log to the checkpoint's step, and losses stay on the device between saves
(no host sync per step).
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

from dof_io import atomic_write_text, folder_lock, list_images, read_mask, read_rgb
from dof_io.runs import append_jsonl, check_run_folder, trim_jsonl
from dof_io.tensors import image_to_tensor, mask_to_tensor
from dof_io.training import load_state, rng_states, save_state, set_rng_states
from dof_seg.deeplab import IMAGENET_MEAN, IMAGENET_STD, normalize
from dof_seg.deeplabv3plus import DeepLabV3PlusSpec, build_deeplabv3plus, save_checkpoint
from dof_seg.errors import RunFolderError, TrainDataError


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
    image = image_to_tensor(photo[top : top + side, left : left + side])  # (1, 3, s, s)
    target = mask_to_tensor(mask[top : top + side, left : left + side])  # (1, 1, s, s)
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
    run_dir: Path,
    state: dict[str, object],
    model: torch.nn.Module,
    spec: DeepLabV3PlusSpec,
    pending: list[tuple[int, Tensor, float]],
) -> None:
    """Log the pending steps (one host sync), then the checkpoint, then the shared weights."""
    losses = torch.stack([loss for _, loss, _ in pending]).tolist() if pending else []
    rows = [
        {"step": step, "loss": loss, "lr": lr}
        for (step, _, lr), loss in zip(pending, losses, strict=True)
    ]
    append_jsonl(run_dir / "log.jsonl", rows)
    pending.clear()
    save_state(state, run_dir / "checkpoint.pt")
    save_checkpoint(model, spec, run_dir / "model.safetensors")


def train_deeplabv3plus(
    photos_dir: str | Path,
    masks_dir: str | Path,
    run_dir: str | Path,
    config: TrainConfig = TrainConfig(),
    *,
    device: str = "cpu",
    resume: bool = False,
    on_step: Callable[[int, Tensor], None] | None = None,
) -> Path:
    """Train into the run folder ``run_dir`` (with ``resume``, continue it from its checkpoint)
    and return the path of ``model.safetensors``.

    ``on_step(step, loss)`` is called after each step with the loss still on the device.

    Raises:
        RunFolderError: ``run_dir`` holds a run and ``resume`` is off, or there is nothing to
            resume; dof_io.FolderLockedError: another process trains into it.
        TrainDataError: no usable photo and mask pairs.
    """
    config.validate()
    pairs = find_pairs(photos_dir, masks_dir)
    run_dir = check_run_folder(run_dir, resume=resume, error=RunFolderError)
    with folder_lock(run_dir) as lock:
        check_run_folder(run_dir, resume=resume, error=RunFolderError)  # again, under the lock
        lock.remove_stale_temp_files()
        return _train(pairs, run_dir, config, device, on_step)


def _train(
    pairs: list[tuple[Path, Path]],
    run_dir: Path,
    config: TrainConfig,
    device: str,
    on_step: Callable[[int, Tensor], None] | None,
) -> Path:
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
        state = load_state(checkpoint, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"].cpu())
        set_rng_states(state["rng"])  # dropout in the ASPP head draws from torch's
        step = int(state["step"])
    trim_jsonl(run_dir / "log.jsonl", step)
    atomic_write_text(run_dir / "config.json", json.dumps(asdict(config), indent=2))
    pending: list[tuple[int, Tensor, float]] = []  # (step, loss on the device, lr) to log
    while step < config.steps:
        images, targets = _sample(pairs, config, generator)
        logits = model(normalize(images.to(device), IMAGENET_MEAN, IMAGENET_STD))
        loss = segmentation_loss(logits, targets.to(device))
        optimizer.zero_grad(set_to_none=True)
        torch.autograd.backward(loss)
        optimizer.step()
        scheduler.step()
        step += 1
        pending.append((step, loss.detach(), float(scheduler.get_last_lr()[0])))
        if step % config.save_every == 0 or step == config.steps:
            state = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "generator": generator.get_state(),
                "rng": rng_states(),
                "step": step,
                "config": asdict(config),
            }
            _save(run_dir, state, model, spec, pending)
        if on_step is not None:  # after the save, so a callback may stop the run safely
            on_step(step, loss.detach())
    return run_dir / "model.safetensors"
