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
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

import dof_io
from dof_gan.checkpoint import load_checkpoint
from dof_gan.config import PRESETS, GeneratorConfig
from dof_gan.errors import CheckpointError, ConfigError, MemoryBudgetError, ShapeError
from dof_gan.losses import mask_overlay
from dof_gan.networks import GENERATOR_CLASSES, as_photo_generator
from dof_gan.runlog import last_checkpoint_path
from dof_gan.tiling import DEFAULT_MAX_MEMORY
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
    averaged: bool = False  # the run's average of G's weights (dof_gan.average), not G itself

    @property
    def prior(self) -> str:
        """The segmenter whose person mask the generator reads ("" = the photo alone)."""
        return self.generator.prior

    @property
    def has_map(self) -> bool:
        """Whether it renders through a defocus map (that ``translate_with_map`` returns)."""
        return self.generator.kind != "resnet"

    @property
    def label(self) -> str:
        """What a table or gallery calls it: the kind, and the segmenter it has inside."""
        if not self.has_map:
            return "paper ResNet"
        return f"defocus + {self.prior}" if self.prior else "defocus, photo only"

    @property
    def overlay(self) -> bool:
        """Whether its outputs are worth showing with the overlay (eq. 13): meant to be used
        with it, or its preset trains with it. Not for a generator with a defocus map: its map
        keeps the subject in focus itself (the studio forces chosen people into focus)."""
        preset = PRESETS.get(self.preset or "")
        trained = self.overlay_at_test or (preset is not None and preset.mask_overlay)
        return trained and not self.has_map


#: the defocus generator dof-gan ships (docs/results.md says how it was trained and scores)
BUNDLED = "defocus-selfie.safetensors"


def bundled_generator() -> Path:
    """The exported defocus generator that ships with dof-gan (with its ``.json``): the map
    network reads the built-in ``selfie`` segmenter's mask; ``dof demo`` and ``dof studio``
    use it."""
    return Path(__file__).parent / "weights" / BUNDLED


def sidecar_path(weights: str | Path) -> Path:
    """``G.safetensors`` -> ``G.json``."""
    return Path(weights).with_suffix(".json")


def load_generator(
    path: str | Path,
    *,
    direction: str = "AtoB",
    device: str | torch.device = "cpu",
    average: bool = True,
) -> nn.Module:
    """A trained generator in eval mode, frozen, on ``device``.

    Args:
        path: run folder, ``.pt`` checkpoint, or exported ``.safetensors`` (+ ``.json``).
        direction: ``"AtoB"`` (G: ordinary -> shallow DoF) or ``"BtoA"`` (F).
        average: from a checkpoint of a run with ``--ema-images``, the average of G's weights
            (what the run is scored and exported by); ``False`` loads G as last trained.

    Raises:
        CheckpointError: nothing loadable at ``path``; ConfigError: unknown direction.
    """
    return load_generator_with_info(path, direction=direction, device=device, average=average)[0]


def load_generator_with_info(
    path: str | Path,
    *,
    direction: str = "AtoB",
    device: str | torch.device = "cpu",
    average: bool = True,
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
        name = DIRECTIONS[direction]
        if name not in state["networks"]:
            raise CheckpointError(path, f"has no {direction} generator ({name}): the run is "
                                  "one-sided (G and D_B alone)")  # fmt: skip
        averaged = average and name == "G" and "ema" in state
        weights = state["ema"]["G"] if averaged else state["networks"][name]
        config = state["config"]
        generator = config["generator"]
        if name == "F":  # F is always the paper's ResNet, reading no prior (steps.CycleGAN)
            generator = {**generator, "kind": "resnet", "prior": ""}
        meta = {
            "generator": generator,
            "preset": config.get("preset"),
            "overlay_at_test": config.get("overlay_at_test", False),
            "step": state.get("step"),
            "averaged": averaged,
        }
    generator_config = GeneratorConfig(**meta["generator"])
    model = GENERATOR_CLASSES[generator_config.kind](generator_config)
    try:
        model.load_state_dict(weights)
    except RuntimeError as err:
        raise CheckpointError(path, f"weights do not fit {generator_config} ({err})") from err
    model.eval().requires_grad_(False).to(device)
    info = GeneratorInfo(path, direction, generator_config, meta.get("preset"),
                         bool(meta.get("overlay_at_test")), meta.get("step"),
                         bool(meta.get("averaged")))  # fmt: skip
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
    run_or_checkpoint: str | Path,
    out: str | Path,
    *,
    direction: str = "AtoB",
    half: bool = False,
    average: bool = True,
) -> Path:
    """Write one generator as ``out`` (safetensors) and its sidecar ``out.json``, atomically.

    ``half`` stores float16 weights (half the size; :func:`load_generator` loads them back into
    a float32 model, so only the weights are rounded, not the computation). ``average``: as
    :func:`load_generator` (the sidecar's ``averaged`` says which was written).
    """
    out = Path(out)
    if out.suffix != ".safetensors":
        raise ConfigError("-o", f"the export must end in .safetensors; got {out.name}")
    model, info = load_generator_with_info(run_or_checkpoint, direction=direction, average=average)
    meta = {
        "format": EXPORT_FORMAT,
        "version": 1,
        "direction": direction,
        "generator": dataclasses.asdict(info.generator),
        "preset": info.preset,
        "overlay_at_test": info.overlay_at_test,
        "step": info.step,
        "averaged": info.averaged,
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
    prior: Tensor | None = None,
    mask: Tensor | None = None,
    overlay: bool = False,
    max_memory: int | None = None,
    **render: Any,
) -> Tensor:
    """Run a generator on photos of any size (:func:`translate_with_map` without the map)."""
    return translate_with_map(generator, image, prior=prior, mask=mask, overlay=overlay,
                              max_memory=max_memory, **render)[0]  # fmt: skip


def translate_with_map(
    generator: nn.Module,
    image: Tensor,
    *,
    prior: Tensor | None = None,
    mask: Tensor | None = None,
    overlay: bool = False,
    max_memory: int | None = None,
    **render: Any,
) -> tuple[Tensor, Tensor | None]:
    """Run a generator on photos of any size; its defocus map too, where it has one.

    Args:
        generator: from :func:`load_generator`.
        image: (B, 3, H, W) float in [0, 1], any H and W from 8 up.
        prior: (B, 1, H, W) person mask from the segmenter the generator reads
            (:attr:`GeneratorInfo.prior`); needed by such a generator, ignored by others.
        mask: (B, 1, H, W) in [0, 1], 1 = person; needed with ``overlay``.
        overlay: put the input's person back over the output (eq. 13); where the mask is 1 the
            output equals the input exactly.
        max_memory: bytes one pass may use; a photo that needs more is done in parts (tiles
            with shared instance-norm statistics for a painting generator, bands of rows for
            the lens). ``None``: at once.
        render: a defocus generator's drawing options (``aperture``, ``focus``, ``levels``,
            ``upsample``, ``work_size``, ``highlights``; see
            :meth:`dof_gan.defocus.DefocusGenerator.translate_photo`).

    Returns:
        (B, 3, H, W) float32 in [0, 1] on the generator's device, and the (B, 1, H, W) radius
        map in pixels or ``None``; computed under ``torch.inference_mode()``.

    Raises:
        ShapeError: wrong shapes or dtype, ``overlay`` without a mask, a prior of the wrong size.
        MemoryBudgetError: with ``max_memory``, a photo too large even in parts (before any
            work).
    """
    check_image(image, "image", kind=Tensor, error=ShapeError)
    if min(image.shape[-2:]) < 8:
        h, w = image.shape[-2:]
        raise ShapeError(f"translate needs images of at least 8x8 pixels; got {w}x{h}")
    if overlay and mask is None:
        raise ShapeError("overlay=True needs a mask (B, 1, H, W); pass mask= or overlay=False")
    device = next(generator.parameters()).device
    if prior is not None:
        check_image(prior, "prior", kind=Tensor, error=ShapeError, channels=1)
        if prior.shape[-2:] != image.shape[-2:]:
            raise ShapeError(f"prior must be {tuple(image.shape[-2:])} like the image; "
                             f"got {tuple(prior.shape[-2:])}")  # fmt: skip
        prior = prior.to(device, torch.float32)
    with torch.inference_mode():
        x = image.to(device, torch.float32)
        photo = as_photo_generator(generator)
        out, radius = photo.translate_photo(x, prior=prior, max_memory=max_memory, **render)
        if overlay:
            assert mask is not None
            out = mask_overlay(out, x, mask.to(device, torch.float32))
    return out, radius


def check_translate_memory(
    generator: nn.Module, height: int, width: int, max_memory: int | None
) -> None:
    """Refuse, before any work, a (height, width) photo that :func:`translate` with
    ``max_memory`` could not do within the budget even in parts (None: no budget); each
    generator knows its own needs (``generator.check_memory``).

    Raises:
        MemoryBudgetError: the message says to lower the size or raise ``--max-memory``.
    """
    if max_memory is not None:
        as_photo_generator(generator).check_memory(height, width, max_memory)


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


#: a segmenter as a generator's prior: (B, 3, H, W) in [0, 1] -> (B, 1, H, W) person masks
Prior = Callable[[Tensor], Tensor]


def check_prior(generator: nn.Module, prior: Prior | None) -> None:
    """A generator that reads a segmenter's mask gets one (the message says which to give)."""
    wanted = getattr(generator, "config", None)
    name = getattr(wanted, "prior", "")
    if name and prior is None:
        raise ConfigError(
            "--prior",
            f"this generator reads the {name!r} segmenter's person mask: load it "
            f"(dof_seg.get_segmenter({name!r})) and pass it as prior",
        )


def apply_to_photo(
    generator: nn.Module,
    photo: str | Path,
    *,
    mask: str | Path | None = None,
    overlay: bool = False,
    both: bool = False,
    max_memory: int | None = DEFAULT_MAX_MEMORY,
    prior: Prior | None = None,
    save_map: bool = False,
    **render: Any,
) -> dict[str, np.ndarray[Any, np.dtype[Any]]]:
    """Translate one photo file at full size (in parts when it needs more than ``max_memory``
    bytes; see :func:`translate_with_map`).

    Args:
        prior: the segmenter a generator with a prior reads (:attr:`GeneratorInfo.prior`).
        save_map: also return ``"map"``, the (H, W) float32 radius map in pixels (a generator
            without one returns none).

    Returns:
        ``{"plain": ...}``, ``{"overlay": ...}``, or both keys with ``both``; (H, W, 3) uint8.
    """
    check_prior(generator, prior)
    rgb = dof_io.read_rgb(photo)
    image = image_to_tensor(rgb)
    mask_t = None
    if overlay or both:
        if mask is None:
            raise ShapeError("overlay needs a mask path")
        mask_np = dof_io.read_mask(mask, size=rgb.shape[:2])
        mask_t = mask_to_tensor(mask_np)
    prior_t = None if prior is None else prior(image)
    plain, radius = translate_with_map(generator, image, prior=prior_t, max_memory=max_memory,
                                       **render)  # fmt: skip
    results = {}
    if both or not overlay:
        results["plain"] = plain
    if mask_t is not None:
        results["overlay"] = mask_overlay(plain, image.to(plain.device), mask_t.to(plain.device))
    images: dict[str, np.ndarray[Any, np.dtype[Any]]] = {
        key: tensor_to_image(value) for key, value in results.items()
    }
    if save_map and radius is not None:
        images["map"] = radius[0, 0].float().cpu().numpy()
    return images


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
    prior: Prior | None = None,
    save_map: bool = False,
    **render: Any,
) -> Iterator[dof_io.PhotoEvent]:
    """Translate photo files at full size into ``out_dir``, one ``dof_io.PhotoEvent`` per photo.

    ``x.jpg`` writes ``out_dir/x.png`` (the overlay result with ``overlay``), or with ``both``
    ``x.png`` and ``x_overlay.png``; with ``save_map`` (a generator with a defocus map) also
    ``x_map.png``, the radius map as a grey picture (:func:`dof_io.write_radius_map`). The
    overlay's mask is ``masks/<stem>.png`` or the photo's own alpha (:func:`find_mask`).
    Outputs follow ``dof_io.plan_outputs``: existing ones are skipped unless ``overwrite``,
    none overwrites a photo or mask, and under torchrun each process takes its share. A photo
    that fails by its own fault (:data:`PHOTO_FAILURES`) is reported and the job goes on; any
    other error stops it with its traceback. ``prior`` and ``render``: see
    :func:`apply_to_photo`.
    """
    check_prior(generator, prior)
    masks = None if masks is None else Path(masks)
    tails = {"plain": ".png", "overlay": "_overlay.png"} if both else {"": ".png"}
    if save_map:
        tails = {**tails, "map": "_map.png"}
    keyed = both or save_map

    def work(planned: dof_io.PlannedPhoto) -> None:
        mask = find_mask(planned.photo, masks) if (overlay or both) else None
        images = apply_to_photo(generator, planned.photo, mask=mask, overlay=overlay,
                                both=both, max_memory=max_memory, prior=prior,
                                save_map=save_map, **render)  # fmt: skip
        for key, image in images.items():
            target = (
                planned.targets[key if both or key == "map" else ""] if keyed else planned.target
            )
            if key == "map":
                dof_io.write_radius_map(target, image)
            else:
                dof_io.write_rgb(target, image)

    yield from dof_io.process_photos(photos, out_dir, work, tails=tails, reads=[masks],
                                     overwrite=overwrite, failures=PHOTO_FAILURES)  # fmt: skip


#: (image, mask) -> image, the callable benchmarks and galleries take (dof_eval's Renderer).
Renderer = Callable[[Tensor, Tensor], Tensor]


def as_renderers(
    generator: nn.Module,
    label: str,
    *,
    overlay: bool,
    prior: Prior | None = None,
    **render: Any,
) -> dict[str, Renderer]:
    """A generator as image functions for benchmarks and galleries (``dof_eval``).

    Args:
        generator: from :func:`load_generator`.
        label: the name of its row or column.
        overlay: add ``"<label> + overlay"``: the output with the input's person put back
            (eq. 13).
        prior: the segmenter the generator reads, run on each image (the renderer gets the
            photo and nothing else: the benchmark's mask is never its prior).
        render: a defocus generator's drawing options (see :func:`translate_with_map`).

    Returns:
        ``{label: (image, mask) -> G(image)}`` (the mask is ignored), plus the overlay entry;
        each takes (B, 3, H, W) images and (B, 1, H, W) masks in [0, 1] on any device and
        returns (B, 3, H, W) float32 in [0, 1] on the CPU.
    """
    check_prior(generator, prior)

    def run(x: Tensor) -> Tensor:
        return translate(generator, x, prior=None if prior is None else prior(x), **render)

    renderers: dict[str, Renderer] = {label: lambda x, m: run(x).cpu()}
    if overlay:
        renderers[f"{label} + overlay"] = lambda x, m: mask_overlay(
            run(x), x.to(torch.float32), m.to(torch.float32)
        ).cpu()
    return renderers


def map_renderer(generator: nn.Module, *, prior: Prior | None = None, **render: Any) -> Renderer:
    """``(image, mask) -> the radius map`` as a grey (B, 3, H, W) picture in [0, 1] (white = the
    largest radius of each image), for a gallery's map column."""
    check_prior(generator, prior)

    def draw(x: Tensor, m: Tensor) -> Tensor:
        _, radius = translate_with_map(generator, x, prior=None if prior is None else prior(x),
                                       **render)  # fmt: skip
        if radius is None:
            return torch.zeros_like(x, dtype=torch.float32).cpu()
        top = radius.flatten(1).amax(1).clamp_min(1e-6).view(-1, 1, 1, 1)
        return (radius / top).expand(-1, 3, -1, -1).float().cpu()

    return draw


def load_renderers(
    path: str | Path,
    label: str,
    *,
    device: str | torch.device = "cpu",
    prior: Prior | None = None,
    **render: Any,
) -> dict[str, Renderer]:
    """:func:`as_renderers` of the G: A -> B generator at ``path`` (run folder, ``.pt`` or
    ``.safetensors``), with the overlay entry where :attr:`GeneratorInfo.overlay` says so."""
    generator, info = load_generator_with_info(path, direction="AtoB", device=device)
    return as_renderers(generator, label, overlay=info.overlay, prior=prior, **render)
