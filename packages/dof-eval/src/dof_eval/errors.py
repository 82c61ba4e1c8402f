"""Typed errors of dof-eval. Every message says what came, what was expected and how to fix it."""

from __future__ import annotations

import dof_io


class DofEvalError(Exception):
    """Base class of every error dof-eval raises."""


class ShapeError(DofEvalError, dof_io.ShapeError):
    """A tensor has the wrong shape, dtype or value range for the metric it was given to."""


class LogFormatError(DofEvalError):
    """A training run folder has no readable log (``log.jsonl``) or config."""


class ManifestError(DofEvalError):
    """A manifest or credits CSV cannot be read or lacks a file-name column."""


class DatasetError(DofEvalError):
    """A test folder, a paired benchmark folder or its source photos are missing or inconsistent."""


class FeatureExtractorError(DofEvalError):
    """A realism feature extractor cannot be built (unknown name, weights missing offline)."""


class NotEnoughSamplesError(DofEvalError, ValueError):
    """FID or KID was asked for with too few images to estimate it."""
