#!/usr/bin/env bash
# Issue #10 on a GPU, as ONE device run (a session gets 15 minutes of device time in all):
# dof-gan's CUDA tests, then bench_gan's CUDA table and the paper-schedule projection.
#
#   here:    ../shared/tools/device-wheels.sh      # fills .whl/ (kornia, smp, ...)
#   device:  run(command="bash bench/device_gan.sh", carry=[".whl"], timeout_s=540)
#
# Writes $OUT/gpu.txt, $OUT/cuda-tests.log, $OUT/gan.json (cases + "projection") and
# $OUT/bench.log; copy gan.json over bench/results/gan.json and the table into
# docs/benchmarks.md. Budget: tests <= 2 min, benchmark <= 6 min (14 cases, one process each).
set -uo pipefail
: "${OUT:?run through the device tool: it sets OUT}"
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
PYTHONPATH=/tmp/site:$(ls -d packages/*/src | paste -sd:)
export PYTHONPATH PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
timeout 120 python3 -m pytest -m cuda packages -q -p no:cacheprovider 2>&1 \
  | tee "$OUT/cuda-tests.log" | tail -3
cases=()
for size in 128 256; do
  for preset in cyclegan combined; do
    for variant in fp32 bf16 bf16-cl; do cases+=("$size-$preset-$variant"); done
  done
done
cases+=(256-cyclegan-bf16-cl-compile 256-combined-bf16-cl-compile)
timeout 360 python3 bench/bench_gan.py --out "$OUT" --timeout 150 --steps 30 --only "${cases[@]}" \
  2>&1 | tee "$OUT/bench.log" | grep -v " step " | tail -20
