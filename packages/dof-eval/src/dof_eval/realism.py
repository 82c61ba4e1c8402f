"""Realism: FID and KID between two sets of image features.

Definitions (also in docs/eval.md), for features ``X`` (n x d) of the outputs and ``Y`` (m x d)
of real domain-B photos:

- FID (Heusel et al. 2017) = |mu_X - mu_Y|² + tr(S_X + S_Y - 2 (S_X S_Y)^(1/2)), with mu and S
  the mean and the (unbiased, n - 1) covariance of each set. The trace of the matrix square root
  is computed as Σ sqrt(eig(A S_Y A)) with A = S_X^(1/2), a symmetric form that stays real.
- KID (Bińkowski et al. 2018) = the unbiased estimate of MMD² with the polynomial kernel
  k(a, b) = (a·b / d + 1)³, averaged over ``subsets`` random subsets of ``subset_size`` samples
  from each set (the estimator torch-fidelity and the original code use). Reported with its
  standard deviation over subsets.

The feature extractor is pluggable (see :mod:`dof_eval.extractors`): numbers are comparable only
between runs that used the same extractor, and published FIDs use ``inception``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from dof_eval.errors import NotEnoughSamplesError, ShapeError
from dof_io import read_rgb

Array = npt.NDArray[np.float64]
#: (B, 3, H, W) uint8 images -> (B, D) float features.
FeatureExtractor = Callable[[Tensor], Tensor]


def _as_features(name: str, features: Tensor | npt.ArrayLike) -> Array:
    if isinstance(features, Tensor):
        features = features.detach().cpu().double().numpy()
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2:
        raise ShapeError(f"{name} must be (N, D) features; got shape {array.shape}")
    return array


def feature_statistics(features: Tensor | npt.ArrayLike) -> tuple[Array, Array]:
    """Mean (D,) and unbiased covariance (D, D) of (N, D) features, N >= 2."""
    array = _as_features("features", features)
    if array.shape[0] < 2:
        raise NotEnoughSamplesError(
            f"FID needs at least 2 images per set to estimate a covariance; got {array.shape[0]}"
        )
    return array.mean(axis=0), np.atleast_2d(np.cov(array, rowvar=False))


def _sqrt_psd(matrix: Array) -> Array:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    root: Array = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    return root


def fid_from_statistics(mu_a: Array, sigma_a: Array, mu_b: Array, sigma_b: Array) -> float:
    """Fréchet distance between two Gaussians N(mu_a, sigma_a) and N(mu_b, sigma_b).

    Args:
        mu_a, mu_b: (D,) means.
        sigma_a, sigma_b: (D, D) symmetric positive semi-definite covariances.

    Returns:
        The distance, >= 0 (up to rounding).

    Raises:
        ShapeError: when the dimensions disagree.
    """
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    sigma_a, sigma_b = np.asarray(sigma_a, np.float64), np.asarray(sigma_b, np.float64)
    d = mu_a.shape[0]
    if mu_b.shape != (d,) or sigma_a.shape != (d, d) or sigma_b.shape != (d, d):
        raise ShapeError(
            f"statistics disagree: mu {mu_a.shape} / {mu_b.shape}, sigma {sigma_a.shape} / "
            f"{sigma_b.shape}; both sets must come from the same feature extractor"
        )
    root_a = _sqrt_psd(sigma_a)
    cross = np.linalg.eigvalsh(root_a @ sigma_b @ root_a)
    tr_covmean = float(np.sqrt(np.clip(cross, 0, None)).sum())
    diff = mu_a - mu_b
    return float(diff @ diff + np.trace(sigma_a) + np.trace(sigma_b) - 2 * tr_covmean)


def fid(features_a: Tensor | npt.ArrayLike, features_b: Tensor | npt.ArrayLike) -> float:
    """FID between two sets of (N, D) features (see the module docstring)."""
    a, b = _as_features("features_a", features_a), _as_features("features_b", features_b)
    if a.shape[1] != b.shape[1]:
        raise ShapeError(f"feature sizes differ: {a.shape[1]} and {b.shape[1]}")
    return fid_from_statistics(*feature_statistics(a), *feature_statistics(b))


def _poly_kernel(a: Array, b: Array) -> Array:
    return np.asarray((a @ b.T / a.shape[1] + 1.0) ** 3)


def mmd2_unbiased(a: Array, b: Array) -> float:
    """Unbiased MMD² of two equal-sized (m, D) samples under the cubic polynomial kernel."""
    m = a.shape[0]
    k_aa, k_bb, k_ab = _poly_kernel(a, a), _poly_kernel(b, b), _poly_kernel(a, b)
    within = (k_aa.sum() - np.trace(k_aa) + k_bb.sum() - np.trace(k_bb)) / (m * (m - 1))
    return float(within - 2 * k_ab.sum() / (m * m))


def kid(
    features_a: Tensor | npt.ArrayLike,
    features_b: Tensor | npt.ArrayLike,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """KID between two sets of (N, D) features: (mean, std) of MMD² over random subsets.

    ``subset_size`` is cut to the smaller set's size; at least 2 samples per set are needed.
    """
    a, b = _as_features("features_a", features_a), _as_features("features_b", features_b)
    if a.shape[1] != b.shape[1]:
        raise ShapeError(f"feature sizes differ: {a.shape[1]} and {b.shape[1]}")
    size = min(subset_size, a.shape[0], b.shape[0])
    if size < 2:
        raise NotEnoughSamplesError(
            f"KID needs at least 2 images per set; got {a.shape[0]} and {b.shape[0]}"
        )
    rng = np.random.RandomState(seed)
    values = np.array(
        [
            mmd2_unbiased(
                a[rng.choice(a.shape[0], size, replace=False)],
                b[rng.choice(b.shape[0], size, replace=False)],
            )
            for _ in range(subsets)
        ]
    )
    return float(values.mean()), float(values.std())


def _batches(paths: Sequence[Path], batch_size: int) -> Iterable[Tensor]:
    """Consecutive images of the same size, stacked as (B, 3, H, W) uint8."""
    batch: list[Tensor] = []
    for path in paths:
        image = torch.from_numpy(read_rgb(path)).permute(2, 0, 1)  # (3, H, W) uint8
        if batch and (image.shape != batch[0].shape or len(batch) == batch_size):
            yield torch.stack(batch)
            batch = []
        batch.append(image)
    if batch:
        yield torch.stack(batch)


def extract_features(
    paths: Sequence[str | Path],
    extractor: FeatureExtractor,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 16,
) -> Tensor:
    """Features of image files through ``extractor``.

    Args:
        paths: image files (any size; consecutive images of one size are batched together).
        extractor: (B, 3, H, W) uint8 -> (B, D) float, e.g. from :func:`get_extractor`.
        device: where the images are sent.
        batch_size: images per batch at most.

    Returns:
        (N, D) float64 features on the CPU, in the order of ``paths``.

    Raises:
        ImageReadError: for an unreadable file (it is named).
    """
    out: list[Tensor] = []
    with torch.inference_mode():
        for batch in _batches([Path(p) for p in paths], batch_size):
            out.append(extractor(batch.to(device)).detach().double().cpu())
    if not out:
        raise NotEnoughSamplesError("no images given to extract features from")
    return torch.cat(out)
