"""Run folders (refuse, resume, trim the log) and the torch half: checkpoints, random states,
uint8 <-> float tensors."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from dof_io import RunFolderError, ShapeError
from dof_io.runs import append_jsonl, check_run_folder, read_jsonl, run_started, trim_jsonl
from dof_io.tensors import image_to_tensor, mask_to_tensor, tensor_to_image
from dof_io.testing import gradient_rgb
from dof_io.training import load_state, rng_states, save_state, set_rng_states


def test_a_failed_start_may_be_rerun_a_started_run_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert check_run_folder(run, resume=False) == run  # nothing there yet
    run.mkdir()
    (run / "config.json").write_text("{}")
    (run / "log.jsonl").write_text("")
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / ".last.ab12cd34.pt").write_bytes(b"half")  # a killed write
    assert not run_started(run)
    check_run_folder(run, resume=False)
    append_jsonl(run / "log.jsonl", [{"step": 1, "loss": 0.5}])
    with pytest.raises(RunFolderError, match=r"not empty: continue that run with --resume"):
        check_run_folder(run, resume=False)
    assert check_run_folder(run, resume=True) == run
    with pytest.raises(RunFolderError, match="no run to resume"):
        check_run_folder(tmp_path / "other", resume=True)


def test_the_log_is_trimmed_to_the_checkpoint_and_a_cut_line_is_skipped(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    append_jsonl(log, [{"step": s, "loss": s / 10} for s in (1, 2, 3, 4)])
    with log.open("a") as handle:
        handle.write('{"step": 5, "lo')  # killed mid-line
    assert [row["step"] for row in read_jsonl(log)] == [1, 2, 3, 4]
    trim_jsonl(log, 2)
    assert [row["step"] for row in read_jsonl(log)] == [1, 2]


def test_random_states_and_checkpoints_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(3)
    random.seed(3)
    path = save_state({"rng": rng_states(), "step": 7}, tmp_path / "c.pt")
    expected = torch.rand(4), random.random()
    torch.manual_seed(99)
    random.seed(99)
    state = load_state(path)
    set_rng_states(state["rng"])
    assert torch.equal(torch.rand(4), expected[0]) and random.random() == expected[1]
    assert state["step"] == 7


def test_uint8_round_trip_and_layouts() -> None:
    rgb = gradient_rgb()
    image = image_to_tensor(rgb)
    assert image.shape == (1, 3, 48, 64) and image.dtype == torch.float32
    assert float(image.min()) == 0.0 and float(image.max()) == 1.0
    np.testing.assert_array_equal(tensor_to_image(image), rgb)
    np.testing.assert_array_equal(tensor_to_image(image[0] + 0.4 / 255), rgb)  # rounds
    assert mask_to_tensor(np.ones((5, 6))).shape == (1, 1, 5, 6)
    with pytest.raises(ShapeError, match=r"\(H, W, 3\) uint8"):
        image_to_tensor(rgb.astype(np.float32))
    with pytest.raises(ShapeError, match="one image at a time"):
        tensor_to_image(image.expand(2, -1, -1, -1))
