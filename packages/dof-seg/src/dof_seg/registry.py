"""The backends by name: a plain dict from name to factory, and :func:`get_segmenter`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from dof_seg.base import Segmenter
from dof_seg.deeplab import DeepLabV3Segmenter
from dof_seg.deeplabv3plus import DeepLabV3PlusSegmenter
from dof_seg.errors import OptionError, UnknownSegmenterError
from dof_seg.people import AutoSegmenter, PeopleSegmenter
from dof_seg.precomputed import PrecomputedSegmenter
from dof_seg.refine import REFINE_MODES, RefineConfig
from dof_seg.selfie import SelfieSegmenter

#: name -> factory(**options) -> Segmenter. "selfie" is the offline default.
SEGMENTERS: dict[str, Callable[..., Segmenter]] = {
    "selfie": SelfieSegmenter,
    "people": PeopleSegmenter,
    "auto": AutoSegmenter,
    "deeplabv3": DeepLabV3Segmenter,
    "deeplabv3plus": DeepLabV3PlusSegmenter,
    "precomputed": PrecomputedSegmenter,
}
DEFAULT_SEGMENTER = "selfie"


#: the refinement each backend gets when none is asked for (measured: docs/seg.md)
DEFAULT_REFINE: dict[str, str] = {}


def split_source(spec: str) -> tuple[str, str | None]:
    """A mask source ``"name"`` or ``"name:refine"`` as (backend name, refinement or None).

    ``"selfie:guided"`` is the ``selfie`` backend refined by the guided filter; benchmarks use
    such labels to put one backend with several refinements side by side.

    Raises:
        UnknownSegmenterError: for a backend name not in :data:`SEGMENTERS`.
        OptionError: for a refinement not in :data:`dof_seg.REFINE_MODES`.
    """
    name, _, refine = spec.partition(":")
    if name not in SEGMENTERS:
        raise UnknownSegmenterError(name, sorted(SEGMENTERS))
    if not refine:
        return name, None
    if refine not in REFINE_MODES:
        raise OptionError(
            f"{spec!r}: the refinement after ':' must be one of {', '.join(REFINE_MODES)}"
        )
    return name, refine


def source_names() -> tuple[str, ...]:
    """Every valid mask source: each backend's name, alone and with each refinement."""
    return tuple(
        spec for name in SEGMENTERS for spec in (name, *(f"{name}:{r}" for r in REFINE_MODES))
    )


def get_segmenter(
    name: str = DEFAULT_SEGMENTER,
    *,
    device: str | torch.device = "cpu",
    refine: str | RefineConfig | None = None,
    **options: Any,
) -> Segmenter:
    """Build a segmenter by name, in eval mode, on ``device``.

    Args:
        name: a key of :data:`SEGMENTERS`, or ``"name:refine"`` (:func:`split_source`), which
            is the same as ``refine=`` (giving both, different, is an error).
        device: torch device for its weights (images may come on any device).
        refine: "none", "guided" or "matting" (or a :class:`RefineConfig`): refine every mask
            at the photo's resolution with the photo as guide (:mod:`dof_seg.refine`).
            None = the backend's default in :data:`DEFAULT_REFINE` ("none" if unlisted).
        **options: passed to the backend's factory, e.g. ``model="landscape"`` (selfie),
            ``backbone="mobilenet_v3_large"`` (deeplabv3), ``checkpoint=PATH``
            (deeplabv3plus), ``masks_dir=DIR`` (precomputed).

    Raises:
        UnknownSegmenterError: for a name not in :data:`SEGMENTERS`; it lists the valid ones.
        OptionError: for options the backend does not take.
    """
    name, chosen = split_source(name)
    if chosen is not None:
        asked = refine.mode if isinstance(refine, RefineConfig) else refine
        if asked is not None and asked != chosen:
            raise OptionError(
                f"segmenter {name}:{chosen} and refine={asked!r} disagree: give the refinement once"
            )
        refine = refine if isinstance(refine, RefineConfig) else chosen
    try:
        segmenter = SEGMENTERS[name](**options)
    except TypeError as err:
        if "argument" not in str(err):
            raise
        raise OptionError(f"segmenter {name!r} does not take these options: {err}") from err
    if refine is None:
        refine = DEFAULT_REFINE.get(name, "none")
    segmenter.refine = refine if isinstance(refine, RefineConfig) else RefineConfig(mode=refine)
    return segmenter.to(device).eval()


#: the per-backend options a command line can set (everything else keeps its default)
BACKEND_OPTIONS: dict[str, frozenset[str]] = {
    "selfie": frozenset({"model", "channels_last"}),
    "people": frozenset(),
    "auto": frozenset({"model"}),
    "deeplabv3": frozenset({"backbone", "checkpoint", "short_side"}),
    "deeplabv3plus": frozenset({"checkpoint", "size"}),
    "precomputed": frozenset({"masks_dir"}),
}


def backend_options(name: str, **given: Any) -> dict[str, Any]:
    """The options in ``given`` that are set (not None), checked against ``name``'s backend
    (``name`` may carry a refinement, ``"selfie:guided"``, see :func:`split_source`).

    Raises:
        UnknownSegmenterError: for an unknown name.
        OptionError: when a set option does not apply to this backend, naming the ones that do.
    """
    name, _ = split_source(name)
    if name not in BACKEND_OPTIONS:
        raise UnknownSegmenterError(name, sorted(SEGMENTERS))
    chosen = {key: value for key, value in given.items() if value is not None}
    foreign = sorted(set(chosen) - BACKEND_OPTIONS[name])
    if foreign:
        valid = ", ".join(sorted(BACKEND_OPTIONS[name])) or "none"
        raise OptionError(
            f"option(s) {', '.join(foreign)} do not apply to segmenter {name!r} "
            f"(its options: {valid})"
        )
    return chosen
