"""`deeplabv3` (torchvision) and `deeplabv3plus` (smp): built untrained, offline."""

from __future__ import annotations

import urllib.error

import pytest
import torch

from dof_seg import (
    DeepLabV3PlusSegmenter,
    DeepLabV3PlusSpec,
    DeepLabV3Segmenter,
    DofSegError,
    OptionError,
    WeightsNotFoundError,
    get_segmenter,
)
from dof_seg.deeplab import hub_checkpoint_path, resize_short_side
from dof_seg.deeplabv3plus import save_checkpoint, working_size


@pytest.fixture(scope="module")
def light_deeplabv3() -> DeepLabV3Segmenter:
    torch.manual_seed(0)
    return DeepLabV3Segmenter("mobilenet_v3_large", weights=None, short_side=64)


def test_deeplabv3_shape_and_range(light_deeplabv3):
    images = torch.rand(2, 3, 48, 80)
    with torch.inference_mode():
        masks = light_deeplabv3(images)
    assert masks.shape == (2, 1, 48, 80)
    assert masks.min() >= 0 and masks.max() <= 1
    assert light_deeplabv3.person_class == 15


def test_deeplabv3_person_is_class_15(light_deeplabv3):
    """The mask is exactly the softmax probability of VOC class 15 at the input's size."""
    images = torch.rand(1, 3, 64, 64)  # short side already 64: no resize
    with torch.inference_mode():
        masks = light_deeplabv3(images)
        from dof_seg.deeplab import IMAGENET_MEAN, IMAGENET_STD, normalize

        logits = light_deeplabv3.net(normalize(images, IMAGENET_MEAN, IMAGENET_STD))["out"]
    torch.testing.assert_close(masks, logits.softmax(1)[:, 15:16])


def test_deeplabv3_offline_error_names_file_and_cache(monkeypatch, tmp_path):
    """No network: the error says which file to put where (the download itself is faked)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)  # the network boundary
    with pytest.raises(WeightsNotFoundError) as info:
        get_segmenter("deeplabv3", backbone="mobilenet_v3_large")
    message = str(info.value)
    expected = tmp_path / "hub" / "checkpoints" / "deeplabv3_mobilenet_v3_large-fc3c493d.pth"
    assert str(expected) in message
    assert (
        "https://download.pytorch.org/models/deeplabv3_mobilenet_v3_large-fc3c493d.pth" in message
    )
    assert hub_checkpoint_path("https://x/y/z.pth") == tmp_path / "hub" / "checkpoints" / "z.pth"


def test_deeplabv3_local_checkpoint(light_deeplabv3, tmp_path):
    """A .pth state dict (torchvision's files carry an aux head; it is not needed)."""
    path = tmp_path / "deeplabv3.pth"
    state = dict(light_deeplabv3.net.state_dict())
    state["aux_classifier.0.weight"] = torch.zeros(1)
    torch.save(state, path)
    loaded = DeepLabV3Segmenter("mobilenet_v3_large", checkpoint=path, short_side=64)
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x), light_deeplabv3(x))


def test_deeplabv3_bad_names():
    with pytest.raises(OptionError, match="mobilenet_v3_large"):
        DeepLabV3Segmenter("vgg16", weights=None)
    with pytest.raises(OptionError, match="COCO_WITH_VOC_LABELS_V1"):
        DeepLabV3Segmenter("mobilenet_v3_large", weights="IMAGENET")


def test_resize_short_side():
    assert resize_short_side(torch.rand(1, 3, 100, 200), 50).shape[-2:] == (50, 100)
    x = torch.rand(1, 3, 10, 20)
    assert resize_short_side(x, None) is x


@pytest.fixture(scope="module")
def small_plus() -> DeepLabV3PlusSegmenter:
    torch.manual_seed(0)
    return DeepLabV3PlusSegmenter(untrained=True, encoder="resnet18", size=64)


def test_deeplabv3plus_shape_and_range(small_plus):
    with torch.inference_mode():
        masks = small_plus(torch.rand(2, 3, 50, 70))
    assert masks.shape == (2, 1, 50, 70)
    assert masks.min() >= 0 and masks.max() <= 1


def test_deeplabv3plus_checkpoint_round_trip(small_plus, tmp_path):
    path = save_checkpoint(small_plus.net, small_plus.spec, tmp_path / "model.safetensors")
    loaded = get_segmenter("deeplabv3plus", checkpoint=path)
    assert loaded.spec == small_plus.spec
    x = torch.rand(1, 3, 40, 40)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x), small_plus(x))


def test_deeplabv3plus_override_keeps_the_checkpoints_encoder(small_plus, tmp_path):
    path = save_checkpoint(small_plus.net, small_plus.spec, tmp_path / "model.safetensors")
    loaded = get_segmenter("deeplabv3plus", checkpoint=path, size=96)
    assert loaded.spec.encoder == "resnet18" and loaded.spec.size == 96


def test_deeplabv3plus_multiclass_picks_person():
    spec = DeepLabV3PlusSpec(encoder="resnet18", classes=21, person_class=15, size=32)
    segmenter = DeepLabV3PlusSegmenter(untrained=True, **spec.__dict__)
    with torch.inference_mode():
        masks = segmenter(torch.rand(1, 3, 32, 32))
    assert masks.shape == (1, 1, 32, 32)


def test_deeplabv3plus_needs_a_checkpoint(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="dof seg train"):
        get_segmenter("deeplabv3plus")
    with pytest.raises(WeightsNotFoundError, match=r"missing\.safetensors"):
        get_segmenter("deeplabv3plus", checkpoint=tmp_path / "missing.safetensors")
    plain = tmp_path / "plain.safetensors"
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(1)}, str(plain))
    with pytest.raises(DofSegError, match="not a dof-seg DeepLabV3\\+ checkpoint"):
        get_segmenter("deeplabv3plus", checkpoint=plain)


def test_deeplabv3plus_bad_encoder():
    with pytest.raises(OptionError, match="tu-xception65"):
        DeepLabV3PlusSegmenter(untrained=True, encoder="no-such-encoder")


def test_working_size_is_a_multiple_of_16():
    assert working_size(480, 640, 512) == (384, 512)
    assert working_size(10, 1000, 512) == (16, 512)


@pytest.mark.cuda
def test_deeplabv3_on_cuda(light_deeplabv3):
    model = DeepLabV3Segmenter("mobilenet_v3_large", weights=None, short_side=64).cuda()
    with torch.inference_mode():
        masks = model(torch.rand(1, 3, 48, 64, device="cuda"))
    assert masks.device.type == "cuda" and masks.shape == (1, 1, 48, 64)
