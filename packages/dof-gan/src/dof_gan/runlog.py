"""The run folder: config, loss log, sample grids. Files dof-eval reads; no plotting here.

::

    RUN/config.json                  resolved config (incl. "preset" and "name")
    RUN/log.jsonl                    one object per step: step, epoch, lr, time, losses
    RUN/samples/step_0000500.png     rows A, B: real | output | raw | cycle | identity | mask
    RUN/checkpoints/last.pt          newest checkpoint
    RUN/checkpoints/epoch_001.pt     end of each epoch
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

import dof_io
import dof_io.runs
from dof_gan.errors import RunFolderError

#: the names in every log line's "losses", in order (mask terms only when masks exist).
LOSS_NAMES = (
    "D_A", "D_B", "G_gan", "F_gan", "cycle_A", "cycle_B", "idt_G", "idt_F",
    "mask_A", "mask_B", "focus", "aperture", "G_total",
)  # fmt: skip


def config_path(run: Path) -> Path:
    return run / "config.json"


def log_path(run: Path) -> Path:
    return run / "log.jsonl"


def last_checkpoint_path(run: Path) -> Path:
    return run / "checkpoints" / "last.pt"


def epoch_checkpoint_path(run: Path, epoch: int) -> Path:
    return run / "checkpoints" / f"epoch_{epoch:03d}.pt"


def sample_path(run: Path, step: int) -> Path:
    return run / "samples" / f"step_{step:07d}.png"


def check_run_folder(run: str | Path, *, resume: bool) -> Path:
    """Refuse to start over an existing run without ``resume``, or to resume nothing.

    A folder that a failed start left (config, an empty log, lock files; no step done) does
    not count as a run: it may be started again. The rule is dof-io's, shared with dof-seg.

    Raises:
        RunFolderError: with what to do instead.
    """
    return dof_io.runs.check_run_folder(run, resume=resume, error=RunFolderError)


def read_log(run: str | Path) -> list[dict[str, Any]]:
    """Every complete line of ``RUN/log.jsonl`` (a line cut short by a kill is skipped)."""
    return dof_io.runs.read_jsonl(log_path(Path(run)))


def truncate_log(run: Path, step: int) -> None:
    """Keep the log lines up to ``step`` (those a resumed run would otherwise log twice)."""
    dof_io.runs.trim_jsonl(log_path(run), step)


class LossLog:
    """Appends one JSON line per step; values stay on the device until :meth:`flush`.

    Buffering avoids a host sync per step on a GPU; the trainer flushes before every
    checkpoint, so a resumed run never misses a line it does not recompute.
    """

    def __init__(self, run: Path, *, flush_every: int = 20) -> None:
        self.path = log_path(run)
        self.flush_every = flush_every
        self._rows: list[tuple[dict[str, Any], list[str], Tensor]] = []

    def append(self, meta: dict[str, Any], losses: Mapping[str, Tensor]) -> None:
        names = [name for name in LOSS_NAMES if name in losses]
        values = torch.stack([losses[name].detach().float() for name in names])
        self._rows.append((meta, names, values))
        if len(self._rows) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if not self._rows:
            return
        values = torch.stack([row[2] for row in self._rows]).cpu().tolist()
        dof_io.runs.append_jsonl(
            self.path,
            (
                {**meta, "losses": dict(zip(names, row, strict=True))}
                for (meta, names, _), row in zip(self._rows, values, strict=True)
            ),
        )
        self._rows.clear()


def _to_uint8(image: Tensor) -> Tensor:
    """(3, H, W) in [-1, 1] -> (H, W, 3) uint8."""
    return (
        ((image.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0)
    )


def write_sample_grid(path: Path, rows: list[list[Tensor | None]]) -> Path:
    """Write a grid of (3, H, W) images in [-1, 1] (``None`` = grey cell) as a PNG, atomically."""
    cells = []
    for row in rows:
        reference = next(cell for cell in row if cell is not None)
        cells.append(
            torch.cat([(c if c is not None else torch.zeros_like(reference)) for c in row], dim=-1)
        )
    grid = _to_uint8(torch.cat(cells, dim=-2)).cpu().numpy()
    return dof_io.write_rgb(path, grid)
