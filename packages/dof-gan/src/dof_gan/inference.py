"""Inference: load a trained generator, translate photos of any size, export as safetensors.

A generator can come from a run folder (its ``checkpoints/last.pt``), a training checkpoint
(``.pt``, read with ``weights_only=True``) or an exported ``.safetensors`` file with its JSON
sidecar (same name, ``.json``) that holds the architecture.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

import dof_io
from dof_gan.checkpoint import load_checkpoint
from dof_gan.config import PRESETS, GeneratorConfig
from dof_gan.errors import CheckpointError, ConfigError, MemoryBudgetError, ShapeError
from dof_gan.losses import mask_overlay
from dof_gan.networks import ResnetGenerator
from dof_gan.runlog import last_checkpoint_path
from dof_gan.tiling import (
    DEFAULT_MAX_MEMORY,
    DEFAULT_OVERLAP,
    context_margin,
    downscale_for_stats,
    plan_tile,
    translate_tiled,
)
from dof_io.check import check_image
from dof_io.tensors import PHOTO_FAULTS, image_to_tensor, mask_to_tensor, tensor_to_image

EXPORT_FORMAT = "dof-gan-generator"
DIRECTIONS = {"AtoB": "G", "BtoA": "F"}


@dataclass(frozen=True)
class GeneratorInfo:
    """Where a generator came from and how it is meant to be used."""

    source: Path
    direction: str
    generator: GeneratorConfig
    preset: str | None
    overlay_at_test: bool
    step: int | None

    @property
    def overlay(self) -> bool:
        """Whether its outputs are worth showing with the overlay (eq. 13): meant to be used
        with it, or its preset trains with it."""
        preset = PRESETS.get(self.preset or "")
        return self.overlay_at_test or (preset is not None and preset.mask_overlay)


def sidecar_path(weights: str | Path) -> Path:
    """``G.safetensors`` -> ``G.json``."""
    return Path(weights).with_suffix(".json")


def load_generator(
    path: str | Path, *, direction: str = "AtoB", device: str | torch.device = "cpu"
) -> nn.Module:
    """A trained generator in eval mode, frozen, on ``device``.

    Args:
        path: run folder, ``.pt`` checkpoint, or exported ``.safetensors`` (+ ``.json``).
        direction: ``"AtoB"`` (G: ordinary -> shallow DoF) or ``"BtoA"`` (F).

    Raises:
        CheckpointError: nothing loadable at ``path``; ConfigError: unknown direction.
    """
    return load_generator_with_info(path, direction=direction, device=device)[0]


def load_generator_with_info(
    path: str | Path, *, direction: str = "AtoB", device: str | torch.device = "cpu"
) -> tuple[nn.Module, GeneratorInfo]:
    """:func:`load_generator` plus what the run says about it (preset, overlay at test)."""
    if direction not in DIRECTIONS:
        raise ConfigError("--direction", f"must be AtoB or BtoA; got {direction!r}")
    path = Path(path)
    if path.is_dir():
        path = last_checkpoint_path(path)
        if not path.is_file():
            raise CheckpointError(path, "the run has no checkpoint yet: train it first")
    if path.suffix == ".safetensors":
        weights, meta = _read_exported(path, direction)
    else:
        state = load_checkpoint(path)
        weights = state["networks"][DIRECTIONS[direction]]
        config = state["config"]
        meta = {
            "generator": config["generator"],
            "preset": config.get("preset"),
            "overlay_at_test": config.get("overlay_at_test", False),
            "step": state.get("step"),
        }
    generator_config = GeneratorConfig(**meta["generator"])
    model = ResnetGenerator(generator_config)
    try:
        model.load_state_dict(weights)
    except RuntimeError as err:
        raise CheckpointError(path, f"weights do not fit {generator_config} ({err})") from err
    model.eval().requires_grad_(False).to(device)
    info = GeneratorInfo(path, direction, generator_config, meta.get("preset"),
                         bool(meta.get("overlay_at_test")), meta.get("step"))  # fmt: skip
    return model, info


def _read_exported(path: Path, direction: str) -> tuple[dict[str, Tensor], dict[str, Any]]:
    if not path.is_file():
        raise CheckpointError(path, "no such file")
    sidecar = sidecar_path(path)
    try:
        if sidecar.is_file():
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
        else:
            with safe_open(str(path), framework="pt") as handle:
                header = (handle.metadata() or {}).get("dof_gan")
            if header is None:
                raise CheckpointError(path, f"its sidecar {sidecar.name} is missing; keep the "
                                      "two files together (dof export writes both)")  # fmt: skip
            meta = json.loads(header)
        weights = load_file(str(path), device="cpu")
    except CheckpointError:
        raise
    except Exception as err:
        reason = dof_io.weights_error_reason(err)
        raise CheckpointError(path, f"not a readable exported generator: {reason}") from None
    if meta.get("format") != EXPORT_FORMAT:
        raise CheckpointError(
            sidecar, f"not a dof-gan generator sidecar (format {meta.get('format')!r})"
        )
    if meta.get("direction") != direction:
        raise CheckpointError(path, f"holds the {meta.get('direction')} generator, not {direction}")
    return weights, meta


def export_generator(
    run_or_checkpoint: str | Path, out: str | Path, *, direction: str = "AtoB", half: bool = False
) -> Path:
    """Write one generator as ``out`` (safetensors) and its sidecar ``out.json``, atomically.

    ``half`` stores float16 weights (half the size; :func:`load_generator` loads them back into
    a float32 model, so only the weights are rounded, not the computation).
    """
    out = Path(out)
    if out.suffix != ".safetensors":
        raise ConfigError("-o", f"the export must end in .safetensors; got {out.name}")
    model, info = load_generator_with_info(run_or_checkpoint, direction=direction)
    meta = {
        "format": EXPORT_FORMAT,
        "version": 1,
        "direction": direction,
        "generator": dataclasses.asdict(info.generator),
        "preset": info.preset,
        "overlay_at_test": info.overlay_at_test,
        "step": info.step,
        "dtype": "float16" if half else "float32",
    }
    dtype = torch.float16 if half else torch.float32
    tensors = {
        key: value.to(dtype).contiguous() if value.is_floating_point() else value.contiguous()
        for key, value in model.state_dict().items()
    }
    with dof_io.atomic_path(out) as tmp:
        save_file(tensors, str(tmp), metadata={"dof_gan": json.dumps(meta)})
    dof_io.atomic_write_text(sidecar_path(out), json.dumps(meta, indent=2) + "\n")
    return out


def translate(
    generator: nn.Module,
    image: Tensor,
    *,
    mask: Tensor | None = None,
    overlay: bool = False,
    max_memory: int | None = None,
) -> Tensor:
    """Run a generator on photos of any size.

    Args:
        generator: from :func:`load_generator`.
        image: (B, 3, H, W) float in [0, 1], any H and W from 8 up (padded to a multiple of 4
            by reflection, cropped back).
        mask: (B, 1, H, W) in [0, 1], 1 = person; needed with ``overlay``.
        overlay: put the input's person back over the output (eq. 13); where the mask is 1 the
            output equals the input exactly.
        max_memory: bytes one generator pass may use; a photo that needs more is translated
            in overlapping tiles (:mod:`dof_gan.tiling`) with instance-norm statistics from the
            whole photo, downscaled to fit. ``None``: never tile.

    Returns:
        (B, 3, H, W) float32 in [0, 1], on the generator's device, computed under
        ``torch.inference_mode()``.

    Raises:
        ShapeError: wrong shapes or dtype, or ``overlay`` without a mask.
        MemoryBudgetError: with ``max_memory``, a photo too large even in tiles (before any
            work).
    """
    check_image(image, "image", kind=Tensor, error=ShapeError)
    if min(image.shape[-2:]) < 8:
        h, w = image.shape[-2:]
        raise ShapeError(f"translate needs images of at least 8x8 pixels; got {w}x{h}")
    if overlay and mask is None:
        raise ShapeError("overlay=True needs a mask (B, 1, H, W); pass mask= or overlay=False")
    device = next(generator.parameters()).device
    with torch.inference_mode():
        x = image.to(device, torch.float32)
        h, w = x.shape[-2:]
        pad_h, pad_w = -h % 4, -w % 4
        padded = x * 2 - 1
        if pad_h or pad_w:
            padded = F.pad(padded, (0, pad_w, 0, pad_h), mode="reflect")
        height, width = padded.shape[-2:]
        tile = None if max_memory is None else plan_tile(generator, height, width, max_memory)
        if tile is None:
            result: Tensor = generator(padded)
        else:  # one photo at a time, in tiles
            overlap, margin = min(DEFAULT_OVERLAP, tile // 16 * 4), context_margin(generator)
            result = torch.cat([
                translate_tiled(generator, one, tile=tile, overlap=overlap,
                                stats_image=downscale_for_stats(one, (tile + 2 * margin) ** 2))
                for one in torch.split(padded, 1)
            ])  # fmt: skip
        out = ((result[..., :h, :w] + 1) / 2).clamp(0, 1)
        if overlay:
            assert mask is not None
            out = mask_overlay(out, x, mask.to(device, torch.float32))
    return out


def check_translate_memory(
    generator: nn.Module, height: int, width: int, max_memory: int | None
) -> None:
    """Refuse, before any work, a (height, width) photo that :func:`translate` with
    ``max_memory`` could not do within the budget even in tiles (None: no budget).

    Raises:
        MemoryBudgetError: the message says to lower the size or raise ``--max-memory``.
    """
    if max_memory is not None:
        plan_tile(generator, height + -height % 4, width + -width % 4, max_memory)


def find_mask(photo: Path, masks_dir: Path | None) -> Path:
    """The mask for ``photo``: ``masks_dir/<stem>.png``, else the photo's own alpha channel.

    Raises:
        dof_io.ImageReadError: no mask found (the message says where it was looked for).
    """
    if masks_dir is not None:
        candidate = masks_dir / f"{photo.stem}.png"
        if candidate.is_file():
            return candidate
        raise dof_io.ImageReadError(photo, f"no mask {candidate}: make one with dof seg")
    if dof_io.has_alpha_mask(photo):
        return photo
    raise dof_io.ImageReadError(photo, "no mask: give --masks DIR or an RGBA photo (dof seg)")


def apply_to_photo(
    generator: nn.Module,
    photo: str | Path,
    *,
    mask: str | Path | None = None,
    overlay: bool = False,
    both: bool = False,
    max_memory: int | None = DEFAULT_MAX_MEMORY,
) -> dict[str, np.ndarray[Any, np.dtype[np.uint8]]]:
    """Translate one photo file at full size (in tiles when it needs more than ``max_memory``
    bytes; see :func:`translate`).

    Returns:
        ``{"plain": ...}``, ``{"overlay": ...}``, or both keys with ``both``; (H, W, 3) uint8.
    """
    rgb = dof_io.read_rgb(photo)
    image = image_to_tensor(rgb)
    mask_t = None
    if overlay or both:
        if mask is None:
            raise ShapeError("overlay needs a mask path")
        mask_np = dof_io.read_mask(mask, size=rgb.shape[:2])
        mask_t = mask_to_tensor(mask_np)
    plain = translate(generator, image, max_memory=max_memory)
    results = {}
    if both or not overlay:
        results["plain"] = plain
    if mask_t is not None:
        results["overlay"] = mask_overlay(plain, image.to(plain.device), mask_t.to(plain.device))
    return {key: tensor_to_image(value) for key, value in results.items()}


#: a photo's own faults in :func:`apply_files`, the job goes on past them: dof-io's rule
#: (unreadable, no mask or a mask of another size, the device out of memory on it), too large
#: for the budget even in tiles, too small for the generator. Anything else (a RuntimeError
#: from a bug or a sticky CUDA error) stops the job with its traceback.
PHOTO_FAILURES: tuple[type[BaseException], ...] = (*PHOTO_FAULTS, MemoryBudgetError, ShapeError)


def apply_files(
    photos: Iterable[str | Path],
    out_dir: str | Path,
    *,
    generator: nn.Module,
    masks: str | Path | None = None,
    overlay: bool = False,
    both: bool = False,
    overwrite: bool = False,
    max_memory: int | None = DEFAULT_MAX_MEMORY,
) -> Iterator[dof_io.PhotoEvent]:
    """Translate photo files at full size into ``out_dir``, one ``dof_io.PhotoEvent`` per photo.

    ``x.jpg`` writes ``out_dir/x.png`` (the overlay result with ``overlay``), or with ``both``
    ``x.png`` and ``x_overlay.png``. The overlay's mask is ``masks/<stem>.png`` or the photo's
    own alpha (:func:`find_mask`). Outputs follow ``dof_io.plan_outputs``: existing ones are
    skipped unless ``overwrite``, none overwrites a photo or mask, and under torchrun each
    process takes its share. A photo that fails by its own fault (:data:`PHOTO_FAILURES`) is
    reported and the job goes on; any other error stops it with its traceback.
    """
    masks = None if masks is None else Path(masks)
    tails = {"plain": ".png", "overlay": "_overlay.png"} if both else {"": ".png"}

    def work(planned: dof_io.PlannedPhoto) -> None:
        mask = find_mask(planned.photo, masks) if (overlay or both) else None
        images = apply_to_photo(generator, planned.photo, mask=mask, overlay=overlay,
                                both=both, max_memory=max_memory)  # fmt: skip
        for key, image in images.items():
            dof_io.write_rgb(planned.targets[key] if both else planned.target, image)

    yield from dof_io.process_photos(photos, out_dir, work, tails=tails, reads=[masks],
                                     overwrite=overwrite, failures=PHOTO_FAILURES)  # fmt: skip


#: (image, mask) -> image, the callable benchmarks and galleries take (dof_eval's Renderer).
Renderer = Callable[[Tensor, Tensor], Tensor]


def as_renderers(generator: nn.Module, label: str, *, overlay: bool) -> dict[str, Renderer]:
    """A generator as image functions for benchmarks and galleries (``dof_eval``).

    Args:
        generator: from :func:`load_generator`.
        label: the name of its row or column.
        overlay: add ``"<label> + overlay"``: the output with the input's person put back
            (eq. 13).

    Returns:
        ``{label: (image, mask) -> G(image)}`` (the mask is ignored), plus the overlay entry;
        each takes (B, 3, H, W) images and (B, 1, H, W) masks in [0, 1] on any device and
        returns (B, 3, H, W) float32 in [0, 1] on the CPU.
    """
    renderers: dict[str, Renderer] = {label: lambda x, m: translate(generator, x).cpu()}
    if overlay:
        renderers[f"{label} + overlay"] = lambda x, m: translate(
            generator, x, mask=m, overlay=True
        ).cpu()
    return renderers


def load_renderers(
    path: str | Path, label: str, *, device: str | torch.device = "cpu"
) -> dict[str, Renderer]:
    """:func:`as_renderers` of the G: A -> B generator at ``path`` (run folder, ``.pt`` or
    ``.safetensors``), with the overlay entry where :attr:`GeneratorInfo.overlay` says so."""
    generator, info = load_generator_with_info(path, direction="AtoB", device=device)
    return as_renderers(generator, label, overlay=info.overlay)
