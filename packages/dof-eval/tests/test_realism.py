from __future__ import annotations

import urllib.error

import numpy as np
import pytest
import torch
from PIL import Image
from torch_fidelity.metric_fid import fid_statistics_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric

from dof_eval import (
    FeatureExtractorError,
    NotEnoughSamplesError,
    extract_features,
    feature_statistics,
    fid,
    fid_from_statistics,
    get_extractor,
    kid,
)
from dof_eval.extractors import InceptionFeatures, RandomConvFeatures
from dof_eval.realism import mmd2_unbiased


def test_fid_of_diagonal_gaussians_is_hand_computable() -> None:
    mu_a, mu_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var_a, var_b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    # |mu_a - mu_b|² + Σ (sqrt(var_a) - sqrt(var_b))² = (1 + 0 + 4) + (1 + 0 + 4) = 10
    value = fid_from_statistics(mu_a, np.diag(var_a), mu_b, np.diag(var_b))
    assert value == pytest.approx(10.0, abs=1e-9)


def test_fid_is_invariant_to_a_shared_rotation() -> None:
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    mu_a, mu_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s_a, s_b = np.diag([1.0, 4.0, 9.0]), np.diag([4.0, 4.0, 1.0])
    rotated = fid_from_statistics(q @ mu_a, q @ s_a @ q.T, q @ mu_b, q @ s_b @ q.T)
    assert rotated == pytest.approx(10.0, abs=1e-8)


def test_fid_agrees_with_torch_fidelity_on_general_covariances() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(200, 6)), rng.normal(size=(150, 6)) @ rng.normal(size=(6, 6)) + 0.5
    mu_a, s_a = feature_statistics(a)
    mu_b, s_b = feature_statistics(b)
    theirs = fid_statistics_to_metric({"mu": mu_a, "sigma": s_a}, {"mu": mu_b, "sigma": s_b}, False)
    assert fid(a, b) == pytest.approx(theirs["frechet_inception_distance"], rel=1e-8)


def test_fid_of_samples_approaches_the_gaussians_distance() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(0.0, 1.0, size=(20000, 2))
    b = rng.normal(0.0, 2.0, size=(20000, 2)) + np.array([3.0, 0.0])
    # 9 + 2 * (1 - 2)² = 11
    assert fid(a, b) == pytest.approx(11.0, rel=0.03)
    assert fid(a, a) == pytest.approx(0.0, abs=1e-8)


def test_kid_matches_torch_fidelity_subset_for_subset() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(40, 8)), rng.normal(size=(30, 8)) + 0.3
    ours = kid(a, b, subsets=20, subset_size=10, seed=7)
    theirs = kid_features_to_metric(
        torch.from_numpy(a), torch.from_numpy(b), kid_subsets=20, kid_subset_size=10,
        kid_degree=3, kid_gamma=None, kid_coef0=1, kid_kernel="poly", rng_seed=7, verbose=False,
        kid_kernel_poly_degree=3, kid_kernel_poly_gamma=None, kid_kernel_poly_coef0=1,
    )  # fmt: skip
    assert ours[0] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-9)
    assert ours[1] == pytest.approx(theirs["kernel_inception_distance_std"], rel=1e-9)


def test_mmd2_of_two_points_is_hand_computable() -> None:
    # d = 1, k(x, y) = (x y + 1)³; X = {0, 1}, Y = {2, 3}
    x, y = np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]])
    k = lambda p, q: (p * q + 1) ** 3  # noqa: E731
    within = (2 * k(0, 1) + 2 * k(2, 3)) / 2
    cross = (k(0, 2) + k(0, 3) + k(1, 2) + k(1, 3)) / 4
    assert mmd2_unbiased(x, y) == pytest.approx(within - 2 * cross)


def test_too_few_samples_are_refused() -> None:
    with pytest.raises(NotEnoughSamplesError, match="at least 2"):
        fid(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(NotEnoughSamplesError, match="at least 2"):
        kid(np.zeros((1, 3)), np.zeros((5, 3)))


def test_random_conv_extractor_is_seeded_and_any_size() -> None:
    images = torch.randint(0, 256, (2, 3, 40, 56), dtype=torch.uint8)
    a, b = RandomConvFeatures(seed=0), RandomConvFeatures(seed=0)
    assert torch.equal(a(images), b(images))
    assert a(images).shape == (2, 224)
    assert not torch.equal(a(images), RandomConvFeatures(seed=1)(images))


def test_extract_features_batches_mixed_sizes_in_order(tmp_path) -> None:
    rng = np.random.default_rng(0)
    paths = []
    for i, shape in enumerate([(32, 32), (32, 32), (40, 24), (32, 32)]):
        path = tmp_path / f"{i}.png"
        Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    extractor = get_extractor("random-conv")
    together = extract_features(paths, extractor, batch_size=2)
    alone = torch.cat([extract_features([p], extractor) for p in paths])
    assert together.shape == (4, 224)
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)


def test_features_separate_blurred_from_sharp_sets(tmp_path) -> None:
    """A realism score through a (small, local) extractor tells two kinds of images apart."""
    rng = np.random.default_rng(0)
    sharp, soft = [], []
    for i in range(6):
        noise = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
        Image.fromarray(noise).save(tmp_path / f"sharp{i}.png")
        blurred = np.asarray(Image.fromarray(noise).resize((6, 6)).resize((48, 48)))
        Image.fromarray(blurred).save(tmp_path / f"soft{i}.png")
        sharp.append(tmp_path / f"sharp{i}.png")
        soft.append(tmp_path / f"soft{i}.png")
    extractor = get_extractor("random-conv")
    f_sharp, f_soft = extract_features(sharp, extractor), extract_features(soft, extractor)
    assert fid(f_sharp[:3], f_sharp[3:]) < fid(f_sharp[:3], f_soft[:3])


def test_unknown_extractor_lists_the_known_ones() -> None:
    with pytest.raises(FeatureExtractorError, match="inception, random-conv"):
        get_extractor("resnet")


def test_inception_weights_missing_at_a_given_path_say_where(tmp_path) -> None:
    with pytest.raises(FeatureExtractorError, match=r"not found at .*missing\.pth"):
        InceptionFeatures(tmp_path / "missing.pth")


def test_inception_offline_says_which_file_to_place_where(tmp_path, monkeypatch) -> None:
    def offline(url: str, dst: str, **kwargs: object) -> None:
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(FeatureExtractorError) as error:
        InceptionFeatures()
    message = str(error.value)
    assert "weights-inception-2015-12-05-6726825d.pth" in message
    assert str(tmp_path / "hub" / "checkpoints") in message and "random-conv" in message


def test_inception_weights_that_are_not_plain_tensors_are_refused(tmp_path) -> None:
    path = tmp_path / "weights.pth"
    torch.save({"x": np.dtype("float64")}, path)  # a pickle of a non-tensor object
    with pytest.raises(FeatureExtractorError, match="not a plain Inception-v3 state dict"):
        InceptionFeatures(path)
