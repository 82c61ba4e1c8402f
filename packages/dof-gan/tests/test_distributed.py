"""Training in two gloo processes: sharding, DDP gradients, checkpoints, resume in one process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from dof_gan import TrainConfig, config_to_json, read_log, train
from dof_gan.distributed import World, shard_plan, world_from_env
from dof_gan.trainer import Trainer

GRADIENTS = """
import json, sys
import torch, torch.distributed as dist
from dof_gan import config_from_dict
from dof_gan.distributed import init_process_group, world_from_env
from dof_gan.trainer import Trainer

config = config_from_dict(json.loads(open(sys.argv[1]).read()))
world = world_from_env()
init_process_group(world, torch.device("cpu"))
trainer = Trainer(config, world)
item = next(iter(trainer.loader()))
trainer.train_step(trainer.to_batch(item))
if world.is_main:
    torch.save({f"{name}.{key}": p.grad for name, net in trainer._networks().items()
                for key, p in net.named_parameters()}, sys.argv[2])
dist.barrier()  # as dof_gan.run does: every rank done, the DDP wrappers gone, then the group
del trainer
dist.destroy_process_group()
"""


def _torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
            "2", *args]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def test_world_from_env() -> None:
    assert world_from_env({}) == World(0, 1, 0)
    assert world_from_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == World(3, 4, 1)
    with pytest.raises(ValueError, match="RANK=4 is outside WORLD_SIZE=4"):
        world_from_env({"RANK": "4", "WORLD_SIZE": "4"})


def test_shard_plan_cuts_global_batches_and_pads_the_last() -> None:
    plan = list(range(5))
    assert shard_plan(plan, World(0, 2), 1) == [0, 2, 4]
    assert shard_plan(plan, World(1, 2), 1) == [1, 3, 0]  # padded from the start
    assert shard_plan(plan, World(0, 2), 2) == [0, 1, 4, 0]
    assert shard_plan(plan, World(1, 2), 2) == [2, 3, 1, 2]
    assert shard_plan(plan, World(0, 1), 2) == plan  # one process: the plan itself
    everything = sorted(shard_plan(plan, World(0, 3), 1) + shard_plan(plan, World(1, 3), 1)
                        + shard_plan(plan, World(2, 3), 1))  # fmt: skip
    assert set(everything) == set(plan) and len(everything) == 6


DEFOCUS = {"generator": "defocus", "one_sided": True, "map_width": 4, "map_depth": 3,
           "max_radius": 4.0}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    ("options", "networks"),
    [({}, {"G", "F", "D_A", "D_B"}), (DEFOCUS, {"G", "D_B"})],
    ids=["cyclegan", "defocus-one-sided"],
)
def test_two_processes_average_to_the_gradients_of_one_batch_of_two(
    tmp_path: Path,
    tiny_data: Path,
    make_config: Callable[..., TrainConfig],
    options: dict[str, object],
    networks: set[str],
) -> None:
    """DDP with batch 1 on each of 2 ranks = one process with batch 2 on the same two items."""
    config = make_config(tiny_data, **options)
    (tmp_path / "config.json").write_text(config_to_json(config))
    (tmp_path / "grads.py").write_text(GRADIENTS)
    script = [str(tmp_path / "grads.py"), str(tmp_path / "config.json"), str(tmp_path / "g.pt")]
    subprocess.run(_torchrun(*script), env=_env(), check=True, timeout=300)
    ranks = torch.load(tmp_path / "g.pt", weights_only=True)
    single = Trainer(make_config(tiny_data, batch_size=2, **options))
    item = next(iter(single.loader()))
    assert item["A"].shape[0] == 2
    single.train_step(single.to_batch(item))
    expected = {f"{name}.{key}": p.grad for name, net in single._networks().items()
                for key, p in net.named_parameters()}  # fmt: skip
    assert ranks.keys() == expected.keys()
    assert {name.split(".")[0] for name in ranks} == networks
    for name, grad in expected.items():  # (biases before instance norm get ~0: rounding only)
        torch.testing.assert_close(ranks[name], grad, rtol=1e-4, atol=1e-5, msg=name)
    assert max(float(g.abs().max()) for g in expected.values()) > 1  # far above the atol


@pytest.mark.slow
def test_two_processes_train_checkpoint_and_resume_in_one(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    """3 items an epoch, 2 ranks: 2 steps an epoch; stop at step 3, finish in one process."""
    config = make_config(tiny_data, max_steps=3)
    (tmp_path / "config.json").write_text(config_to_json(config))
    run = tmp_path / "run"
    command = ["-m", "dof_gan", str(run), "--config", str(tmp_path / "config.json")]
    done = subprocess.run(_torchrun(*command, "--no-progress"), env=_env(), timeout=300,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("stopped at step 3") == 1  # rank 0 alone speaks
    rows = read_log(run)
    assert [(r["step"], r["epoch"]) for r in rows] == [(1, 1), (2, 1), (3, 2)]
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert (state["step"], state["epoch"], state["consumed"], state["world_size"]) == (3, 1, 2, 2)
    assert (run / "checkpoints" / "epoch_001.pt").is_file()
    result = train(make_config(tiny_data), run, resume=True, progress=False)  # one process
    assert (result.step, result.epoch, result.finished) == (4, 2, True)  # 1 item was left
    assert [r["step"] for r in read_log(run)] == [1, 2, 3, 4]


FAILING_RANK = """
import sys
import dof_gan.run
from dof_gan.__main__ import main
from dof_gan.distributed import world_from_env

if world_from_env().rank == 1:  # this rank cannot build its trainer (a bug, a bad device)
    def broken(*args, **kwargs):
        raise RuntimeError("rank 1 could not build its trainer")
    dof_gan.run.Trainer = broken
sys.exit(main(sys.argv[1:]))
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_a_rank_that_fails_at_start_up_stops_every_rank_with_one_message(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    """Two gloo ranks started by hand (no torchrun to kill the survivor): rank 1 fails while
    building its trainer; rank 0 hears of it and exits too, naming rank 1, instead of
    waiting in a collective until the backend times out."""
    (tmp_path / "config.json").write_text(config_to_json(make_config(tiny_data)))
    (tmp_path / "fail.py").write_text(FAILING_RANK)
    port = str(_free_port())
    ranks = []
    for rank in range(2):
        env = {**_env(), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "RANK": str(rank),
               "LOCAL_RANK": str(rank), "WORLD_SIZE": "2"}  # fmt: skip
        command = [sys.executable, str(tmp_path / "fail.py"), str(tmp_path / "run"),
                   "--config", str(tmp_path / "config.json"), "--no-progress"]  # fmt: skip
        ranks.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))  # fmt: skip
    try:
        outputs = [rank.communicate(timeout=120) for rank in ranks]
    finally:
        for rank in ranks:
            rank.kill()
    codes = [rank.returncode for rank in ranks]
    assert codes[0] == 2, outputs[0][1][-3000:]
    assert (
        "error: rank 1 stopped: RuntimeError: rank 1 could not build its trainer" in (outputs[0][1])
    )
    assert codes[1] != 0 and "rank 1 could not build its trainer" in outputs[1][1]
    assert not (tmp_path / "run" / "checkpoints").exists()
