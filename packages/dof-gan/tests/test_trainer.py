"""The trainer end to end on tiny data: files written, schedule, resume (also after SIGKILL)."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

import dof_io
from dof_gan import (
    LOSS_NAMES,
    DatasetError,
    RunFolderError,
    TrainConfig,
    WeightsError,
    config_to_json,
    read_log,
    train,
)
from dof_gan.trainer import lr_factor


def _losses(run: Path) -> list[tuple[int, int, float, dict[str, float]]]:
    return [(r["step"], r["epoch"], r["lr"], r["losses"]) for r in read_log(run)]


def test_a_few_steps_at_64px_write_log_samples_and_checkpoint(
    tmp_path: Path, make_dataset: Callable[..., Path], make_config: Callable[..., TrainConfig]
) -> None:
    data = make_dataset(tmp_path / "data", n=2, size=72)
    config = make_config(data, size=64, ngf=8, ndf=8, n_blocks=3, max_steps=3)
    run = tmp_path / "run"
    result = train(config, run, progress=False)
    assert (result.step, result.finished) == (3, False)
    rows = read_log(run)
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert [r["epoch"] for r in rows] == [1, 1, 2]  # 2 images per epoch
    for row in rows:
        # every name in its order, but a defocus map's terms (this G paints)
        assert list(row["losses"]) == [n for n in LOSS_NAMES if n not in ("focus", "aperture")]
        assert all(math.isfinite(v) for v in row["losses"].values())
        assert row["lr"] == {1: 2e-4, 2: 1e-4}[row["epoch"]] and row["time"] > 0
    assert (run / "config.json").read_text() == config_to_json(config)
    grid = dof_io.read_rgb(run / "samples" / "step_0000002.png")
    assert grid.shape == (2 * 64, 6 * 64, 3)  # rows A, B; six columns
    assert (run / "samples" / "step_0000003.png").is_file()  # the last step is sampled too
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert state["step"] == 3 and state["epoch"] == 1 and state["position"] == 1
    assert set(state["networks"]) == {"G", "F", "D_A", "D_B"}
    assert (run / "checkpoints" / "epoch_001.pt").is_file()


def test_epochs_schedule_and_epoch_checkpoints(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    config = make_config(
        tiny_data, epochs=1, epochs_decay=2, keep_checkpoints=2, checkpoint_every=100
    )
    result = train(config, tmp_path / "run", progress=False)
    assert (result.step, result.epoch, result.finished) == (9, 3, True)
    lrs = {r["epoch"]: r["lr"] for r in read_log(tmp_path / "run")}
    assert lrs == pytest.approx({1: 2e-4, 2: 2e-4 * 2 / 3, 3: 2e-4 / 3})
    names = sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("*.pt"))
    assert names == ["epoch_002.pt", "epoch_003.pt", "last.pt"]  # keep the last 2 epochs
    last = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    assert last["epoch"] == 3 and last["position"] == 0


def test_lr_factor_is_cyclegans_linear_decay() -> None:
    assert [lr_factor(e, 50, 25) for e in (0, 49)] == [1.0, 1.0]
    assert lr_factor(50, 50, 25) == pytest.approx(25 / 26)
    assert lr_factor(74, 50, 25) == pytest.approx(1 / 26)


def test_refuses_existing_run_and_empty_resume(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("mine")
    with pytest.raises(RunFolderError, match="not empty: continue that run with --resume"):
        train(make_config(tiny_data), run, progress=False)
    with pytest.raises(RunFolderError, match="no run to resume"):
        train(make_config(tiny_data), tmp_path / "other", resume=True, progress=False)


def test_mask_presets_need_masks_and_cyclegan_does_not(
    tmp_path: Path, make_dataset: Callable[..., Path], make_config: Callable[..., TrainConfig]
) -> None:
    data = make_dataset(tmp_path / "data", n=2, masks="none")
    with pytest.raises(DatasetError, match="preset mask-loss needs person masks"):
        train(make_config(data, preset="mask-loss"), tmp_path / "a", progress=False)
    assert not (tmp_path / "a").exists()  # refused before anything was written
    train(make_config(data, preset="cyclegan", max_steps=1), tmp_path / "b", progress=False)
    (row,) = read_log(tmp_path / "b")
    assert "mask_A" not in row["losses"] and "G_total" in row["losses"]


def test_missing_vgg_weights_stop_only_presets_that_train_on_them(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    missing = str(tmp_path / "no-such-vgg19.pth")
    with pytest.raises(WeightsError, match="does not exist"):
        train(make_config(tiny_data, preset="mask-loss", vgg_weights=missing, max_steps=1),
              tmp_path / "a", progress=False)  # fmt: skip
    with pytest.warns(UserWarning, match="leaves out its VGG term"):
        train(make_config(tiny_data, preset="cyclegan", vgg_weights=missing, max_steps=1),
              tmp_path / "b", progress=False)  # fmt: skip
    (row,) = read_log(tmp_path / "b")
    assert row["losses"]["mask_A"] > 0  # the pixel term is still logged


def test_resume_after_a_stop_logs_what_an_uninterrupted_run_logs(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    config = make_config(tiny_data, checkpoint_every=2)
    train(config, tmp_path / "straight", progress=False)
    train(
        make_config(tiny_data, checkpoint_every=2, max_steps=4), tmp_path / "split", progress=False
    )
    rows = read_log(tmp_path / "split")
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    train(config, tmp_path / "split", resume=True, progress=False)
    assert _losses(tmp_path / "split") == _losses(tmp_path / "straight")
    times = [r["time"] for r in read_log(tmp_path / "split")]
    assert times == sorted(times)  # the clock carries over


def _wait_for(path: Path, process: subprocess.Popen[Any], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, f"training exited early with {process.returncode}"
        assert time.monotonic() < deadline, f"{path} did not appear within {timeout} s"
        time.sleep(0.005)


@pytest.mark.slow
def test_sigkill_and_resume_log_the_same_losses(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    """A real training process killed with SIGKILL mid-run, then resumed with --resume."""
    config = make_config(tiny_data, epochs=10, epochs_decay=10, checkpoint_every=4, sample_every=7)
    (tmp_path / "config.json").write_text(config_to_json(config))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "dof_gan", "--no-progress"]
    victim = subprocess.Popen(
        [*command, str(tmp_path / "killed"), "--config", str(tmp_path / "config.json")], env=env
    )
    try:
        train(config, tmp_path / "straight", progress=False)  # meanwhile, in this process
        _wait_for(tmp_path / "killed" / "checkpoints" / "last.pt", victim)
        os.kill(victim.pid, signal.SIGKILL)
    finally:
        victim.kill()
        victim.wait()
    assert victim.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    done = len(read_log(tmp_path / "killed"))
    assert 0 < done < 60
    subprocess.run([*command, str(tmp_path / "killed"), "--resume"], env=env, check=True)
    straight = _losses(tmp_path / "straight")
    assert len(straight) == 60
    assert _losses(tmp_path / "killed") == straight


def test_worker_processes_do_not_change_the_numbers(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    """All draws happen in the planner, so loading in 2 worker processes changes nothing."""
    for workers in (0, 2):
        config = make_config(tiny_data, workers=workers, batch_size=2, max_steps=3)
        train(config, tmp_path / f"w{workers}", progress=False)
    assert _losses(tmp_path / "w2") == _losses(tmp_path / "w0")


def test_each_image_pool_keeps_its_own_domains_fakes(
    tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    """pool_A holds F(b) (domain A fakes, shown to D_A), pool_B holds G(a): after a first step
    (pools not yet full, so they store every fake) each pool holds exactly its own."""
    from dof_gan.trainer import Trainer

    trainer = Trainer(make_config(tiny_data, pool_size=4))
    batch = trainer.to_batch(next(iter(trainer.loader())))
    _, images = trainer.train_step(batch)
    assert len(trainer.pool_A.images) == len(trainer.pool_B.images) == batch.real_A.shape[0]
    assert torch.equal(torch.cat(trainer.pool_A.images), images.fake_A.detach())
    assert torch.equal(torch.cat(trainer.pool_B.images), images.fake_B.detach())
    assert not torch.equal(images.fake_A, images.fake_B)
