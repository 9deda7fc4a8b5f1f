#!/usr/bin/env bash
# Runs the benchmarks (RBM epochs, RBM AIS, ...) and writes bench/results/cpu-<date>.json and .md.
# Extra arguments go to pytest (e.g. -k cd1). Set PYTHON to choose the interpreter,
# FASTGEN_MNIST to a directory with t10k-images-idx3-ubyte.gz to add the "mnist" dataset, and
# FASTGEN_BENCH_NAME to name the results cpu-<date>-<name>.* (a second run on one day would
# otherwise overwrite the first).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python}
mkdir -p bench/results
json="bench/results/cpu-$(date +%Y-%m-%d)${FASTGEN_BENCH_NAME:+-$FASTGEN_BENCH_NAME}.json"
md="${json%.json}.md"

cmd=("$PYTHON" -m pytest bench -q --benchmark-only "--benchmark-json=$json" "$@")
FASTGEN_BENCH_COMMAND="$(printf '%q ' "${cmd[@]}")"
export FASTGEN_BENCH_COMMAND="${FASTGEN_BENCH_COMMAND% }"

start=$SECONDS
"${cmd[@]}"
echo "suite took $((SECONDS - start)) s" >&2

"$PYTHON" bench/report.py "$json" > "$md"
echo "wrote $json and $md" >&2
cat "$md"
