"""Edge-aware against plain upsampling of a defocus map, scored where it matters: the band.

    uv run dof paired-bench --source ../shared/data/coco-person -o pb256 --methods lens \
        --masks gt    # the 24 composites at 256 px, radius 8 (docs/results.md, first table)
    uv run python bench/defocus_upsample.py --paired pb256/data --model G.safetensors \
        [--docs docs/results.md --docs-block defocus-upsample]

A model trained at 128 px predicts its map on a 128-px copy of each 256-px item; the map is
brought to 256 px by ``bilinear`` interpolation or by the ``guided`` filter (kornia's, with the
photo as the guide), and the photo is drawn at 256 px with the aperture scaled by 2 (the
benchmark's radius 8 is twice the training set's 4). Both are scored with the benchmark's own
scorer (PSNR overall and in the 6-px band around the true outline); the rest is identical.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import dof_eval
import dof_gan
import dof_seg
from dof_eval import write_block

SCORES = ("psnr", "psnr_band", "ssim_band", "psnr_subject", "psnr_background")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paired", type=Path, required=True, help="a built paired benchmark")
    parser.add_argument("--model", type=Path, required=True, help="a defocus generator")
    parser.add_argument("--docs", type=Path)
    parser.add_argument("--docs-block", default="defocus-upsample")
    args = parser.parse_args()
    torch.set_num_threads(1)
    paired = dof_eval.load_paired(args.paired)
    generator, info = dof_gan.load_generator_with_info(args.model)
    prior = dof_seg.get_segmenter(info.prior) if info.prior else None
    methods = {}
    for mode in ("bilinear", "guided"):
        methods |= dof_gan.as_renderers(generator, mode, overlay=False, prior=prior, upsample=mode)
    rows = dof_eval.run_paired(paired, methods, {"gt": None}, mask_free=set(methods))
    lines = ["| upsampling | PSNR | PSNR band | SSIM band | PSNR subject | PSNR background |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for row in rows:
        cells = [f"{row[s]:.4f}" if s.startswith("ssim") else f"{row[s]:.2f}" for s in SCORES]
        lines.append(f"| {row['method']} | " + " | ".join(cells) + " |")
    body = (f"`{info.source.name}` ({info.label}, trained at {info.generator.work_size} px) on "
            f"the {len(paired.ids)} items of `{args.paired}` at "
            f"{paired.config.size} px, its map predicted at {info.generator.work_size} px:\n\n"
            + "\n".join(lines) + "\n")  # fmt: skip
    print(body)
    if args.docs:
        write_block(args.docs, args.docs_block, body)


if __name__ == "__main__":
    main()
