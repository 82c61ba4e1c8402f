"""The `selfie` backend: MediaPipe's network, pre- and post-processing, against oracles."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dof_seg import OptionError, SelfieNet, SelfieSegmenter, ShapeError, mediapipe_resize
from dof_seg.selfie import upsample_mask, weights_path
from dof_seg.selfie_net import same_pad, tflite_order


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float() / 255


@pytest.mark.parametrize("model", ["general", "landscape"])
@pytest.mark.parametrize("key", ["portrait", "landscape_photo"])
def test_matches_mediapipe_reference(model, key, reference):
    """The whole pipeline against masks mediapipe==0.10.21 produced for the same pixels."""
    segmenter = SelfieSegmenter(model)
    with torch.inference_mode():
        mask = segmenter(to_tensor(reference[key]))[0, 0].numpy()
    expected = reference[f"{key}__{model}"].astype(np.float32)
    assert mask.shape == expected.shape
    assert np.abs(mask - expected).mean() < 0.002  # measured: 0.0001 to 0.0007
    assert np.abs(mask - expected).max() < 0.1


def test_reference_is_not_trivially_matched(reference, selfie):
    """The reference test would catch PyTorch's default resize (pixel centres, no zero border)."""
    x = to_tensor(reference["portrait"])
    with torch.inference_mode():
        small = F.interpolate(x, size=(256, 256), mode="bilinear", align_corners=False)
        naive = upsample_mask(selfie.net(small), (120, 90))[0, 0].numpy()
    expected = reference["portrait__general"].astype(np.float32)
    with torch.inference_mode():
        ours = selfie(x)[0, 0].numpy()
    assert np.abs(naive - expected).mean() > 3 * np.abs(ours - expected).mean()


@pytest.mark.parametrize(("height", "width"), [(480, 640), (333, 500), (120, 90)])
def test_resize_maps_corners_to_corners(height, width):
    """MediaPipe's CPU resize (OpenCV warpPerspective, corners onto corners) samples the photo
    at i * W / 256, not at PyTorch's pixel-centre (i + 0.5) * W / 256 - 0.5. On a linear ramp,
    bilinear sampling returns the sampling position itself."""
    ramp = torch.arange(width, dtype=torch.float64) / width  # value = x / W
    image = ramp.expand(1, 3, height, width).contiguous()
    ours = mediapipe_resize(image, (256, 256), quantize=False)[0, 0, 0]  # (256,)
    position = torch.arange(256, dtype=torch.float64) * width / 256
    inside = position <= width - 1  # beyond the last pixel the zero border blends in
    expected = torch.round(position * 32) / 32 / width  # OpenCV's 1/32-pixel grid
    torch.testing.assert_close(ours[inside], expected[inside], atol=1e-9, rtol=0)
    if not inside.all():  # upscaling: the last samples fade towards the zero border
        assert (ours[~inside] < expected[~inside]).all()


def test_resize_quantizes_to_8_bits():
    x = torch.rand(1, 3, 100, 70)
    out = mediapipe_resize(x, (256, 256))
    torch.testing.assert_close(out * 255, torch.round(out * 255), atol=1e-4, rtol=0)
    assert out.min() >= 0 and out.max() <= 1


def test_upsample_equals_opencv_resize():
    small = torch.rand(1, 1, 256, 256)
    expected = cv2.resize(small[0, 0].numpy(), (640, 427), interpolation=cv2.INTER_LINEAR)
    ours = upsample_mask(small, (427, 640))[0, 0].numpy()
    np.testing.assert_allclose(ours, expected, atol=1e-4)  # OpenCV interpolates in float32


def test_same_pad_is_tensorflow_same():
    x = torch.zeros(1, 1, 256, 256)
    assert same_pad(x, 3, 2).shape[-2:] == (257, 257)  # one extra row/column, at the end
    padded = same_pad(torch.ones(1, 1, 32, 32), 5, 2)
    assert padded.shape[-2:] == (35, 35)
    assert padded[0, 0, 0].sum() == 0 and padded[0, 0, 1].sum() > 0  # 1 before, 2 after
    assert padded[0, 0, -2].sum() == 0 and padded[0, 0, -3].sum() > 0


@pytest.mark.parametrize(("model", "size"), [("general", (37, 53)), ("landscape", (64, 48))])
def test_shape_range_and_batch(model, size):
    segmenter = SelfieSegmenter(model)
    images = torch.rand(3, 3, *size)
    with torch.inference_mode():
        masks = segmenter(images)
        one = segmenter(images[1:2])
    assert masks.shape == (3, 1, *size)
    assert masks.dtype == torch.float32
    assert masks.min() >= 0 and masks.max() <= 1
    torch.testing.assert_close(masks[1:2], one, atol=1e-5, rtol=0)


def test_segment_list_mixed_sizes_equals_forward(selfie):
    images = [torch.rand(3, 40, 50), torch.rand(3, 70, 30)]
    with torch.inference_mode():
        listed = selfie.segment_list(images)
        single = [selfie(image[None])[0] for image in images]
    for a, b in zip(listed, single, strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_network_graph_matches_converter_order():
    net = SelfieNet()
    weighted = {name.rsplit(".", 1)[0] for name, _ in net.named_parameters()}
    assert {prefix for prefix, _ in tflite_order()} == weighted
    assert len(tflite_order()) == 43 + 11 + 1  # CONV_2D, DEPTHWISE_CONV_2D, transpose conv
    assert sum(p.numel() for p in net.parameters()) < 150_000


def test_shipped_weights_are_float16_safetensors():
    from safetensors import safe_open

    for model in ("general", "landscape"):
        path = weights_path(model)
        assert path.stat().st_size < 300_000
        with safe_open(str(path), framework="pt") as handle:
            assert handle.metadata()["model"] == model
            assert handle.get_tensor("stem.weight").dtype == torch.float16


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (torch.rand(3, 32, 32), "add a batch axis"),
        (torch.rand(1, 32, 32, 3), "channels go first"),
        (torch.zeros(1, 3, 32, 32, dtype=torch.uint8), r"images\.float\(\) / 255"),
        (np.zeros((1, 3, 8, 8)), "must be a torch.Tensor"),
    ],
)
def test_bad_input_says_how_to_fix(bad, message, selfie):
    with pytest.raises(ShapeError, match=message):
        selfie(bad)


def test_unknown_model_lists_choices():
    with pytest.raises(OptionError, match="general"):
        SelfieSegmenter("portrait")


def test_channels_last_gives_the_same_masks(selfie):
    fast = SelfieSegmenter("general", channels_last=True)
    x = torch.rand(2, 3, 50, 40)
    with torch.inference_mode():
        torch.testing.assert_close(fast(x), selfie(x), atol=1e-5, rtol=0)


def test_no_gradients_and_module_equals_function(selfie):
    x = torch.rand(1, 3, 32, 32)
    assert not any(p.requires_grad for p in selfie.parameters())
    with torch.inference_mode():
        by_module = selfie(x)
        small = mediapipe_resize(x, (256, 256))
        by_function = upsample_mask(selfie.net(small), (32, 32))
    torch.testing.assert_close(by_module, by_function)


@pytest.mark.cuda
def test_cuda_matches_cpu(selfie, reference):
    x = to_tensor(reference["portrait"])
    gpu = SelfieSegmenter("general").to("cuda")
    with torch.inference_mode():
        on_gpu = gpu(x.cuda())
        on_cpu = selfie(x)
    assert on_gpu.device.type == "cuda"
    assert (on_gpu.cpu() - on_cpu).abs().mean() < 1e-3
    with torch.inference_mode():  # masks come back on the images' device
        assert gpu(x).device.type == "cpu"
