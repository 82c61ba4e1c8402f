"""A trained defocus generator in use: export and load, priors, maps, the F of a defocus run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

import dof_io
from dof_gan import (
    CheckpointError,
    ConfigError,
    TrainConfig,
    apply_files,
    apply_to_photo,
    as_renderers,
    export_generator,
    load_generator,
    load_generator_with_info,
    train,
    translate,
    translate_with_map,
)
from dof_gan.defocus import DefocusGenerator
from dof_gan.inference import check_prior, map_renderer
from dof_gan.networks import ResnetGenerator

MAP = {"generator": "defocus", "map_width": 4, "map_depth": 3, "max_radius": 4.0}


def _trained(
    root: Path, make_config: Callable[..., TrainConfig], data: Path, **options: object
) -> Path:
    """A one-step run whose G has then been given a map that blurs (an untrained one hardly
    does, and two generators that both return their input would compare equal). It keeps no
    weight average, so the G changed here is the G that loads."""
    run = root / "run"
    train(make_config(data, **{**MAP, "max_steps": 1, "ema_images": 0, **options}), run,
          progress=False)  # fmt: skip
    path = run / "checkpoints" / "last.pt"
    state = torch.load(path, weights_only=True)
    G = state["networks"]["G"]
    G["net.head.weight"] = torch.randn(
        G["net.head.weight"].shape, generator=torch.Generator().manual_seed(0)
    )
    G["net.head.bias"] = torch.full_like(G["net.head.bias"], 1.0)
    G["aperture_logit"] = torch.tensor(0.1)  # aperture 4 * sigmoid(1) = 2.9 px
    torch.save(state, path)
    return run


@pytest.fixture(scope="module")
def one_sided(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_data: Path,
    make_config: Callable[..., TrainConfig],
) -> Path:
    return _trained(tmp_path_factory.mktemp("one"), make_config, tiny_data, one_sided=True)


@pytest.fixture(scope="module")
def with_prior(
    tmp_path_factory: pytest.TempPathFactory, make_dataset: Callable[..., Path],
    make_config: Callable[..., TrainConfig],
) -> Path:  # fmt: skip
    root = tmp_path_factory.mktemp("prior")
    data = make_dataset(root / "data")
    for domain in "AB":
        for path in sorted((data / f"train{domain}").glob("*.png")):
            rgb, mask = dof_io.read_rgba(path)
            dof_io.write_rgba(data / f"prior{domain}" / path.name, rgb, mask)
    return _trained(root, make_config, data, prior="selfie", one_sided=False)  # F exists too


def _photo(h: int = 40, w: int = 56, seed: int = 1) -> torch.Tensor:
    return torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(seed))


def _person(image: torch.Tensor) -> torch.Tensor:
    """A stand-in segmenter: a box in the middle of each image."""
    mask = torch.zeros_like(image[:, :1])
    h, w = image.shape[-2:]
    mask[..., h // 4 : 3 * h // 4, w // 3 : 2 * w // 3] = 1.0
    return mask


def test_export_and_load_give_the_same_defocus_generator(one_sided: Path, tmp_path: Path) -> None:
    G, info = load_generator_with_info(one_sided)
    assert isinstance(G, DefocusGenerator)
    assert info.has_map and info.prior == "" and info.label == "defocus, photo only"
    exported = export_generator(one_sided, tmp_path / "G.safetensors")
    sidecar = json.loads((tmp_path / "G.json").read_text())
    assert sidecar["generator"]["kind"] == "defocus"
    wanted = {"width": 4, "depth": 3, "max_radius": 4.0, "prior": "", "work_size": 32}
    assert {key: sidecar["generator"][key] for key in wanted} == wanted
    loaded, loaded_info = load_generator_with_info(exported)
    assert isinstance(loaded, DefocusGenerator) and loaded_info.has_map
    assert torch.equal(loaded.aperture(), G.aperture())  # the one learned number survives
    assert float(G.aperture()) == pytest.approx(4.0 * torch.sigmoid(torch.tensor(1.0)).item())
    x = _photo()
    out, radius = translate_with_map(G, x)
    out2, radius2 = translate_with_map(loaded, x)
    assert torch.equal(out2, out) and torch.equal(radius2, radius)
    assert (out - x).abs().mean() > 0.01  # it does blur: the comparison means something


def test_a_half_export_keeps_the_map_close(one_sided: Path, tmp_path: Path) -> None:
    full = load_generator(export_generator(one_sided, tmp_path / "G32.safetensors"))
    half = load_generator(export_generator(one_sided, tmp_path / "G16.safetensors", half=True))
    x = _photo()
    _, r32 = translate_with_map(full, x)
    _, r16 = translate_with_map(half, x)
    assert r32 is not None and r16 is not None
    assert (r16 - r32).abs().max() < 0.02 * float(r32.max())


def test_f_of_a_two_sided_defocus_run_is_the_resnet_painter(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    # catches: the run's generator config (kind defocus) used to build F, whose weights are a
    # ResNet's; and a one-sided run's missing F leaking a KeyError
    run = tmp_path / "two"
    train(make_config(tiny_data, **MAP, one_sided=False, max_steps=1), run, progress=False)
    F, info = load_generator_with_info(run, direction="BtoA")
    assert isinstance(F, ResnetGenerator) and not info.has_map and info.label == "paper ResNet"
    out = export_generator(run, tmp_path / "F.safetensors", direction="BtoA")
    assert json.loads((tmp_path / "F.json").read_text())["generator"]["kind"] == "resnet"
    x = _photo(40, 40)
    assert torch.equal(translate(load_generator(out, direction="BtoA"), x), translate(F, x))
    one = tmp_path / "one"
    train(make_config(tiny_data, **MAP, one_sided=True, max_steps=1), one, progress=False)
    with pytest.raises(CheckpointError, match="one-sided"):
        load_generator(one, direction="BtoA")


def test_a_generator_with_a_prior_is_refused_without_its_segmenter(
    with_prior: Path, tmp_path: Path
) -> None:
    G, info = load_generator_with_info(with_prior)
    assert info.prior == "selfie" and info.label == "defocus + selfie"
    message = (
        r"--prior: this generator reads the 'selfie' segmenter.*dof_seg\.get_segmenter\('selfie'\)"
    )
    with pytest.raises(ConfigError, match=message):
        check_prior(G, None)
    photo = tmp_path / "p.png"
    dof_io.write_rgb(photo, (_photo()[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8))
    with pytest.raises(ConfigError, match=message):
        apply_to_photo(G, photo)
    with pytest.raises(ConfigError, match=message):
        list(apply_files([photo], tmp_path / "out", generator=G))  # before any photo
    assert not (tmp_path / "out").exists()
    with pytest.raises(ConfigError, match=message):
        as_renderers(G, "x", overlay=False)
    with pytest.raises(ConfigError, match=message):
        map_renderer(G)
    check_prior(G, _person)  # given: fine
    check_prior(load_generator(with_prior, direction="BtoA"), None)  # F reads no prior


def test_the_prior_reaches_the_map_and_the_renderers_run_it_on_the_photo(with_prior: Path) -> None:
    G = load_generator(with_prior)
    x = _photo()
    seen: list[torch.Tensor] = []

    def segmenter(image: torch.Tensor) -> torch.Tensor:
        seen.append(image)
        return _person(image)

    renderers = as_renderers(G, "defocus", overlay=False, prior=segmenter)
    mask = torch.ones_like(x[:, :1])  # the benchmark's mask: never the generator's prior
    out = renderers["defocus"](x, mask)
    assert len(seen) == 1 and torch.equal(seen[0], x)
    torch.testing.assert_close(out, translate(G, x, prior=_person(x)))
    empty = translate(G, x, prior=torch.zeros_like(x[:, :1]))
    assert not torch.allclose(out, empty)  # another prior, another picture


def test_apply_to_photo_saves_the_radius_map_in_pixels(one_sided: Path, tmp_path: Path) -> None:
    G = load_generator(one_sided)
    photo = tmp_path / "p.png"
    rgb = (_photo(48, 64)[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    dof_io.write_rgb(photo, rgb)
    images = apply_to_photo(G, photo, save_map=True, aperture=0.5)
    assert set(images) == {"plain", "map"}
    assert images["map"].shape == (48, 64) and images["map"].dtype == np.float32
    _, radius = translate_with_map(G, dof_io.tensors.image_to_tensor(rgb), aperture=0.5)
    np.testing.assert_allclose(images["map"], radius[0, 0].numpy(), rtol=0, atol=1e-6)
    # 64 px wide against 32 px of training: radii are in the photo's pixels, twice the map's
    top = 0.5 * float(G.aperture()) * 64 / 32
    assert 0 < images["map"].max() <= top * 1.0001
    assert "map" not in apply_to_photo(G, photo)
    events = list(apply_files([photo], tmp_path / "out", generator=G, save_map=True, aperture=0.5))
    assert [(e.status, e.reason) for e in events] == [("done", "")]
    written = dof_io.read_radius_map(tmp_path / "out" / "p_map.png")
    np.testing.assert_allclose(written, images["map"], atol=images["map"].max() / 255 + 1e-6)
    assert dof_io.read_rgb(tmp_path / "out" / "p.png").shape == (48, 64, 3)


def test_the_map_column_is_each_images_radius_over_its_largest(one_sided: Path) -> None:
    G = load_generator(one_sided)
    x = torch.cat([_photo(seed=1), _photo(seed=2)])
    picture = map_renderer(G)(x, torch.ones_like(x[:, :1]))
    assert picture.shape == x.shape and picture.device.type == "cpu"
    _, radius = translate_with_map(G, x)
    for b in range(2):
        assert float(picture[b].max()) == pytest.approx(1.0)
        torch.testing.assert_close(picture[b], (radius[b] / radius[b].max()).expand(3, -1, -1))
