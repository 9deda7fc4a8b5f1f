#!/usr/bin/env bash
# Fills bench/wheels/ with the wheels that bench/gpu_run.sh installs on the offline GPU machine
# (issue 18): diffusers and what it needs that the machine lacks. Run it where PyPI is
# reachable, from anywhere; bench/wheels/ is ignored by git, so the device run must carry it:
# carry=["bench/wheels"].
#
# The device machine runs Python 3.12 on x86-64 and already holds huggingface_hub 1.33,
# safetensors 0.8, filelock, numpy, regex, requests, Pillow and zipp (device README, KINDS.md,
# 2026-11), which satisfy diffusers 0.42; importlib_metadata is the one requirement it lacks
# (and, for importlib_metadata >= 10, lazy-importer). zipp comes along in case its copy is
# older than importlib_metadata wants. All of these are pure-Python wheels (under 10 MiB in all).
# DIFFUSERS_VERSION defaults to the diffusers installed here (the version the tests ran with).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
version_here() { "$PYTHON" -c "from importlib.metadata import version; print(version('$1'))" 2>/dev/null; }
DIFFUSERS_VERSION=${DIFFUSERS_VERSION:-$(version_here diffusers || echo 0.42.1)}
specs=("diffusers==$DIFFUSERS_VERSION")
for dist in importlib_metadata lazy-importer zipp; do
    v=$(version_here "$dist") && specs+=("$dist==$v") || specs+=("$dist")
done

mkdir -p bench/wheels
# --no-deps: only these (the rest is on the machine); the platform options make pip pick wheels
# for the machine's Python 3.12 whatever Python runs this.
"$PYTHON" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 --platform any \
    -d bench/wheels "${specs[@]}"
ls -l bench/wheels
du -sh bench/wheels
echo "now run on the device: bash bench/gpu_run.sh, with carry [\"bench/wheels\"]"
