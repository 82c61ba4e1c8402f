"""The trainer: optimizers, schedules, pools and bookkeeping around one explicit training step.

Adam(lr 2e-4, betas (0.5, 0.999)) for G and F together and for D_A and D_B together; the
learning rate is constant for ``n_epochs`` and then decays linearly over ``n_epochs_decay``
(CycleGAN's rule: the factor in epoch e, counted from 0, is 1 - max(0, e + 1 - n_epochs) /
(n_epochs_decay + 1)). Everything that influences the numbers is in :meth:`Trainer.state_dict`.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.optim import Adam
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import DataLoader
from tqdm import tqdm

from dof_gan import runlog
from dof_gan.average import WeightAverage
from dof_gan.checkpoint import link_checkpoint, save_checkpoint
from dof_gan.config import TrainConfig, config_to_dict
from dof_gan.data import EpochPlanner, UnpairedDataset
from dof_gan.distributed import World, any_rank, barrier, device_for, shard_plan, wrap
from dof_gan.errors import DatasetError, WeightsError
from dof_gan.losses import CycleGANLoss
from dof_gan.pool import ImagePool
from dof_gan.precision import autocast, grad_scaler, resolve_precision
from dof_gan.seeds import stream_seed
from dof_gan.steps import (
    Batch,
    CycleGAN,
    Networks,
    Translations,
    discriminator_step,
    generator_step,
)
from dof_gan.steps import set_requires_grad as _set_requires_grad
from dof_gan.vgg import VGGFeatures, build_vgg
from dof_io.training import rng_states, set_rng_states


def _mask_loss_vgg(config: TrainConfig) -> VGGFeatures | None:
    """VGG-19 for the mask loss's perceptual term (eq. 11).

    Presets that do not train on that term still log it (for the paper's Fig. 16); there,
    missing ImageNet weights (offline) drop the logged term with a warning instead of stopping
    the run. Where the term is trained, missing weights stop the run with the WeightsError.
    """
    try:
        return build_vgg(config.loss.vgg_weights, seed=stream_seed(config.seed, "vgg"))
    except WeightsError as err:
        if config.loss.lambda_mask_vgg > 0:
            raise
        warnings.warn(
            f"the logged mask loss leaves out its VGG term (not trained in preset "
            f"{config.preset}): {err}",
            stacklevel=3,
        )
        return None


def lr_factor(epoch: int, n_epochs: int, n_epochs_decay: int) -> float:
    """Learning-rate multiplier in epoch ``epoch`` (0-based): 1, then linear decay."""
    return 1.0 - max(0, epoch + 1 - n_epochs) / (n_epochs_decay + 1)


def _match_parameter_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give loaded optimizer state (Adam's moments) the memory layout of its parameters.

    A checkpoint written with channels_last and resumed without it (or the other way round)
    would otherwise pair NCHW weights with NHWC moments; values are copied exactly.
    """
    for group in optimizer.param_groups:
        for param in group["params"]:
            for key, value in optimizer.state.get(param, {}).items():
                moment = isinstance(value, torch.Tensor) and value.shape == param.shape
                if moment and value.stride() != param.stride():
                    optimizer.state[param][key] = torch.empty_like(param).copy_(value)


def _fused_adam(device: torch.device) -> bool:
    """Whether this torch has a fused Adam kernel for ``device`` (CUDA and CPU have)."""
    return device.type in ("cuda", "cpu")


class StopFlag:
    """Set (by a signal handler, say) to stop after the current step with a checkpoint."""

    def __init__(self) -> None:
        self.requested = False


@dataclass(frozen=True)
class TrainResult:
    """Where a :func:`train` call stopped."""

    run: Path
    step: int
    epoch: int
    finished: bool

    def describe(self, name: str) -> str:
        """What a user reads when training run ``name`` returns: done, or how to go on."""
        if self.finished:
            return f"finished {name}: {self.step} steps, {self.epoch} epochs in {self.run}"
        return (f"stopped at step {self.step} with a checkpoint; continue with "
                f"dof-train --out {self.run} --resume")  # fmt: skip


class Trainer:
    """Builds the four networks, the loss, the optimizers and the data for one config."""

    def __init__(
        self, config: TrainConfig, world: World | None = None, *, distribute: bool = True
    ) -> None:
        """``distribute=False`` leaves out the DDP wrappers (collectives) until
        :meth:`distribute`, so that a rank that fails before them cannot strand the others."""
        self.config = config
        self.world = world = World() if world is None else world
        self.device = device_for(world, config.device)
        self.dataset = UnpairedDataset(config.data, prior=config.generator.prior)
        needs = [what for what, on in ((f"preset {config.preset}", config.mask_overlay
                                         or config.mask_loss_on),
                                        ("the focus term (--lambda-focus)",
                                         config.loss.lambda_focus > 0)) if on]  # fmt: skip
        if needs and not self.dataset.has_masks:
            raise DatasetError(
                f"{' and '.join(needs)} needs person masks for trainA/ and trainB/ under "
                f"{config.data.root}: store them as the images' alpha channel (dof seg writes "
                "RGBA PNGs) or as maskA/<stem>.png and maskB/<stem>.png"
            )
        self.precision = resolve_precision(config.precision, self.device)
        self.scaler = grad_scaler(self.precision, self.device)  # a no-op unless fp16
        self.model = CycleGAN(config).to(self.device)
        vgg = _mask_loss_vgg(config) if self.dataset.has_masks else None
        augment_seed = stream_seed(config.seed, "augment") + world.rank  # each rank its own
        self.loss = CycleGANLoss(config.loss, vgg, augment_seed=augment_seed).to(self.device)
        if config.channels_last:  # NHWC weights; to_batch gives the images the same layout
            self.model.to(memory_format=torch.channels_last)
            self.loss.to(memory_format=torch.channels_last)
        betas = (config.beta1, config.beta2)
        nets = self.model.networks()
        G_params = itertools.chain(*(nets[n].parameters() for n in ("G", "F") if n in nets))
        D_params = itertools.chain(*(nets[n].parameters() for n in ("D_A", "D_B") if n in nets))
        fused = _fused_adam(self.device)  # one kernel per step instead of one per tensor
        self.opt_G = Adam(G_params, lr=config.lr, betas=betas, fused=fused, foreach=not fused)
        self.opt_D = Adam(D_params, lr=config.lr, betas=betas, fused=fused, foreach=not fused)
        # the average of G's weights (same layout as G), what the run is scored and exported by
        self.ema = WeightAverage(self.model.G, config.ema_images) if config.ema_images else None
        if config.compile:  # in place: the modules keep their plain state_dict keys
            for network in self._networks().values():
                network.compile()
        if distribute:
            self.distribute()

        def rule(epoch: int) -> float:
            return lr_factor(epoch, config.n_epochs, config.n_epochs_decay)

        self.sched_G = LambdaLR(self.opt_G, rule)
        self.sched_D = LambdaLR(self.opt_D, rule)
        seed, rank = config.seed, world.rank  # every rank keeps pools of its own fakes
        self.pool_A = ImagePool(config.pool_size, seed=stream_seed(seed, "pool_A") + rank)  # F(b)
        self.pool_B = ImagePool(config.pool_size, seed=stream_seed(seed, "pool_B") + rank)  # G(a)
        self.planner = EpochPlanner(
            len(self.dataset.A.images), len(self.dataset.B.images),
            seed=stream_seed(seed, "planner"),
        )  # fmt: skip
        self.step_items = config.batch_size * world.world_size  # items per step, all ranks
        self.steps_per_epoch = math.ceil(len(self.dataset) / self.step_items)
        self.step = 0  # optimisation steps done
        self.epoch = 0  # epochs completed
        self.position = 0  # steps done in the current epoch
        self.consumed = 0  # items of the current epoch's plan done (by all ranks)
        self.epoch_state = self.planner.get_state()  # planner state at the current epoch's start
        self.elapsed = 0.0  # training seconds before this process

    def distribute(self) -> None:
        """One DDP wrapper per network (the network itself with one process), each used only
        in the step that trains it: the frozen judges of the generator step run unwrapped.
        A collective under torchrun: every rank calls it."""
        wrapped = {
            name: wrap(net, self.world, self.device) for name, net in self._networks().items()
        }
        self.generator_nets = Networks(wrapped["G"], wrapped.get("F"), self.model.D_A,
                                       self.model.D_B)  # fmt: skip
        self.discriminator_nets = Networks(self.model.G, self.model.F, wrapped.get("D_A"),
                                           wrapped["D_B"])  # fmt: skip

    def train_step(self, batch: Batch) -> tuple[dict[str, torch.Tensor], Translations]:
        """One optimisation step: the generator step, then the discriminator step.

        Forward passes and losses run under the precision's autocast; backward passes and
        optimizer steps outside it. The scaler does nothing unless the precision is fp16.
        """
        nets = self.model.networks()
        D, scaler = [nets[n] for n in ("D_A", "D_B") if n in nets], self.scaler
        # generators (backward_G): the discriminators are fixed judges here
        _set_requires_grad(D, False)
        self.opt_G.zero_grad(set_to_none=True)
        with autocast(self.precision, self.device):
            G_total, terms, images = generator_step(
                self.generator_nets, self.loss, batch, overlay=self.config.mask_overlay
            )
        torch.autograd.backward(scaler.scale(G_total))
        scaler.step(self.opt_G)
        # discriminators (backward_D): real images against fakes from the pools (kept fp32)
        _set_requires_grad(D, True)
        self.opt_D.zero_grad(set_to_none=True)
        fake_A = None if images.fake_A is None else self.pool_A.query(images.fake_A.float())
        fake_B = self.pool_B.query(images.fake_B.float())
        with autocast(self.precision, self.device):
            D_terms = discriminator_step(self.discriminator_nets, self.loss, batch, fake_A, fake_B)
        torch.autograd.backward(scaler.scale(torch.stack(list(D_terms.values())).sum()))
        scaler.step(self.opt_D)
        scaler.update()
        return {**terms, **D_terms}, images

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly; only tensors and plain values."""
        return {
            "config": config_to_dict(self.config),
            "step": self.step,
            "epoch": self.epoch,
            "position": self.position,
            "consumed": self.consumed,
            "world_size": self.world.world_size,  # of the run that wrote it (informative)
            "elapsed": self.elapsed,
            "networks": {  # plain float32 contiguous weights, whatever the run's layout
                name: {key: value.contiguous() for key, value in network.state_dict().items()}
                for name, network in self._networks().items()
            },
            "optimizers": {"G": self.opt_G.state_dict(), "D": self.opt_D.state_dict()},
            "schedulers": {"G": self.sched_G.state_dict(), "D": self.sched_D.state_dict()},
            "scaler": self.scaler.state_dict(),  # empty unless fp16
            "precision": self.precision,  # what this run resolved (informative only)
            "pools": {"A": self.pool_A.state_dict(), "B": self.pool_B.state_dict()},
            **({"ema": {"G": self.ema.state_dict()}} if self.ema is not None else {}),
            "rng": {
                **rng_states(),
                "planner_epoch_start": self.epoch_state,
                "augment": self.loss.augment_generator.get_state(),
            },
        }

    def _networks(self) -> dict[str, torch.nn.Module]:
        """The plain networks by their checkpoint names (never a compiled or DDP wrapper): the
        four of CycleGAN, or G and D_B one-sided."""
        return self.model.networks()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict`'s output, in any precision and memory layout."""
        for name, weights in state["networks"].items():
            self._networks()[name].load_state_dict(weights)
        if self.ema is not None:  # ema_images is part of the config: its checkpoints hold it
            self.ema.load_state_dict(state["ema"]["G"])
        for optimizer, key in ((self.opt_G, "G"), (self.opt_D, "D")):
            optimizer.load_state_dict(state["optimizers"][key])
            _match_parameter_layout(optimizer)
        if self.scaler.is_enabled() and state.get("scaler"):  # from an fp16 run
            self.scaler.load_state_dict(state["scaler"])
        self.sched_G.load_state_dict(state["schedulers"]["G"])
        self.sched_D.load_state_dict(state["schedulers"]["D"])
        if self.world.is_main:  # the checkpoint holds rank 0's pools; other ranks start empty
            self.pool_A.load_state_dict(state["pools"]["A"], device=self.device)
            self.pool_B.load_state_dict(state["pools"]["B"], device=self.device)
        set_rng_states(state["rng"])
        if "augment" in state["rng"] and self.world.is_main:  # rank 0's, as for the pools
            self.loss.augment_generator.set_state(state["rng"]["augment"])
        self.epoch_state = state["rng"]["planner_epoch_start"]
        self.step, self.epoch = int(state["step"]), int(state["epoch"])
        self.position, self.elapsed = int(state["position"]), float(state["elapsed"])
        self.consumed = int(state.get("consumed", self.position * self.config.batch_size))

    def save(self, run: Path, log: runlog.LossLog | None, *, epoch_end: bool = False) -> Path:
        """Flush the log, then write ``last.pt`` (and ``epoch_XXX.pt`` at an epoch's end).

        Rank 0 writes; the other ranks wait for it at a barrier.
        """
        path = runlog.last_checkpoint_path(run)
        if self.world.is_main:
            path = self._write_checkpoint(run, log, epoch_end=epoch_end)
        barrier(self.world)
        return path

    def _write_checkpoint(self, run: Path, log: runlog.LossLog | None, *, epoch_end: bool) -> Path:
        if log is not None:
            log.flush()
        last = runlog.last_checkpoint_path(run)
        if not epoch_end:
            return save_checkpoint(self.state_dict(), last)
        path = save_checkpoint(self.state_dict(), runlog.epoch_checkpoint_path(run, self.epoch))
        link_checkpoint(path, last)
        keep = self.config.keep_epoch_checkpoints
        if keep:
            for old in sorted(last.parent.glob("epoch_*.pt"))[:-keep]:
                old.unlink(missing_ok=True)
        return path

    def loader(self) -> DataLoader[dict[str, torch.Tensor]]:
        """This rank's share of the rest of the current epoch, in the planner's order."""
        self.planner.set_state(self.epoch_state)
        recipes = shard_plan(self.planner.plan()[self.consumed :], self.world,
                             self.config.batch_size)  # fmt: skip
        return DataLoader(
            self.dataset,
            batch_size=self.config.batch_size,
            sampler=recipes,
            num_workers=self.config.data.num_workers,
            pin_memory=self.device.type == "cuda",
        )

    def to_batch(self, item: dict[str, torch.Tensor]) -> Batch:
        def get(key: str) -> torch.Tensor | None:
            if key not in item:
                return None
            tensor = item[key].to(self.device, non_blocking=True)
            return tensor.contiguous(memory_format=torch.channels_last) if channels_last else tensor

        channels_last = self.config.channels_last
        real_A, real_B = get("A"), get("B")
        assert real_A is not None and real_B is not None
        return Batch(real_A, real_B, get("mask_A"), get("mask_B"), get("prior_A"), get("prior_B"))

    def write_samples(self, run: Path, batch: Batch, images: Translations) -> None:
        def grey(mask: torch.Tensor | None) -> torch.Tensor | None:
            return None if mask is None else (mask[0] * 2 - 1).expand(3, -1, -1)

        def first(image: torch.Tensor | None) -> torch.Tensor | None:
            return None if image is None else image[0]

        # with a defocus generator the A row shows its map (white = full aperture) in place of
        # the cycle
        rows: list[list[torch.Tensor | None]] = [
            [batch.real_A[0], images.fake_B[0], images.fake_B_raw[0],
             first(images.rec_A) if images.map_A is None else grey(images.map_A.logits.sigmoid()),
             first(images.idt_F), grey(batch.mask_A)],
            [batch.real_B[0], first(images.fake_A), first(images.fake_A_raw),
             first(images.rec_B), first(images.idt_G), grey(batch.mask_B)],
        ]  # fmt: skip
        runlog.write_sample_grid(runlog.sample_path(run, self.step), rows)

    def fit(self, run: Path, *, progress: bool = True, stop: StopFlag | None = None) -> TrainResult:
        """Train from the current state to the end (or ``max_steps``, or a stop request).

        With several ranks every rank calls this; rank 0 alone logs, samples and checkpoints.
        """
        config, main = self.config, self.world.is_main
        log = runlog.LossLog(run) if main else None
        total_epochs = config.total_epochs
        limit = config.max_steps or math.inf
        if self.step >= limit:  # resumed with a --max-steps already reached
            return TrainResult(run, self.step, self.epoch, finished=self.epoch >= total_epochs)
        self.dataset.preload()  # decode each photo once, keep it as uint8 (within a budget)
        started = time.perf_counter() - self.elapsed
        progress = progress and main
        if progress:
            layout = ", channels_last" if config.channels_last else ""
            ranks = f" x {self.world.world_size} ranks" if self.world.distributed else ""
            tqdm.write(
                f"training {config.name} on {self.device}{ranks} in {self.precision}{layout}"
            )
        left = math.ceil((len(self.dataset) - self.consumed) / self.step_items)
        total = self.step + left + self.steps_per_epoch * (total_epochs - self.epoch - 1)
        bar = tqdm(total=total, initial=self.step, disable=not progress, unit="step",
                   desc=f"training {config.name}", dynamic_ncols=True)  # fmt: skip
        with bar:
            while self.epoch < total_epochs:
                for item in self.loader():
                    batch = self.to_batch(item)
                    losses, images = self.train_step(batch)
                    self.step += 1
                    if self.ema is not None:
                        self.ema.update(self.model.G, images=self.step * self.step_items,
                                        step_images=self.step_items)  # fmt: skip
                    self.position += 1
                    self.consumed = min(self.consumed + self.step_items, len(self.dataset))
                    self.elapsed = time.perf_counter() - started
                    if log is not None:  # rank 0's own losses
                        lr = self.opt_G.param_groups[0]["lr"]
                        meta = {"step": self.step, "epoch": self.epoch + 1, "lr": lr,
                                "time": self.elapsed}  # fmt: skip
                        log.append(meta, losses)
                    bar.update(1)
                    halt = self.step >= limit or self._stop_requested(stop)
                    if main and (self.step % config.sample_every == 0 or halt):
                        self.write_samples(run, batch, images)
                    if self.consumed >= len(self.dataset):
                        break  # the epoch-end checkpoint below covers this step
                    if self.step % config.checkpoint_every == 0 or halt:
                        self.save(run, log)
                    if halt:
                        return TrainResult(run, self.step, self.epoch, finished=False)
                self.epoch += 1
                self.position = self.consumed = 0
                self.epoch_state = self.planner.get_state()
                self.sched_G.step()
                self.sched_D.step()
                self.save(run, log, epoch_end=True)
                if self.step >= limit or self._stop_requested(stop, every=1):
                    break
        if log is not None:
            log.flush()
        return TrainResult(run, self.step, self.epoch, finished=self.epoch >= total_epochs)

    def _stop_requested(self, stop: StopFlag | None, *, every: int = 10) -> bool:
        """Whether to stop now. With several ranks the answer must agree: every ``every`` steps
        the ranks compare flags (a collective; not every step, to spare a GPU the sync)."""
        requested = stop is not None and stop.requested
        if not self.world.distributed:
            return requested
        if every > 1 and self.step % every:
            return False
        return any_rank(requested, self.world, self.device)
