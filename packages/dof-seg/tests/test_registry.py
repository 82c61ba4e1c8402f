"""The backend registry: names, errors, options."""

from __future__ import annotations

import pytest
import torch

from dof_seg import (
    SEGMENTERS,
    OptionError,
    Segmenter,
    SelfieSegmenter,
    ShapeError,
    UnknownSegmenterError,
    backend_options,
    get_segmenter,
    source_names,
    split_source,
)


def test_registry_is_a_plain_dict_of_the_backends():
    assert type(SEGMENTERS) is dict
    assert set(SEGMENTERS) == {
        "selfie", "people", "auto", "deeplabv3", "deeplabv3plus", "precomputed"
    }  # fmt: skip


def test_unknown_name_lists_valid_names():
    with pytest.raises(UnknownSegmenterError) as info:
        get_segmenter("sam")
    message = str(info.value)
    assert "'sam'" in message
    for name in SEGMENTERS:
        assert name in message
    assert isinstance(info.value, KeyError)  # also catchable as a KeyError


def test_default_is_selfie_in_eval_mode():
    segmenter = get_segmenter()
    assert isinstance(segmenter, SelfieSegmenter) and isinstance(segmenter, Segmenter)
    assert not segmenter.training
    assert segmenter.device == torch.device("cpu")


def test_options_reach_the_backend():
    assert get_segmenter("selfie", model="landscape").input_size == (144, 256)


def test_unknown_option_is_a_clear_error():
    with pytest.raises(OptionError, match="does not take these options"):
        get_segmenter("selfie", backbone="resnet101")


def test_backend_options_drops_unset_and_rejects_foreign():
    assert backend_options("selfie", model=None, masks_dir=None) == {}
    assert backend_options("selfie", model="general") == {"model": "general"}
    with pytest.raises(OptionError, match="its options: channels_last, model"):
        backend_options("selfie", masks_dir="x")
    with pytest.raises(UnknownSegmenterError):
        backend_options("nope")


def test_names_must_match_batch(selfie):
    with pytest.raises(ShapeError, match="2 names for a batch of 1"):
        selfie(torch.rand(1, 3, 8, 8), names=["a", "b"])


def test_a_source_names_its_refinement():
    assert split_source("selfie") == ("selfie", None)
    assert split_source("auto:matting") == ("auto", "matting")
    assert get_segmenter("selfie:guided").refine.mode == "guided"
    assert get_segmenter("selfie:none", refine="none").refine.mode == "none"
    assert {"gt", "selfie:none", "auto:guided"} - set(source_names()) == {"gt"}
    assert backend_options("selfie:guided", model="general") == {"model": "general"}


def test_a_bad_source_is_a_clear_error():
    with pytest.raises(UnknownSegmenterError, match="'sam'"):
        split_source("sam:guided")
    with pytest.raises(OptionError, match="must be one of none, guided, matting"):
        split_source("selfie:bilateral")
    with pytest.raises(OptionError, match="give the refinement once"):
        get_segmenter("selfie:guided", refine="matting")
