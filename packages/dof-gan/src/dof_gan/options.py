"""Command-line options -> a validated, frozen :class:`TrainConfig`, before any work starts.

Pure functions: nothing here reads files or touches torch, so ``dof-train --dry-run`` is instant
and a bad value is refused with a message naming the option and what to change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, TypeVar

from dof_gan.augment import parse_policy
from dof_gan.config import (
    CONFIG_VERSION,
    GAN_MODES,
    GENERATORS,
    MASK_READINGS,
    PRECISIONS,
    PRESETS,
    UPSAMPLINGS,
    DataConfig,
    DiscriminatorConfig,
    GeneratorConfig,
    LossConfig,
    TrainConfig,
    mask_weights,
)
from dof_gan.errors import ConfigError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_T = TypeVar("_T", bound="DataclassInstance")

#: option name (as ``dof-train`` spells it, with ``_``) -> config field path.
OPTION_FIELDS: dict[str, str] = {
    "preset": "preset",
    "name": "name",
    "data": "data.root",
    "size": "data.size",
    "load_size": "data.load_size",
    "flip": "data.flip",
    "workers": "data.num_workers",
    "ngf": "generator.ngf",
    "n_blocks": "generator.n_blocks",
    "upsampling": "generator.upsampling",
    "generator": "generator.kind",
    "map_width": "generator.width",
    "map_depth": "generator.depth",
    "max_radius": "generator.max_radius",
    "prior": "generator.prior",
    "one_sided": "one_sided",
    "lambda_focus": "loss.lambda_focus",
    "d_augment": "loss.d_augment",
    "ndf": "discriminator.ndf",
    "gan_mode": "loss.gan_mode",
    "lambda_cyc": "loss.lambda_cyc",
    "lambda_idt": "loss.lambda_idt",
    "lambda_mask_pixel": "loss.lambda_mask_pixel",
    "lambda_mask_vgg": "loss.lambda_mask_vgg",
    "vgg_weights": "loss.vgg_weights",
    "mask_reading": "mask_reading",
    "epochs": "n_epochs",
    "epochs_decay": "n_epochs_decay",
    "batch_size": "batch_size",
    "lr": "lr",
    "pool_size": "pool_size",
    "ema_images": "ema_images",
    "seed": "seed",
    "device": "device",
    "deterministic": "deterministic",
    "precision": "precision",
    "channels_last": "channels_last",
    "compile": "compile",
    "max_steps": "max_steps",
    "sample_every": "sample_every",
    "checkpoint_every": "checkpoint_every",
    "keep_checkpoints": "keep_epoch_checkpoints",
}
_FIELD_TO_OPTION = {path: option for option, path in OPTION_FIELDS.items()}

#: what ``--generator defocus`` changes when the option is not given: no identity loss (G(b) = b
#: asks a renderer not to blur, and it cannot shift colours anyway), the focus term on,
#: one-sided (G and D_B: at step 500 it scored 28.91 dB against the cycle's 27.40, in a third
#: of the time; docs/results.md; ``--two-sided`` trains with F, D_A and the cycle), and the
#: average of G's weights with a half-life of 1,000 images (250 steps of 4) is what the run is
#: scored and exported by (the same run's checkpoints: 29.19 against 29.02 dB at the end, a
#: swing of 0.26 dB instead of 0.41 over its last 2,500 steps; ``--ema-images 0`` for none).
DEFOCUS_DEFAULTS: dict[str, Any] = {
    "lambda_idt": 0.0, "lambda_focus": 5.0, "one_sided": True, "ema_images": 1000,
}  # fmt: skip

#: options that may differ when a run is resumed: they change where and how long it runs, not
#: what it computes.
RESUME_OVERRIDES = frozenset(
    {"device", "max_steps", "workers", "data", "sample_every", "checkpoint_every",
     "keep_checkpoints", "deterministic", "precision", "channels_last", "compile"}
)  # fmt: skip

_SECTIONS: dict[str, type[Any]] = {
    "data": DataConfig,
    "generator": GeneratorConfig,
    "discriminator": DiscriminatorConfig,
    "loss": LossConfig,
}


def flag(path_or_option: str) -> str:
    """A field path or option name -> its command-line spelling (``data.size`` -> ``--size``)."""
    option = _FIELD_TO_OPTION.get(path_or_option, path_or_option)
    return "--" + option.split(".")[-1].replace("_", "-")


def config_from_options(options: Mapping[str, Any]) -> TrainConfig:
    """Resolve ``dof-train`` options into a validated config.

    Args:
        options: option name -> value, as click passes them; ``None`` means "not given" and
            takes the preset's value. ``out`` names the run when ``name`` is not given.
            ``preset`` and ``data`` are required.

    Raises:
        ConfigError: an unknown option, a missing one, or a value out of range; the message
            names the option and says what to change.
    """
    given = _given(options)
    preset_name = given.pop("preset", None)
    if preset_name not in PRESETS:
        raise ConfigError("--preset", f"choose one of {', '.join(PRESETS)}; got {preset_name!r}")
    preset = PRESETS[preset_name]
    if not given.get("data"):
        raise ConfigError("--data", "required: the folder with trainA/ and trainB/")
    out = given.pop("out", None)
    name = given.pop("name", None) or (PurePath(str(out)).name if out else preset.name)
    config = TrainConfig(
        name=name,
        preset=preset.name,
        mask_overlay=preset.mask_overlay,
        overlay_at_test=preset.overlay_at_test,
    )
    for option, value in given.items():
        config = _replace(config, OPTION_FIELDS[option], value)
    if "size" in given and "load_size" not in given:
        _check_int("data.size", config.data.size, 16)
        config = _replace(config, "data.load_size", (config.data.size * 286 + 128) // 256)
    _check_choice("mask_reading", config.mask_reading, MASK_READINGS)
    _check_float("loss.lambda_cyc", config.loss.lambda_cyc)
    pixel, vgg = mask_weights(preset.lambda_mask, config.loss.lambda_cyc, config.mask_reading)
    if "lambda_mask_pixel" not in given:
        config = _replace(config, "loss.lambda_mask_pixel", pixel)
    if "lambda_mask_vgg" not in given:
        config = _replace(config, "loss.lambda_mask_vgg", vgg)
    if config.generator.kind == "defocus":  # DEFOCUS_DEFAULTS: what a renderer trains with
        for option, value in DEFOCUS_DEFAULTS.items():
            if option not in given:
                config = _replace(config, OPTION_FIELDS[option], value)
        config = _replace(config, "generator.work_size", config.data.size)
    validate_config(config)
    return config


def resume_config(saved: TrainConfig, options: Mapping[str, Any]) -> TrainConfig:
    """The config of a resumed run: the saved one, with only runtime options changed.

    ``--max-steps`` applies to this invocation only: without it a resumed run goes to the end.

    Raises:
        ConfigError: an option that would change what the run computes (``--size``, ...)
            differs from the saved value.
    """
    given = _given(options)
    given.pop("out", None)
    config = _replace(saved, "max_steps", None)
    for option, value in given.items():
        path = OPTION_FIELDS[option]
        if option in RESUME_OVERRIDES:
            config = _replace(config, path, value)
        elif _get(saved, path) != value:
            raise ConfigError(
                flag(option),
                f"this run was started with {_get(saved, path)!r} and a resumed run keeps its "
                f"config; drop {flag(option)} (got {value!r}), or start a new run in another "
                "--out folder",
            )
    validate_config(config)
    return config


def config_from_dict(raw: Mapping[str, Any]) -> TrainConfig:
    """Rebuild and validate a config from ``config_to_dict`` output (``config.json``).

    Raises:
        ConfigError: unknown or missing fields, or values out of range.
    """
    values = dict(raw)
    version = values.pop("config_version", CONFIG_VERSION)
    if version != CONFIG_VERSION:
        raise ConfigError("config_version", f"expected {CONFIG_VERSION}; got {version!r}")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(unknown[0], f"unknown config field; valid: {', '.join(sorted(known))}")
    for key, cls in _SECTIONS.items():
        if key in values:
            section = values[key]
            if not isinstance(section, Mapping):
                raise ConfigError(key, f"must be a JSON object; got {section!r}")
            names = {f.name for f in dataclasses.fields(cls)}
            extra = sorted(set(section) - names)
            if extra:
                raise ConfigError(f"{key}.{extra[0]}", f"unknown field; valid: {sorted(names)}")
            values[key] = cls(**section)
    for required in ("name", "preset"):
        if required not in values:
            raise ConfigError(required, "missing from the config")
    config = TrainConfig(**values)
    validate_config(config)
    return config


def validate_config(config: TrainConfig) -> None:
    """Check every field; raise :class:`ConfigError` naming the option at fault."""
    if not isinstance(config.name, str) or not config.name:
        raise ConfigError("--name", f"must be a non-empty string; got {config.name!r}")
    _check_choice("preset", config.preset, tuple(PRESETS))
    if not isinstance(config.data.root, str) or not config.data.root:
        raise ConfigError("--data", "required: the folder with trainA/ and trainB/")
    _check_size(config.data.size)
    _check_int("data.load_size", config.data.load_size, config.data.size)
    _check_int("data.num_workers", config.data.num_workers, 0)
    for path in (
        "generator.ngf",
        "generator.n_blocks",
        "discriminator.ndf",
        "discriminator.n_layers",
        "batch_size",
        "sample_every",
        "checkpoint_every",
    ):
        _check_int(path, _get(config, path), 1)  # fmt: skip
    for path in (
        "n_epochs",
        "n_epochs_decay",
        "pool_size",
        "ema_images",
        "seed",
        "keep_epoch_checkpoints",
    ):
        _check_int(path, _get(config, path), 0)
    if config.total_epochs < 1:
        raise ConfigError("--epochs", "--epochs and --epochs-decay are both 0: give 1 or more")
    if config.max_steps is not None:
        _check_int("max_steps", config.max_steps, 1)
    _check_choice("generator.upsampling", config.generator.upsampling, UPSAMPLINGS)
    _check_choice("generator.kind", config.generator.kind, GENERATORS)
    _check_int("generator.width", config.generator.width, 1)
    _check_int("generator.depth", config.generator.depth, 2)
    _check_float("generator.max_radius", config.generator.max_radius, positive=True)
    if not isinstance(config.generator.prior, str):
        raise ConfigError(
            "--prior", f"must be a segmenter name or empty; got {config.generator.prior!r}"
        )
    if config.generator.prior and config.generator.kind != "defocus":
        raise ConfigError("--prior", "only the defocus generator reads a segmenter's mask")
    if config.one_sided and config.generator.kind != "defocus":
        raise ConfigError("--one-sided", "needs --generator defocus: a painting generator "
                          "without the cycle has nothing that keeps the content")  # fmt: skip
    parse_policy(config.loss.d_augment)
    _check_choice("loss.gan_mode", config.loss.gan_mode, GAN_MODES)
    _check_choice("mask_reading", config.mask_reading, MASK_READINGS)
    for path in (
        "loss.lambda_cyc",
        "loss.lambda_idt",
        "loss.lambda_mask_pixel",
        "loss.lambda_mask_vgg",
        "loss.lambda_focus",
    ):
        _check_float(path, _get(config, path))  # fmt: skip
    _check_float("lr", config.lr, positive=True)
    for path in ("beta1", "beta2"):
        _check_float(path, _get(config, path))
        if _get(config, path) >= 1:
            raise ConfigError(flag(path), f"must be below 1; got {_get(config, path)}")
    if not isinstance(config.loss.vgg_weights, str) or not config.loss.vgg_weights:
        raise ConfigError("--vgg-weights", "give imagenet, none, or the path of a .pth file")
    for path in (
        "data.flip",
        "mask_overlay",
        "overlay_at_test",
        "deterministic",
        "channels_last",
        "compile",
        "one_sided",
    ):
        if not isinstance(_get(config, path), bool):
            raise ConfigError(flag(path), f"must be true or false; got {_get(config, path)!r}")
    _check_device(config.device)
    _check_choice("precision", config.precision, PRECISIONS)
    if config.precision == "fp16" and not config.device.startswith("cuda"):
        raise ConfigError(
            "--precision",
            f"fp16 needs a CUDA device (it trains with a gradient scaler); got --device "
            f"{config.device}: use bf16 (or auto) there",
        )


def _given(options: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - set(OPTION_FIELDS) - {"out"})
    if unknown:
        raise ConfigError(flag(unknown[0]), f"unknown option; valid: {', '.join(OPTION_FIELDS)}")
    return {key: value for key, value in options.items() if value is not None}


def _get(config: object, path: str) -> Any:
    node: Any = config
    for part in path.split("."):
        node = getattr(node, part)
    return node


def _replace(config: _T, path: str, value: Any) -> _T:
    head, _, rest = path.partition(".")
    if rest:
        value = _replace(getattr(config, head), rest, value)
    return dataclasses.replace(config, **{head: value})


def _check_size(size: object) -> None:
    _check_int("data.size", size, 16)
    assert isinstance(size, int)
    if size % 4:
        low = size // 4 * 4
        raise ConfigError(
            "--size",
            f"must be a multiple of 4 (the generator halves it twice); got {size}: "
            f"use {low} or {low + 4}",
        )


def _check_int(path: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(flag(path), f"must be a whole number; got {value!r}")
    if value < minimum:
        raise ConfigError(flag(path), f"must be at least {minimum}; got {value}")


def _check_float(path: str, value: object, *, positive: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(flag(path), f"must be a number; got {value!r}")
    if not value >= 0 or (positive and value == 0) or value == float("inf"):
        need = "a finite number greater than 0" if positive else "a finite number, 0 or more"
        raise ConfigError(flag(path), f"must be {need}; got {value}")


def _check_choice(path: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(flag(path), f"must be one of {', '.join(choices)}; got {value!r}")


def _check_device(value: object) -> None:
    ok = isinstance(value, str) and (
        value in ("cpu", "cuda", "mps") or (value.startswith("cuda:") and value[5:].isdigit())
    )
    if not ok:
        raise ConfigError("--device", f"must be cpu, cuda, cuda:N or mps; got {value!r}")
