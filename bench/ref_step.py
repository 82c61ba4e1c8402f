"""Our fp32 CycleGAN step against the reference's (junyanz/pytorch-CycleGAN-and-pix2pix), in
one process, interleaved, on the same synthetic data. Writes bench/results/ref_step.json.

    python bench/ref_step.py --ref /work/ref-cyclegan                 # 256 px, 3 timed rounds
    python bench/ref_step.py --ref ... --size 64 --steps 1 --threads 1 --check   # smoke test

The reference is imported from ``--ref`` (a checkout of its repository: models/, util/) at run
time; nothing of it lives in this repository. Both sides: ResNet-9 G and F (ngf 64, instance
norm without affine, no dropout), 70x70 PatchGAN D (basic), LSGAN, lambda_A = lambda_B = 10,
lambda_identity 0.5, pools of 50, Adam(2e-4, (0.5, 0.999)), batch 1, fp32, CPU.

Variants, one step of each per round, the order rotated every round (round 0 is the warm-up):

- ``ours``: ``Trainer.train_step`` as the trainer runs it (G(a)/G(b) and F(b)/F(a) batched),
  timed as ``data`` (``next(items)`` + ``to_batch``, what bench_gan.py's step includes) and
  ``compute`` (``train_step``);
- ``ref``: the reference's ``set_input`` + ``optimize_parameters``, what its train.py times
  (its batch loading happens outside that timer, in DataLoader workers); it is given the very
  tensors ``ours`` just loaded;
- ``ours-unbatched``: ``ours``'s trainer with ``generator_step`` swapped (in this process only)
  for one that calls G(a), G(b), F(b), F(a) separately, as the reference does;
- ``ours-masks``: a second trainer on the same photos plus person masks, as bench_gan.py's
  ``cyclegan`` cases run: the mask loss (pixel + VGG-19 relu3_2, weight 0 in this preset) is
  then computed without gradient every step, for the log.

Each part also records minor page faults (``ru_minflt``: pages the kernel had to map fresh,
e.g. for allocations that glibc serves with mmap), CPU seconds over wall seconds (about
``--threads`` on a quiet machine) and involuntary context switches (other processes taking the
cores). ``--profile`` adds torch.profiler's top-10 operators (self CPU time) of one more step of
ours, ours-unbatched and ref.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from argparse import Namespace
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

import dof_gan.trainer
import dof_io
from dof_gan import Trainer, config_from_options
from dof_gan.losses import CycleGANLoss, cycle_loss, identity_loss
from dof_gan.steps import Batch, CycleGAN, Networks, Translations, _map_terms, generator_step

VARIANTS = ("ours", "ref", "ours-unbatched", "ours-masks")
N_PHOTOS = 8  # per domain: 4 timed rounds and the warm-up never run out of an epoch


# ---------------------------------------------------------------- our step without batching
def unbatched_generator_step(
    model: CycleGAN | Networks, loss: CycleGANLoss, batch: Batch, *, overlay: bool
) -> tuple[Tensor, dict[str, Tensor], Translations]:
    """``dof_gan.steps.generator_step`` (two-sided, no defocus map) with its batched branch
    replaced by one call per image, as the reference calls its generators. Same terms, same
    weights; used only by this benchmark."""
    G, F = model.G, model.F
    assert F is not None and model.D_A is not None, "two-sided models only"
    real_A, real_B, mask_A, mask_B = batch.real_A, batch.real_B, batch.mask_A, batch.mask_B
    if overlay or batch.prior_A is not None:
        raise ValueError("the unbatched variant covers the cyclegan preset (no overlay, no prior)")
    idt_grad = torch.is_grad_enabled() and loss.config.lambda_idt > 0
    fake_B_raw, map_A = G(real_A, None, with_map=True)
    fake_A_raw = F(real_B)
    with torch.set_grad_enabled(idt_grad):
        idt_G, idt_F = G(real_B, None), F(real_A)
    fake_B, fake_A = fake_B_raw, fake_A_raw
    rec_A, rec_B = F(fake_B), G(fake_A, None)
    terms = {
        "G_gan": loss.adversarial(model.D_B(fake_B), True),
        "F_gan": loss.adversarial(model.D_A(fake_A), True),
        "cycle_A": cycle_loss(rec_A, real_A),
        "cycle_B": cycle_loss(rec_B, real_B),
    }
    with torch.set_grad_enabled(idt_grad):
        terms["idt_G"] = identity_loss(idt_G, real_B)
        terms["idt_F"] = identity_loss(idt_F, real_A)
    if mask_A is not None and mask_B is not None:
        terms["mask_A_pixel"], terms["mask_A_vgg"] = loss.mask(fake_B_raw, real_A, mask_A)
        terms["mask_B_pixel"], terms["mask_B_vgg"] = loss.mask(fake_A_raw, real_B, mask_B)
        terms["mask_A"] = terms["mask_A_pixel"] + terms["mask_A_vgg"]
        terms["mask_B"] = terms["mask_B_pixel"] + terms["mask_B_vgg"]
    _map_terms(terms, G, map_A, mask_A)
    total = loss.generator_objective(terms)
    terms["G_total"] = total
    images = Translations(fake_B, fake_A, fake_B_raw, fake_A_raw, rec_A, rec_B, idt_G, idt_F,
                          map_A)  # fmt: skip
    return total, terms, images


@contextlib.contextmanager
def unbatched() -> Iterator[None]:
    """The trainer calls ``unbatched_generator_step`` inside this block (the trainer module
    imported the function by name, so that name is the one to swap)."""
    module = dof_gan.trainer
    original = getattr(module, "generator_step")  # noqa: B009 (not re-exported: mypy)
    setattr(module, "generator_step", unbatched_generator_step)  # noqa: B010
    try:
        yield
    finally:
        setattr(module, "generator_step", original)  # noqa: B010


# ---------------------------------------------------------------- data and the two models
def make_photos(root: Path, size: int, *, masks: bool) -> None:
    """trainA/, trainB/ (random RGB PNGs, size x size, seed 0) and, with ``masks``, maskA/ and
    maskB/ (a centred box)."""
    rng = np.random.default_rng(0)
    for domain in ("A", "B"):
        (root / f"train{domain}").mkdir(parents=True, exist_ok=True)
        if masks:
            (root / f"mask{domain}").mkdir(parents=True, exist_ok=True)
        for i in range(N_PHOTOS):
            rgb = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            dof_io.write_rgb(root / f"train{domain}" / f"{i}.png", rgb)
            if masks:
                mask = np.zeros((size, size, 3), np.uint8)
                mask[size // 4 : 3 * size // 4, size // 3 : 2 * size // 3] = 255
                dof_io.write_rgb(root / f"mask{domain}" / f"{i}.png", mask)


def build_ours(data: Path, size: int) -> Trainer:
    """Our trainer as bench/bench_gan.py builds it (preset cyclegan, fp32, CPU)."""
    config = config_from_options({
        "preset": "cyclegan", "data": str(data), "size": size, "vgg_weights": "none",
        "workers": 0, "pool_size": 50, "device": "cpu", "precision": "fp32",
    })  # fmt: skip
    trainer = Trainer(config)
    trainer.dataset.preload()
    return trainer


def ref_options(size: int, checkpoints: str) -> Namespace:
    """The reference's options for ``--model cycle_gan`` equal to our preset; old and new
    option names both, so that either generation of its code finds what it reads."""
    return Namespace(
        model="cycle_gan", isTrain=True, gpu_ids=[], checkpoints_dir=checkpoints, name="bench",
        input_nc=3, output_nc=3, ngf=64, ndf=64, netG="resnet_9blocks", netD="basic",
        which_model_netG="resnet_9blocks", which_model_netD="basic", n_layers_D=3,
        norm="instance", no_dropout=True, init_type="normal", init_gain=0.02,
        gan_mode="lsgan", no_lsgan=False, pool_size=50, lr=0.0002, beta1=0.5,
        lambda_A=10.0, lambda_B=10.0, lambda_identity=0.5, direction="AtoB",
        which_direction="AtoB", dataset_mode="unaligned", preprocess="resize_and_crop",
        resize_or_crop="resize_and_crop", load_size=(size * 286 + 128) // 256,
        loadSize=(size * 286 + 128) // 256, crop_size=size, fineSize=size, batch_size=1,
        batchSize=1, serial_batches=False, no_flip=False, continue_train=False,
        verbose=False, lr_policy="linear", epoch_count=1, niter=100, niter_decay=100,
        n_epochs=100, n_epochs_decay=100, lr_decay_iters=50, load_iter=0, epoch="latest",
        device="cpu",
    )  # fmt: skip


def build_ref(ref: Path, size: int, checkpoints: str) -> Any:
    """The reference CycleGANModel from the checkout at ``ref`` (seeded: torch 0, random 0)."""
    for name in ("models", "util"):
        if name in sys.modules:
            raise SystemExit(f"a module named {name!r} is already imported; run from a clean env")
    if not (ref / "models" / "cycle_gan_model.py").is_file():
        raise SystemExit(f"{ref} has no models/cycle_gan_model.py: give --ref the checkout")
    sys.path.insert(0, str(ref))
    from models.cycle_gan_model import CycleGANModel  # type: ignore[import-not-found]

    torch.manual_seed(0)
    random.seed(0)  # its ImagePool draws from Python's random
    opt = ref_options(size, checkpoints)
    try:
        model = CycleGANModel(opt)  # 2019+ API
    except TypeError:  # the 2018 API: construct, then initialize(opt)
        model = CycleGANModel()
        model.initialize(opt)
    return model


def ref_input(item: dict[str, Tensor]) -> dict[str, Any]:
    """The reference's batch (its unaligned dataset's keys) holding copies of our item's images."""
    return {"A": item["A"].clone(), "B": item["B"].clone(), "A_paths": ["a.png"],
            "B_paths": ["b.png"]}  # fmt: skip


# ---------------------------------------------------------------- timing
class Meter:
    """Wall time, CPU time, minor page faults and involuntary switches of a block."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self.minflt = self.nivcsw = 0

    @contextlib.contextmanager
    def measure(self) -> Iterator[None]:
        usage, cpu = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
        start = time.perf_counter()
        try:
            yield
        finally:
            self.wall += time.perf_counter() - start
            self.cpu += time.process_time() - cpu
            after = resource.getrusage(resource.RUSAGE_SELF)
            self.minflt += after.ru_minflt - usage.ru_minflt
            self.nivcsw += after.ru_nivcsw - usage.ru_nivcsw

    def record(self) -> dict[str, float]:
        return {"seconds": self.wall, "cpu_seconds": self.cpu, "minor_faults": self.minflt,
                "involuntary_switches": self.nivcsw}  # fmt: skip


class OurSide:
    """A trainer and its endless stream of items."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.items = iter(trainer.loader())

    def next_item(self) -> dict[str, Tensor]:
        try:
            return next(self.items)
        except StopIteration:  # as bench_gan.py: a new epoch's loader, inside the timer
            self.items = iter(self.trainer.loader())
            return next(self.items)

    def step(
        self, *, batched: bool = True
    ) -> tuple[dict[str, dict[str, float]], dict[str, Tensor]]:
        data, compute = Meter(), Meter()
        with data.measure():
            item = self.next_item()
            batch = self.trainer.to_batch(item)
        with compute.measure(), contextlib.nullcontext() if batched else unbatched():
            self.trainer.train_step(batch)
        return {"data": data.record(), "compute": compute.record()}, item


def ref_step(model: Any, item: dict[str, Tensor]) -> dict[str, dict[str, float]]:
    """The reference's timed region: set_input + optimize_parameters (split)."""
    data = ref_input(item)  # our loader's images; copying them is not timed
    set_input, optimize = Meter(), Meter()
    with set_input.measure():
        model.set_input(data)
    with optimize.measure():
        model.optimize_parameters()
    return {"set_input": set_input.record(), "optimize_parameters": optimize.record()}


def total(parts: dict[str, dict[str, float]]) -> dict[str, float]:
    keys = next(iter(parts.values())).keys()
    return {key: sum(part[key] for part in parts.values()) for key in keys}


# ---------------------------------------------------------------- checks and profile
def parameter_counts(ours: Trainer, ref: Any) -> dict[str, int]:
    def count(net: torch.nn.Module) -> int:
        return sum(p.numel() for p in net.parameters())

    nets = ours.model.networks()
    return {"ours_G": count(nets["G"]), "ours_D_B": count(nets["D_B"]),
            "ref_G_A": count(ref.netG_A), "ref_D_A": count(ref.netD_A)}  # fmt: skip


def check_unbatched(trainer: Trainer) -> float:
    """Largest difference of any generator term, batched against unbatched (no update)."""
    batch = trainer.to_batch(next(iter(trainer.loader())))
    nets = trainer.generator_nets
    with torch.no_grad():  # both take their per-image or batched paths alike without grad
        _, batched_terms, _ = generator_step(nets, trainer.loss, batch, overlay=False)
        _, single_terms, _ = unbatched_generator_step(nets, trainer.loss, batch, overlay=False)
    return max(float((batched_terms[k] - single_terms[k]).abs()) for k in batched_terms)


def profile(run: Callable[[], object], rows: int = 10) -> dict[str, Any]:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    averages = prof.key_averages()
    top = sorted(averages, key=lambda e: e.self_cpu_time_total, reverse=True)[:rows]
    return {
        "top_self_cpu": [
            {
                "op": e.key,
                "calls": e.count,
                "self_ms": e.self_cpu_time_total / 1e3,
                "total_ms": e.cpu_time_total / 1e3,
            }
            for e in top
        ],
        "self_ms_all_ops": sum(e.self_cpu_time_total for e in averages) / 1e3,
    }


# ---------------------------------------------------------------- report
def machine(threads: int) -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpu": model or platform.processor(), "cores": os.cpu_count(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "threads_asked": threads, "libc": " ".join(platform.libc_ver()),
            "env": {k: v for k, v in os.environ.items()  # allocator and thread settings
                    if k.startswith(("MALLOC_", "OMP_", "MKL_", "DNNL_", "ONEDNN_", "LD_PRELOAD"))
                    or k in ("GLIBC_TUNABLES", "THP_MEM_ALLOC_ENABLE")},
            "python": platform.python_version()}  # fmt: skip


def loadavg() -> str:
    path = Path("/proc/loadavg")
    return path.read_text().strip() if path.is_file() else ""


def summarize(steps: list[dict[str, dict[str, float]]]) -> dict[str, Any]:
    """Median of each part over the timed steps, and the total."""
    parts = {name: [step[name] for step in steps] for name in steps[0]}
    parts["total"] = [total(step) for step in steps]
    out: dict[str, Any] = {}
    for name, records in parts.items():
        out[name] = {
            "median_seconds": statistics.median(r["seconds"] for r in records),
            "seconds": [round(r["seconds"], 4) for r in records],
            "median_cpu_per_wall": statistics.median(
                r["cpu_seconds"] / r["seconds"] if r["seconds"] else 0.0 for r in records),
            "median_minor_faults": statistics.median(r["minor_faults"] for r in records),
            "involuntary_switches": [r["involuntary_switches"] for r in records],
        }  # fmt: skip
    return out


def ratios(results: dict[str, Any]) -> dict[str, float]:
    """The ratios the issue asks about, each > 1 where the first is slower."""

    def median(variant: str, part: str) -> float | None:
        entry = results.get(variant, {}).get("timed", {}).get(part)
        return None if entry is None else entry["median_seconds"]

    pairs = {
        "ours_total / ref": (("ours", "total"), ("ref", "total")),
        "ours_compute / ref": (("ours", "compute"), ("ref", "total")),
        "ours_unbatched_compute / ref": (("ours-unbatched", "compute"), ("ref", "total")),
        "ours_compute / ours_unbatched_compute": (("ours", "compute"),
                                                  ("ours-unbatched", "compute")),
        "ours_masks_compute / ours_compute": (("ours-masks", "compute"), ("ours", "compute")),
        "ours_masks_total / ref": (("ours-masks", "total"), ("ref", "total")),
    }  # fmt: skip
    out = {}
    for label, (a, b) in pairs.items():
        x, y = median(*a), median(*b)
        if x is not None and y:
            out[label] = round(x / y, 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--ref", type=Path, required=True, help="checkout of junyanz/pytorch-CycleGAN-and-pix2pix"
    )
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=3, help="timed rounds after 1 warm-up")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"comma-separated subset of {', '.join(VARIANTS)}",
    )
    parser.add_argument(
        "--profile", action="store_true", help="torch.profiler top-10 ops of one more step of each"
    )
    parser.add_argument(
        "--check", action="store_true", help="first compare the unbatched generator terms with ours"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/ref_step.json"))
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown or "ours" not in variants:
        parser.error(f"--variants must name 'ours' and only {', '.join(VARIANTS)}")
    torch.set_num_threads(args.threads)
    report: dict[str, Any] = {
        "what": "one fp32 training step, ours against the reference CycleGAN, interleaved",
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "size": args.size, "timed_rounds": args.steps, "warmup_rounds": 1,
        "variants": variants, "machine": machine(args.threads),
        "loadavg_before": loadavg(), "ref": str(args.ref.resolve()),
    }  # fmt: skip
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_photos(root / "plain", args.size, masks=False)
        ours = OurSide(build_ours(root / "plain", args.size))
        masked = None
        if "ours-masks" in variants:
            make_photos(root / "masks", args.size, masks=True)
            masked = OurSide(build_ours(root / "masks", args.size))
        ref = build_ref(args.ref, args.size, str(root / "checkpoints"))
        report["parameters"] = parameter_counts(ours.trainer, ref)
        report["optimizers"] = {
            "ours_G": {k: ours.trainer.opt_G.defaults.get(k) for k in ("foreach", "fused")},
            "ref_G": {k: ref.optimizer_G.defaults.get(k) for k in ("foreach", "fused")},
        }  # fmt: skip
        if args.check:
            report["check_unbatched_max_term_diff"] = check_unbatched(ours.trainer)
        report["setup_seconds"] = time.perf_counter() - started
        steps: dict[str, list[dict[str, dict[str, float]]]] = {v: [] for v in variants}
        last_item: dict[str, Tensor] = {}
        for round_ in range(1 + args.steps):
            shift = round_ % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                if variant == "ref" and not last_item:  # ref needs an item ours has loaded
                    last_item = ours.next_item()
                if variant == "ours":
                    record, last_item = ours.step()
                elif variant == "ours-unbatched":
                    record, last_item = ours.step(batched=False)
                elif variant == "ours-masks":
                    assert masked is not None
                    record, _ = masked.step()
                else:
                    record = ref_step(ref, last_item)
                steps[variant].append(record)
                parts = ", ".join(f"{k} {v['seconds']:.2f}" for k, v in record.items())
                print(f"round {round_} {variant:15s} {total(record)['seconds']:7.2f} s ({parts})",
                      file=sys.stderr, flush=True)  # fmt: skip
        results: dict[str, Any] = {}
        for variant, records in steps.items():
            results[variant] = {"warmup": {k: round(v["seconds"], 4) for k, v in
                                           records[0].items()},
                                "timed": summarize(records[1:])}  # fmt: skip
        report["results"] = results
        report["ratios"] = ratios(results)
        if args.profile:
            report["profile"] = {
                "ours": profile(lambda: ours.step()),
                "ours-unbatched": profile(lambda: ours.step(batched=False)),
                "ref": profile(lambda: ref_step(ref, last_item)),
            }
    report["loadavg_after"] = loadavg()
    report["wall_seconds"] = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({"ratios": report["ratios"], "medians": {
        v: {p: r["timed"][p]["median_seconds"] for p in r["timed"]} for v, r in results.items()
    }}, indent=1))  # fmt: skip
    print(f"wrote {args.out} ({report['wall_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
