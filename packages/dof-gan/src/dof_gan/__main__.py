"""``python -m dof_gan RUN [--config FILE] [--resume]``: train with only dof-gan installed.

For machines without the dof command line (a cluster node, say). ``--config`` takes a resolved
config as ``dof-train --dry-run`` prints it or a run's ``config.json``; ``--resume`` continues
``RUN`` with its own config (with ``--config`` too: that config, which may change only runtime
options). The full option set lives in ``dof-train``.

Several processes (DDP; gloo on CPU, NCCL on CUDA)::

    torchrun --standalone --nproc-per-node 2 -m dof_gan RUN --config CONFIG.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import dof_io
from dof_gan.distributed import world_from_env
from dof_gan.errors import DofGanError
from dof_gan.options import config_from_dict, resume_config
from dof_gan.run import load_run_config, train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dof_gan", description=__doc__)
    parser.add_argument("run", type=Path, help="run folder to create (or continue)")
    parser.add_argument(
        "--config", type=Path, help="resolved config JSON (a new run; with --resume: the "
        "resumed run's config, runtime options changed)",
    )  # fmt: skip
    parser.add_argument("--resume", action="store_true", help="continue RUN from last.pt")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if not args.resume and args.config is None:
        parser.error("give --config FILE for a new run, or --resume for an existing one")
    try:
        if args.resume and args.config is None:
            config = resume_config(load_run_config(args.run), {})
        else:
            config = config_from_dict(json.loads(args.config.read_text(encoding="utf-8")))
        result = train(config, args.run, resume=args.resume, progress=not args.no_progress)
    except (DofGanError, dof_io.DofIOError, OSError, json.JSONDecodeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not world_from_env().is_main:
        return 0
    print(result.describe(config.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
