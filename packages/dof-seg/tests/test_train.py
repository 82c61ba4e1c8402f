"""`dof seg train`: a few DeepLabV3+ steps on tiny photos, offline, and exact resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from dof_io import write_rgb
from dof_seg import TrainConfig, TrainDataError, get_segmenter, train_deeplabv3plus
from dof_seg.train import find_pairs, segmentation_loss


@pytest.fixture
def pairs(tmp_path, make_photo):
    photos, masks = tmp_path / "photos", tmp_path / "masks"
    masks.mkdir()
    for index in range(3):
        rgb = make_photo(48, 64, seed=index)
        write_rgb(photos / f"im{index}.jpg", rgb)
        person = (rgb[..., 0] > 200).astype(np.uint8) * 255
        Image.fromarray(person, mode="L").save(masks / f"im{index}.png")
    write_rgb(photos / "unpaired.jpg", make_photo(20, 20))
    return photos, masks


def config(steps: int) -> TrainConfig:
    return TrainConfig(
        encoder="resnet18",
        encoder_weights=None,
        size=32,
        batch_size=2,
        steps=steps,
        save_every=2,
        lr=1e-3,
    )


def test_find_pairs_matches_stems(pairs, tmp_path):
    found = find_pairs(*pairs)
    assert [p.stem for p, _ in found] == ["im0", "im1", "im2"]
    others = tmp_path / "others"
    others.mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8), mode="L").save(others / "someone_else.png")
    with pytest.raises(TrainDataError, match="same stem"):
        find_pairs(pairs[0], others)


def test_train_writes_a_loadable_checkpoint(pairs, tmp_path):
    run = tmp_path / "run"
    torch.manual_seed(0)
    path = train_deeplabv3plus(*pairs, run, config(3))
    torch.manual_seed(0)
    shorter = load_file(str(train_deeplabv3plus(*pairs, tmp_path / "one", config(1))))
    saved = load_file(str(path))
    trained = [k for k in saved if saved[k].is_floating_point()]
    assert any(not torch.equal(saved[k], shorter[k]) for k in trained)  # steps 2-3 were saved
    state = get_segmenter("deeplabv3plus", checkpoint=path).state_dict()
    loaded = {k for k in saved for key, value in state.items()
              if key.endswith(k) and torch.equal(value.cpu(), saved[k])}  # fmt: skip
    assert loaded == set(saved)  # checkpoint= was honoured: every saved tensor, as saved
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log] == [1, 2, 3]
    assert all(np.isfinite(entry["loss"]) for entry in log)
    assert json.loads((run / "config.json").read_text())["encoder"] == "resnet18"
    segmenter = get_segmenter("deeplabv3plus", checkpoint=path)
    with torch.inference_mode():
        assert segmenter(torch.rand(1, 3, 48, 64)).shape == (1, 1, 48, 64)


class StopTrainingError(Exception):
    pass


def test_resume_is_exact(pairs, tmp_path):
    """A run killed after its step-2 checkpoint and resumed equals an uninterrupted one."""
    torch.manual_seed(0)
    straight = train_deeplabv3plus(*pairs, tmp_path / "a", config(3))

    def stop_at_2(step: int, loss: float) -> None:
        if step == 2:
            raise StopTrainingError

    torch.manual_seed(0)
    with pytest.raises(StopTrainingError):
        train_deeplabv3plus(*pairs, tmp_path / "b", config(3), on_step=stop_at_2)
    torch.manual_seed(123)  # a resumed process starts with another global random state
    resumed = train_deeplabv3plus(*pairs, tmp_path / "b", config(3), resume=True)
    a, b = load_file(str(straight)), load_file(str(resumed))
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    steps = [json.loads(line)["step"] for line in (tmp_path / "b" / "log.jsonl").open()]
    assert steps == [1, 2, 3]


def test_loss_is_low_for_the_right_answer():
    target = torch.zeros(1, 1, 8, 8)
    target[..., 2:6, 2:6] = 1
    good = segmentation_loss((target * 2 - 1) * 10, target)
    bad = segmentation_loss((1 - target * 2) * 10, target)
    assert good < 0.05 < 1 < bad


def test_config_validation():
    with pytest.raises(TrainDataError, match="multiple of 16"):
        TrainConfig(size=50).validate()
    with pytest.raises(TrainDataError, match="min_crop"):
        TrainConfig(min_crop=0).validate()


def test_an_existing_run_is_refused_without_resume(pairs, tmp_path):
    """Like dof-gan: a started run is continued with resume=True, never started over."""
    from dof_seg import RunFolderError

    run = tmp_path / "run"
    train_deeplabv3plus(*pairs, run, config(2))
    before = (run / "checkpoint.pt").read_bytes()
    with pytest.raises(RunFolderError, match=r"already exists and is not empty.*--resume"):
        train_deeplabv3plus(*pairs, run, config(2))
    assert (run / "checkpoint.pt").read_bytes() == before
    with pytest.raises(RunFolderError, match="no run to resume"):
        train_deeplabv3plus(*pairs, tmp_path / "new", config(2), resume=True)
