"""The run folder as a shared resource: one trainer at a time, every training file checked
before the first step, and a start that failed leaves nothing that blocks a rerun."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

import dof_io
from dof_gan import DatasetError, RunFolderError, TrainConfig, config_to_json, read_log, train


def test_every_bad_training_file_is_named_before_anything_is_written(
    tmp_path: Path, make_dataset: Callable[..., Path], make_config: Callable[..., TrainConfig]
) -> None:
    data = make_dataset(tmp_path / "data", n=3, masks="folder")
    truncated = data / "trainA" / "a1.jpg"
    truncated.write_bytes(truncated.read_bytes()[:200])  # a download cut short
    (data / "trainB" / "b2.jpg").write_bytes(b"")
    broken_mask = data / "maskB" / "b0.png"
    broken_mask.write_bytes(b"not a png")
    wrong_size = data / "maskA" / "a2.png"
    dof_io.write_rgb(wrong_size, np.zeros((5, 7, 3), np.uint8))
    run = tmp_path / "run"
    with pytest.raises(DatasetError) as info:
        train(make_config(data, max_steps=1), run, progress=False)
    message = str(info.value)
    assert message.startswith("4 of the 6 training files")
    for path in (truncated, data / "trainB" / "b2.jpg", broken_mask, wrong_size):
        assert str(path) in message
    assert "a0.jpg" not in message and "b1" not in message
    assert not run.exists()  # refused before the run folder was made


def test_a_start_that_failed_before_its_first_step_does_not_block_a_rerun(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    config = make_config(tiny_data, max_steps=1)
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)  # what a start that died in step 1 leaves
    (run / "config.json").write_text(config_to_json(config))
    (run / "log.jsonl").write_text("")
    (run / ".dof.lock").write_text("")
    (run / "checkpoints" / ".last.ab12cd34.pt").write_bytes(b"half a checkpoint")
    result = train(config, run, progress=False)
    assert result.step == 1 and len(read_log(run)) == 1
    assert not (run / "checkpoints" / ".last.ab12cd34.pt").exists()  # a killed run's temp file
    with pytest.raises(RunFolderError, match="not empty"):  # a started run is protected
        train(config, run, progress=False)


@pytest.mark.slow
def test_a_second_trainer_on_a_run_in_progress_fails_at_once(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    """Two real processes: a real trainer, and `python -m dof_gan RUN --resume` beside it."""
    config = make_config(tiny_data, epochs=200, epochs_decay=0, sample_every=1000)
    (tmp_path / "config.json").write_text(config_to_json(config))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "dof_gan", "--no-progress"]
    run = tmp_path / "run"
    first = subprocess.Popen(
        [*command, str(run), "--config", str(tmp_path / "config.json")], env=env
    )
    try:
        deadline = time.monotonic() + 600  # start-up alone takes minutes on a loaded machine
        while not read_log(run):  # training has started: the lock is held
            assert first.poll() is None, f"the first trainer exited with {first.returncode}"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        second = subprocess.run(
            [*command, str(run), "--resume"], env=env, capture_output=True, text=True, timeout=120
        )
        assert first.poll() is None  # still training
    finally:
        first.kill()
        first.wait()
    assert second.returncode != 0
    assert f"is in use by pid {first.pid}" in second.stderr
    assert "Traceback" not in second.stderr
    steps = [row["step"] for row in read_log(run)]
    assert steps == sorted(set(steps))  # one writer: no step twice, none out of order


class _Payload:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("this ran while loading",))


def test_unsafe_empty_and_junk_checkpoints_are_refused_in_one_line(tmp_path: Path) -> None:
    from dof_gan import CheckpointError, load_generator
    from dof_gan.checkpoint import load_checkpoint

    torch.save({"format": "x", "payload": _Payload()}, tmp_path / "evil.pt")
    (tmp_path / "empty.pt").touch()
    (tmp_path / "junk.pt").write_bytes(b"\x80\x02junk" * 50)
    (tmp_path / "junk.safetensors").write_bytes(b"\x10" * 64)
    expected = {
        "evil.pt": "(it asks for print), which loading would have to run, so it is refused",
        "empty.pt": "the file is empty",
        "junk.pt": "cannot be loaded",
    }
    for name, reason in expected.items():
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(tmp_path / name)
        message = str(info.value)
        assert message.startswith(f"{tmp_path / name}: ") and reason in message, message
        assert "weights_only=False" not in message and "\n" not in message
    with pytest.raises(CheckpointError, match="not a valid safetensors file") as info:
        load_generator(tmp_path / "junk.safetensors")
    assert "\n" not in str(info.value)
