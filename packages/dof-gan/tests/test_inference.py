"""Loading generators from runs, checkpoints and exports; translating photos of any size."""

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
    ShapeError,
    TrainConfig,
    apply_files,
    apply_to_photo,
    as_renderers,
    export_generator,
    load_generator,
    load_generator_with_info,
    load_renderers,
    train,
    translate,
)


@pytest.fixture(scope="module")
def run(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_data: Path,
    make_config: Callable[..., TrainConfig],
) -> Path:
    folder = tmp_path_factory.mktemp("inference") / "run"
    train(make_config(tiny_data, preset="mask-overlay", max_steps=2), folder, progress=False)
    return folder


def _image(h: int = 37, w: int = 50) -> torch.Tensor:
    return torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(1))


def test_run_folder_checkpoint_and_export_give_the_same_generator(
    run: Path, tmp_path: Path
) -> None:
    from_run = load_generator(run)
    from_pt = load_generator(run / "checkpoints" / "last.pt")
    exported = export_generator(run, tmp_path / "G.safetensors")
    from_export = load_generator(exported)
    x = _image()
    y = translate(from_run, x)
    assert torch.equal(translate(from_pt, x), y)
    assert torch.equal(translate(from_export, x), y)
    assert not torch.equal(translate(load_generator(run, direction="BtoA"), x), y)


def test_half_export_stores_float16_and_loads_into_float32(run: Path, tmp_path: Path) -> None:
    from safetensors import safe_open

    full = export_generator(run, tmp_path / "G32.safetensors")
    half = export_generator(run, tmp_path / "G16.safetensors", half=True)
    with safe_open(str(half), framework="pt") as handle:
        dtypes = {handle.get_tensor(k).dtype for k in handle.keys()}  # noqa: SIM118
    assert dtypes == {torch.float16}
    assert json.loads((tmp_path / "G16.json").read_text())["dtype"] == "float16"
    assert half.stat().st_size < 0.6 * full.stat().st_size
    G16, G32 = load_generator(half), load_generator(full)
    assert next(G16.parameters()).dtype == torch.float32
    x = _image()
    y16, y32 = translate(G16, x), translate(G32, x)
    assert not torch.equal(y16, y32)  # the weights were rounded ...
    assert (y16 - y32).abs().max() < 2e-2  # ... by float16's 3 digits only


def test_export_sidecar_and_header(run: Path, tmp_path: Path) -> None:
    out = export_generator(run, tmp_path / "F.safetensors", direction="BtoA")
    sidecar = json.loads((tmp_path / "F.json").read_text())
    assert sidecar["direction"] == "BtoA" and sidecar["generator"]["ngf"] == 4
    assert sidecar["preset"] == "mask-overlay" and sidecar["overlay_at_test"] is True
    (tmp_path / "F.json").unlink()  # the safetensors header carries the same metadata
    _, info = load_generator_with_info(out, direction="BtoA")
    assert info.overlay_at_test and info.generator.n_blocks == 2
    with pytest.raises(CheckpointError, match="holds the BtoA generator, not AtoB"):
        load_generator(out)
    with pytest.raises(ConfigError, match=r"-o: the export must end in \.safetensors; got G\.pt"):
        export_generator(run, tmp_path / "G.pt")


def test_bad_sources_are_reported(tmp_path: Path) -> None:
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"junk\.pt: is not a PyTorch checkpoint"):
        load_generator(tmp_path / "junk.pt")
    (tmp_path / "empty_run").mkdir()
    with pytest.raises(CheckpointError, match="no checkpoint yet"):
        load_generator(tmp_path / "empty_run")


def test_translate_any_size(run: Path) -> None:
    G = load_generator(run)
    x = _image(37, 50)
    y = translate(G, x)
    assert y.shape == x.shape and y.dtype == torch.float32
    assert float(y.min()) >= 0 and float(y.max()) <= 1
    assert y.is_inference()
    assert translate(G, torch.rand(1, 3, 8, 9)).shape == (1, 3, 8, 9)
    with pytest.raises(ShapeError, match=r"at least 8x8 pixels; got 3x2"):
        translate(G, torch.rand(1, 3, 2, 3))


def test_translate_crops_back_what_it_padded(run: Path) -> None:
    G = load_generator(run)
    x = _image(36, 52)  # already a multiple of 4: no padding at all
    with torch.no_grad():
        direct = ((G(x * 2 - 1) + 1) / 2).clamp(0, 1)
    assert torch.equal(translate(G, x), direct)
    padded = translate(G, _image(37, 52))
    assert padded.shape == (2, 3, 37, 52)


def test_translate_overlay_is_exact_on_the_subject(run: Path) -> None:
    G = load_generator(run)
    x = _image()
    mask = torch.zeros(2, 1, 37, 50)
    mask[..., 5:30, 10:40] = 1
    y = translate(G, x, mask=mask, overlay=True)
    subject = mask.expand_as(x) == 1
    assert torch.equal(y[subject], x[subject])
    assert torch.equal(y[~subject], translate(G, x)[~subject])


def test_renderers_are_g_and_g_with_the_overlay(run: Path, tmp_path: Path) -> None:
    G = load_generator(run)
    x, mask = _image(), torch.zeros(2, 1, 37, 50)
    mask[..., 5:30, 10:40] = 1
    plain = as_renderers(G, "GAN", overlay=False)
    assert list(plain) == ["GAN"]
    assert torch.equal(plain["GAN"](x, mask), translate(G, x))  # the mask is ignored
    # a mask-overlay run gets its overlay row, from the run folder and from an export
    exported = export_generator(run, tmp_path / "G.safetensors")
    for source in (run, exported):
        renderers = load_renderers(source, "GAN")
        assert list(renderers) == ["GAN", "GAN + overlay"]
        out = renderers["GAN + overlay"](x, mask)
        assert out.device.type == "cpu" and out.dtype == torch.float32
        assert torch.equal(out, translate(G, x, mask=mask, overlay=True))


@pytest.mark.parametrize(
    ("preset", "at_test", "overlay"),
    [("cyclegan", False, False), ("mask-loss", False, False), ("combined", False, True),
     ("mask-overlay", True, True), (None, False, False), ("custom", True, True)],
)  # fmt: skip
def test_generator_info_overlay_follows_the_preset(
    preset: str | None, at_test: bool, overlay: bool
) -> None:
    from dof_gan import GeneratorConfig, GeneratorInfo

    info = GeneratorInfo(Path("G.pt"), "AtoB", GeneratorConfig(), preset, at_test, None)
    assert info.overlay is overlay


def test_translate_validates_inputs(run: Path) -> None:
    G = load_generator(run)
    with pytest.raises(ShapeError, match=r"got \(3, 8, 8\).*add a batch axis with image\[None\]"):
        translate(G, torch.rand(3, 8, 8))
    with pytest.raises(ShapeError, match="overlay=True needs a mask"):
        translate(G, torch.rand(1, 3, 8, 8), overlay=True)


def test_apply_to_photo_full_size_both(run: Path, tmp_path: Path) -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (45, 61, 3), dtype=np.uint8)
    mask = np.zeros((45, 61), np.float32)
    mask[10:30, 20:40] = 1
    dof_io.write_rgba(tmp_path / "photo.png", rgb, mask)
    out = apply_to_photo(load_generator(run), tmp_path / "photo.png", mask=tmp_path / "photo.png",
                         both=True)  # fmt: skip
    assert set(out) == {"plain", "overlay"}
    assert out["plain"].shape == out["overlay"].shape == (45, 61, 3)
    assert np.array_equal(out["overlay"][10:30, 20:40], rgb[10:30, 20:40])
    assert not np.array_equal(out["plain"][10:30, 20:40], rgb[10:30, 20:40])


def test_apply_files_writes_each_photo_and_goes_on_past_a_bad_one(
    run: Path, tmp_path: Path
) -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (30, 41, 3), dtype=np.uint8)
    mask = np.zeros((30, 41), np.float32)
    mask[5:25, 10:30] = 1
    good = dof_io.write_rgba(tmp_path / "good.png", rgb, mask)  # its own alpha is the mask
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a picture")
    G = load_generator(run)
    out = tmp_path / "out"
    events = list(apply_files([bad, good], out, generator=G, both=True))
    assert [(e.photo.name, e.status) for e in events] == [
        ("bad.png", "failed"),
        ("good.png", "done"),
    ]
    expected = apply_to_photo(G, good, mask=good, both=True)
    np.testing.assert_array_equal(dof_io.read_rgb(out / "good.png"), expected["plain"])
    np.testing.assert_array_equal(dof_io.read_rgb(out / "good_overlay.png"), expected["overlay"])
    again = list(apply_files([good], out, generator=G, both=True))
    assert [e.status for e in again] == ["skipped"]


class _Broken(torch.nn.Module):
    """A generator with a bug: its forward raises what a bug or a sticky CUDA error raises."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    def translate_photo(self, image: torch.Tensor, **options: object) -> torch.Tensor:
        return self(image)  # the generator contract: a whole photo


def test_apply_files_stops_on_a_bug_and_goes_on_past_a_photo_too_large(
    run: Path, tmp_path: Path
) -> None:
    """A photo's own fault is reported; a RuntimeError from the generator stops the job."""
    rgb = np.random.default_rng(0).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    photo = dof_io.write_rgb(tmp_path / "a.png", rgb)
    with pytest.raises(RuntimeError, match="illegal memory access"):
        list(apply_files([photo], tmp_path / "out", generator=_Broken()))
    G = load_generator(run)
    events = list(apply_files([photo], tmp_path / "out2", generator=G, max_memory=2**20))
    assert [e.status for e in events] == ["failed"]
    assert "too large for the memory budget; lower the size or raise --max-memory" in (
        events[0].reason
    )
