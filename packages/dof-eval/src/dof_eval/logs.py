"""Reading what the trainer writes: ``RUN/config.json`` and ``RUN/log.jsonl``.

``log.jsonl`` holds one JSON object per logged step::

    {"step": 100, "epoch": 1, "lr": 0.0002, "time": 12.5,
     "losses": {"D_A": 0.25, "G_gan": 0.9, "cycle_A": 0.4, ...}}

Reading is tolerant: a missing loss is NaN at that step, a line that is not JSON (a half-written
last line while training runs) is skipped and counted, a missing ``config.json`` leaves the name
as the folder's name. Only a run without any readable step is an error.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dof_eval.errors import LogFormatError

FloatArray = npt.NDArray[np.float64]

#: The loss terms the trainer logs, in the paper's names, with what a reader should see.
LOSS_LABELS: dict[str, str] = {
    "D_A": "discriminator D_A",
    "D_B": "discriminator D_B",
    "G_gan": "adversarial loss of G (A→B)",
    "F_gan": "adversarial loss of F (B→A)",
    "cycle_A": "cycle loss A→B→A (L1)",
    "cycle_B": "cycle loss B→A→B (L1)",
    "idt_G": "identity loss of G",
    "idt_F": "identity loss of F",
    "mask_A": "mask loss on A",
    "mask_B": "mask loss on B",
    "G_total": "total generator loss",
}

#: Sums of logged terms that the paper plots as one curve.
DERIVED: dict[str, tuple[tuple[str, ...], str]] = {
    "cycle": (("cycle_A", "cycle_B"), "cycle-consistency loss (A→B→A + B→A→B)"),
    "mask": (("mask_A", "mask_B"), "mask loss (A + B)"),
    "idt": (("idt_G", "idt_F"), "identity loss (G + F)"),
    "gan": (("G_gan", "F_gan"), "adversarial loss (G + F)"),
    "D": (("D_A", "D_B"), "discriminator loss (D_A + D_B)"),
}

#: Presets trained with the mask overlay (used when config.json does not say).
OVERLAY_PRESETS = frozenset({"mask-overlay", "combined"})


@dataclass(frozen=True)
class RunLog:
    """One training run's log, as arrays aligned by logged step.

    Attributes:
        path: the run folder.
        name: config's "name", else the folder name.
        preset: config's "preset" (None when unknown).
        config: the whole config.json (empty when absent).
        steps: (N,) global step of each record, sorted.
        epochs: (N,) epoch of each record (NaN when not logged).
        losses: term -> (N,) values, NaN where a record lacks the term.
        skipped_lines: lines of log.jsonl that were not valid records.
    """

    path: Path
    name: str
    preset: str | None
    config: dict[str, Any]
    steps: FloatArray
    epochs: FloatArray
    losses: dict[str, FloatArray]
    skipped_lines: int = 0
    samples: tuple[Path, ...] = field(default=())

    @property
    def label(self) -> str:
        """The legend text: name, and the preset when it adds something."""
        if self.preset and self.preset not in self.name:
            return f"{self.name} ({self.preset})"
        return self.name

    @property
    def overlay(self) -> bool:
        """Whether the model was trained with the mask overlay (config ``mask_overlay``)."""
        value = self.config.get("mask_overlay", self.config.get("overlay"))
        if isinstance(value, bool):
            return value
        return self.preset in OVERLAY_PRESETS

    @property
    def overlay_at_test(self) -> bool:
        """Whether inference is meant to use the overlay (config ``overlay_at_test``)."""
        value = self.config.get("overlay_at_test")
        if isinstance(value, bool):
            return value
        return self.preset == "mask-overlay"

    def series(self, term: str) -> FloatArray:
        """(N,) values of a logged term or a derived sum (``cycle``, ``mask``, ...); NaN if absent.

        Raises:
            KeyError: when the term is neither logged nor derived; the message lists both.
        """
        if term in self.losses:
            return self.losses[term]
        if term in DERIVED:
            parts, _ = DERIVED[term]
            nan = np.full(len(self.steps), np.nan)
            total: FloatArray = np.sum([self.losses.get(p, nan) for p in parts], axis=0)
            return total
        if term in LOSS_LABELS:
            return np.full(len(self.steps), np.nan)
        known = sorted(set(self.losses) | set(DERIVED))
        raise KeyError(f"unknown loss term {term!r} in {self.path}; known: {', '.join(known)}")

    def fractional_epochs(self) -> FloatArray:
        """(N,) epochs completed at each logged step, for curves drawn against epochs.

        The trainer logs 1-based epochs and global steps, so the last step of epoch 1 is at 1.0
        and the first step of epoch 2 just past it. The epoch length is the step distance between
        consecutive epochs' first steps (or, with one epoch only, its own length), so a run that
        stopped mid-epoch ends mid-epoch instead of being stretched to a whole one.
        """
        out = np.full(len(self.steps), np.nan)
        known = ~np.isnan(self.epochs)
        epochs = np.unique(self.epochs[known])
        if len(epochs) == 0:
            return out
        firsts = np.array([self.steps[self.epochs == e].min() for e in epochs])
        if len(epochs) > 1:
            length = float(np.median(np.diff(firsts) / np.diff(epochs)))
        else:
            length = float(self.steps[known].max() - firsts[0] + 1)
        first_of = dict(zip(epochs.tolist(), firsts.tolist(), strict=True))
        for i in np.flatnonzero(known):
            epoch = float(self.epochs[i])
            out[i] = (epoch - 1) + (self.steps[i] - first_of[epoch] + 1) / length
        return out


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def _read_config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "config.json"
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise LogFormatError(f"{path} is not valid JSON ({error}): fix or delete it") from error
    return config if isinstance(config, dict) else {}


def _read_records(log: Path) -> tuple[list[dict[str, Any]], int]:
    records, skipped = [], 0
    with log.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                skipped += 1
                continue
            if not isinstance(record, dict) or math.isnan(_number(record.get("step"))):
                skipped += 1
                continue
            if not isinstance(record.get("losses"), dict):
                record["losses"] = {}
            records.append(record)
    return records, skipped


def read_run(run_dir: str | Path) -> RunLog:
    """Read a training run folder.

    Args:
        run_dir: the folder the trainer wrote (``config.json``, ``log.jsonl``, ``samples/``).

    Returns:
        A :class:`RunLog`, records sorted by step (a resumed run's repeated steps keep the last).

    Raises:
        LogFormatError: when ``log.jsonl`` is missing or holds no valid record.
    """
    run_dir = Path(run_dir)
    log = run_dir / "log.jsonl"
    if not log.is_file():
        raise LogFormatError(
            f"{run_dir} has no log.jsonl: pass the folder given to dof-train --out"
        )
    config = _read_config(run_dir)
    records, skipped = _read_records(log)
    if not records:
        raise LogFormatError(f"{log} holds no valid step record ({skipped} unreadable lines)")
    by_step = {int(_number(r["step"])): r for r in records}  # resumed runs: last write wins
    ordered = [by_step[s] for s in sorted(by_step)]
    terms = sorted({k for r in ordered for k in r["losses"]})
    losses = {t: np.array([_number(r["losses"].get(t)) for r in ordered]) for t in terms}
    preset = config.get("preset")
    name = config.get("name")
    return RunLog(
        path=run_dir,
        name=str(name) if name else run_dir.name,
        preset=str(preset) if preset else None,
        config=config,
        steps=np.array([float(s) for s in sorted(by_step)]),
        epochs=np.array([_number(r.get("epoch")) for r in ordered]),
        losses=losses,
        skipped_lines=skipped,
        samples=tuple(sorted((run_dir / "samples").glob("step_*.png"))),
    )
