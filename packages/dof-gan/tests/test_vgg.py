"""Loading the VGG-19 weights: a local file by path, and the offline error."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import pytest
import torch

from dof_gan import VGGFeatures, WeightsError, build_vgg, vgg_checkpoint_path


def test_loads_torchvision_style_state_dict_from_a_path(tmp_path: Path) -> None:
    source = build_vgg("none", seed=7)
    state = {f"features.{k}": v for k, v in source.features.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # the rest of a full VGG-19 file is ignored
    torch.save(state, tmp_path / "vgg.pth")
    loaded = build_vgg(str(tmp_path / "vgg.pth"))
    x = torch.rand(1, 3, 16, 16)
    assert torch.equal(loaded(x), source(x))
    assert not torch.equal(build_vgg("none", seed=8)(x), source(x))


def test_loads_a_legacy_format_file(tmp_path: Path) -> None:
    """torchvision's 2017 VGG-19 file predates torch's zip format; it cannot be memory-mapped."""
    source = build_vgg("none", seed=3)
    state = {f"features.{k}": v for k, v in source.features.state_dict().items()}
    torch.save(state, tmp_path / "old.pth", _use_new_zipfile_serialization=False)
    x = torch.rand(1, 3, 16, 16)
    assert torch.equal(build_vgg(str(tmp_path / "old.pth"))(x), source(x))


def test_wrong_file_is_refused(tmp_path: Path) -> None:
    torch.save({"features.0.weight": torch.zeros(8, 3, 3, 3)}, tmp_path / "bad.pth")
    with pytest.raises(WeightsError, match="is not VGG-19"):
        build_vgg(str(tmp_path / "bad.pth"))
    with pytest.raises(WeightsError, match="does not exist: check --vgg-weights"):
        build_vgg(str(tmp_path / "missing.pth"))


def test_offline_error_names_the_file_and_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args: object, **kwargs: object) -> None:  # the network boundary, as offline
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    expected = tmp_path / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    assert vgg_checkpoint_path() == expected
    with pytest.raises(WeightsError) as info:
        build_vgg("imagenet")
    message = str(info.value)
    assert "vgg19-dcbb9e9d.pth" in message and str(expected) in message
    assert "--vgg-weights PATH" in message


def test_found_file_is_used_without_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", pytest.fail)
    path = vgg_checkpoint_path()
    path.parent.mkdir(parents=True)
    torch.save({f"features.{k}": v for k, v in VGGFeatures().features.state_dict().items()}, path)
    assert isinstance(build_vgg("imagenet"), VGGFeatures)


def test_same_layers_and_results_as_torchvisions_vgg19(tmp_path: Path) -> None:
    """Ours is torchvision's ``vgg19().features[:14]``, ending at relu3_2: a full VGG-19 state
    dict gives the very same features as torchvision's own network cut there."""
    from torchvision.models import vgg19

    from dof_gan.vgg import RELU3_2

    torch.manual_seed(0)
    full = vgg19(weights=None).eval()
    cut = full.features[: RELU3_2 + 1]
    assert isinstance(cut[RELU3_2], torch.nn.ReLU)
    conv3_2 = cut[RELU3_2 - 1]
    assert isinstance(conv3_2, torch.nn.Conv2d)
    assert (conv3_2.in_channels, conv3_2.out_channels) == (256, 256)
    assert sum(isinstance(m, torch.nn.Conv2d) for m in cut) == 6  # conv1_1 .. conv3_2
    torch.save(full.state_dict(), tmp_path / "vgg19.pth")
    ours = build_vgg(str(tmp_path / "vgg19.pth"))
    x = torch.rand(2, 3, 24, 20) * 2 - 1
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = cut(((x + 1) / 2 - mean) / std)
    assert torch.equal(ours(x), expected)


def test_importing_dof_gan_does_not_import_torchvision() -> None:
    """torchvision (VGG for the mask loss) costs seconds at start-up; `dof apply` and the studio
    never need it, so it is imported when a VGG is built (12 MP apply: 13.5 -> 9.0 s)."""
    import subprocess
    import sys

    code = "import sys, dof_gan; print('torchvision' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
