#!/usr/bin/env bash
# One prepared GPU run (issue 18): install fastgen from this tree, run the `gpu` tests and the
# GPU benchmarks, and write logs, junit XML, benchmark JSON and a Markdown report under $OUT.
#
# Made for a fresh, offline H200 machine lent for a few minutes (the device tool runs
# `bash bench/gpu_run.sh` in the repository root of a copy of the tree; $OUT comes back), so:
# - every stage has its own `timeout`, clamped to what is left of an overall budget
#   (FASTGEN_GPU_RUN_BUDGET, default 470 s: the whole script ends within 8 minutes);
# - a failing stage is logged and the next one still runs; the exit status is non-zero
#   if any stage failed (or timed out), 0 otherwise;
# - nothing is downloaded: diffusers (missing there) is installed from bench/wheels/ when that
#   folder exists (fill it with bench/fetch_wheels.sh where PyPI is reachable; carry it along);
# - without a usable GPU (no CuPy device) every GPU stage prints "no GPU: skipped <stage>" and
#   the script exits 0, so it can be dry-run anywhere: OUT=$(mktemp -d) bash bench/gpu_run.sh
# - at most 8 files come back from $OUT, so it writes exactly these: summary.md, run.log,
#   gpu-tests.xml, gpu-bench.json, gpu-bench.md, gpu-bench-large.json, gpu-bench-large.md.
#
# Environment: OUT (default bench/results/gpu-<date>), PYTHON (default python3: the one that
# holds PyTorch on the device machine), INSTALL=auto|1|0 (auto: install only where a GPU is
# found, so a dry run never rewrites the local environment's fastgen install),
# FASTGEN_GPU_RUN_BUDGET (seconds), FASTGEN_GPU_RUN_FORCE=1 (run the GPU stages even without a
# GPU: to test this script; their GPU cases then skip). Extra arguments go to both benchmark pytest runs.

# SC2016: the `bash -c '... "$1" ...' _ args` calls below expand their arguments in the child, on purpose.
# shellcheck disable=SC2016
set -uo pipefail # no -e: a failing stage must not stop the run

cd "$(dirname "$0")/.." || exit 2
PYTHON=${PYTHON:-python3}
INSTALL=${INSTALL:-auto}
BUDGET=${FASTGEN_GPU_RUN_BUDGET:-470}
OUT=${OUT:-bench/results/gpu-$(date +%Y-%m-%d-%H%M)}
mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd) # absolute: pytest's --junitxml and --benchmark-json get it as is
RUN_LOG=$OUT/run.log
SUMMARY=$OUT/summary.md
: >"$RUN_LOG"
export PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_NO_INPUT=1
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} # the C++ build, if not on ninja

# The benchmark selection: the GPU implementations and their GPU peers (ids holding "cuda":
# fastgen-cuda, torch-cuda, diffusers-cuda). The "large" run repeats the files that have a size
# variable at a GPU-sized problem (the defaults are sized for the CPU).
BENCH_K=${FASTGEN_GPU_BENCH_K:-cuda}
LARGE_FILES=(bench/test_diffusion_step.py bench/test_gmm_em.py)
# 512x4x128x128 float32 is 134 MB per array, 1e6 x 16 float64 128 MB: each well past the 60 MB L2.
LARGE_ENV=("FASTGEN_BENCH_STEP_SHAPE=512,4,128,128" "FASTGEN_BENCH_GMM_N=1000000")

FAILED=()  # names of the stages that failed or timed out
STATUS=()  # one Markdown table row per stage

say() { echo "[gpu_run $(date +%H:%M:%S) +${SECONDS}s] $*" | tee -a "$RUN_LOG"; }
row() { STATUS+=("| $1 | $2 | $3 |"); }

# stage NAME LIMIT_S CMD...: runs CMD under `timeout`, its output into run.log; prints the
# verdict and the last lines of the output (all of it would crowd the device tool's tail).
stage() {
    local name=$1 limit=$2
    shift 2
    local left=$((BUDGET - SECONDS - 12)) # 12 s: timeout's -k grace plus the summary
    ((limit > left)) && limit=$left
    if ((limit < 5)); then
        say "skipped $name: too little of the ${BUDGET} s budget is left (${left} s)"
        row "$name" "skipped (no time left)" 0
        FAILED+=("$name")
        return 1
    fi
    local log start rc
    log=$(mktemp)
    start=$SECONDS
    say "start $name (timeout ${limit} s): $*"
    timeout -k 5 "$limit" "$@" >"$log" 2>&1
    rc=$?
    {
        echo "----- output of $name -----"
        cat "$log"
        echo "----- end of $name (rc $rc) -----"
    } >>"$RUN_LOG"
    local took=$((SECONDS - start)) verdict
    case $rc in
    0) verdict="ok" ;;
    124 | 137) verdict="TIMED OUT after ${limit} s" ;;
    *) verdict="FAILED (exit $rc)" ;;
    esac
    say "$name: $verdict in ${took} s; last lines:"
    tail -n "${TAIL_LINES:-6}" "$log" | sed 's/^/    /'
    rm -f "$log"
    row "$name" "$verdict" "$took"
    if ((rc != 0)); then
        FAILED+=("$name")
        return 1
    fi
}

skip() { # skip NAME WHY
    say "$2: skipped $1"
    row "$1" "skipped ($2)" 0
}

# ---- 1. what machine, what software (always) ----------------------------------------------------
# The copy of the tree may come without .git: then the commit reads "?".
if tree=$(git rev-parse --short HEAD 2>/dev/null); then
    git diff --quiet HEAD 2>/dev/null || tree+=" (with uncommitted changes)"
else
    tree="? (no git)"
fi
say "fastgen GPU run: tree $tree, OUT=$OUT, PYTHON=$PYTHON, budget ${BUDGET} s"
# nvidia-smi is information only (CuPy decides below whether there is a GPU): not a stage.
if command -v nvidia-smi >/dev/null; then
    timeout 30 nvidia-smi -L 2>&1 | tee -a "$RUN_LOG"
    timeout 30 nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem,temperature.gpu,utilization.gpu \
        --format=csv 2>&1 | tee -a "$RUN_LOG"
else
    say "nvidia-smi not found"
fi
# Versions and the CuPy device: each import guarded, so that a missing module reads as such.
TAIL_LINES=20 stage versions 90 "$PYTHON" - <<'EOF'
import importlib, platform, sys
print("python", platform.python_version(), sys.executable)
for name in ("numpy", "scipy", "numba", "sklearn", "torch", "cupy", "diffusers", "pytest", "pytest_benchmark"):
    try:
        module = importlib.import_module(name)
        print(name, getattr(module, "__version__", "?"))
    except Exception as exc:
        print(name, "not importable:", type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
try:
    import torch
    print("torch cuda", torch.version.cuda, "available", torch.cuda.is_available(),
          torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
except Exception as exc:
    print("torch cuda: -", type(exc).__name__)
try:
    import cupy
    props = cupy.cuda.runtime.getDeviceProperties(0)
    print("cupy device 0:", props["name"].decode(), "cc", f"{props['major']}.{props['minor']}",
          f"{props['totalGlobalMem'] / 2**30:.0f} GiB", "runtime", cupy.cuda.runtime.runtimeGetVersion(),
          "driver", cupy.cuda.runtime.driverGetVersion())
except Exception as exc:
    print("cupy device: none:", type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
EOF

# ---- 2. is there a GPU fastgen can use? -----------------------------------------------------------
# fastgen's `cuda` backend is CuPy: a GPU counts when CuPy sees a device.
if [[ ${FASTGEN_GPU_RUN_FORCE:-0} == 1 ]]; then
    # For testing this script on a machine without a GPU: the GPU stages run (their GPU cases skip).
    HAVE_GPU=1
    say "FASTGEN_GPU_RUN_FORCE=1: running the GPU stages without checking for a GPU"
elif timeout 60 "$PYTHON" -c "import cupy, sys; sys.exit(0 if cupy.cuda.runtime.getDeviceCount() > 0 else 1)" >>"$RUN_LOG" 2>&1; then
    HAVE_GPU=1
    say "GPU found (CuPy sees a device)"
else
    HAVE_GPU=0
    say "no GPU found (CuPy is missing or sees no device): the GPU stages are skipped"
fi
want_install() { [[ $INSTALL == 1 || ($INSTALL == auto && $HAVE_GPU == 1) ]]; }

# ---- 3. install fastgen from this tree ---------------------------------------------------------------
# --no-build-isolation --no-deps: the machine is offline and already holds the build tools
# (scikit-build-core, pybind11, CMake, ninja) and fastgen's dependencies. Editable, so the
# CUDA sources are read from this tree's csrc/.
if want_install; then
    stage install-fastgen 120 "$PYTHON" -m pip install --no-build-isolation --no-deps -e .
    # diffusers is not on the device machine: install it from carried wheels when present.
    if [[ -d bench/wheels ]] && compgen -G "bench/wheels/diffusers-*.whl" >/dev/null; then
        # With its requirements resolved against what is installed; should that fail (a version
        # there too old), the carried wheels alone, without the resolver.
        stage install-diffusers 60 "$PYTHON" -m pip install --no-index --find-links bench/wheels diffusers ||
            stage install-diffusers-no-deps 60 bash -c '"$1" -m pip install --no-index --no-deps bench/wheels/*.whl' _ "$PYTHON"
    else
        say "bench/wheels/ holds no diffusers wheel (run bench/fetch_wheels.sh and carry bench/wheels): continuing without diffusers"
        row install-diffusers "skipped (no bench/wheels)" 0
    fi
else
    skip install-fastgen "$([[ $INSTALL == 0 ]] && echo "INSTALL=0" || echo "no GPU")"
    skip install-diffusers "$([[ $INSTALL == 0 ]] && echo "INSTALL=0" || echo "no GPU")"
fi

# ---- 4. the GPU tests and benchmarks -----------------------------------------------------------
if ((HAVE_GPU)); then
    # A per-test limit (pytest-timeout, on the device machine) fails one stuck case instead of the
    # whole stage: pytest-benchmark writes its JSON only when the session ends, so a stage killed
    # by `timeout` would bring back no numbers at all.
    if "$PYTHON" -c "import pytest_timeout" 2>/dev/null; then
        TEST_TIMEOUT=(--timeout=60)
        BENCH_TIMEOUT=(--timeout=40)
    else
        TEST_TIMEOUT=()
        BENCH_TIMEOUT=()
        say "pytest-timeout not importable: no per-test limits (a stuck case costs its whole stage)"
    fi

    # The first compile of each CUDA module (NVRTC) happens in here; a backend list without
    # "cuda" would make every later stage skip its GPU cases, so it is checked on its own.
    stage fastgen-backends 60 "$PYTHON" -c "import fastgen, sys; b = fastgen.available_backends(); print('fastgen', fastgen.__version__, fastgen.__file__, 'backends', b); import importlib.util as u; print('diffusers', 'importable' if u.find_spec('diffusers') else 'NOT importable: the diffusers cases skip'); sys.exit(0 if 'cuda' in b else 1)"

    stage gpu-tests 170 "$PYTHON" -m pytest -m gpu tests -q -p no:cacheprovider -rfEs "${TEST_TIMEOUT[@]}" --junitxml="$OUT/gpu-tests.xml"

    # Benchmarks at the default sizes (comparable with the CPU results in bench/results).
    bench_cmd=("$PYTHON" -m pytest bench -q -p no:cacheprovider --benchmark-only "--benchmark-json=$OUT/gpu-bench.json" -k "$BENCH_K" "${BENCH_TIMEOUT[@]}" "$@")
    FASTGEN_BENCH_COMMAND="$(printf '%q ' "${bench_cmd[@]}")"
    FASTGEN_BENCH_COMMAND=${FASTGEN_BENCH_COMMAND% } stage gpu-bench 130 "${bench_cmd[@]}"
    if [[ -s $OUT/gpu-bench.json ]]; then
        stage gpu-bench-report 30 bash -c '"$1" bench/report.py "$2" >"$3"' _ "$PYTHON" "$OUT/gpu-bench.json" "$OUT/gpu-bench.md"
    fi

    # The same GPU cases at GPU-sized problems, where the file has a size variable.
    large_cmd=("$PYTHON" -m pytest "${LARGE_FILES[@]}" -q -p no:cacheprovider --benchmark-only "--benchmark-json=$OUT/gpu-bench-large.json" -k "$BENCH_K" "${BENCH_TIMEOUT[@]}" "$@")
    FASTGEN_BENCH_COMMAND="${LARGE_ENV[*]} $(printf '%q ' "${large_cmd[@]}")"
    FASTGEN_BENCH_COMMAND=${FASTGEN_BENCH_COMMAND% } stage gpu-bench-large 90 env "${LARGE_ENV[@]}" "${large_cmd[@]}"
    if [[ -s $OUT/gpu-bench-large.json ]]; then
        stage gpu-bench-large-report 30 bash -c '"$1" bench/report.py "$2" >"$3"' _ "$PYTHON" "$OUT/gpu-bench-large.json" "$OUT/gpu-bench-large.md"
    fi
else
    for name in fastgen-backends gpu-tests gpu-bench gpu-bench-large; do
        skip "$name" "no GPU"
    done
fi

# ---- 5. summary (last, so that it ends the device tool's output tail) -----------------------------
{
    echo "# fastgen GPU run (bench/gpu_run.sh)"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); took ${SECONDS} s of a ${BUDGET} s budget"
    echo "- tree: $tree"
    echo "- GPU: $( ((HAVE_GPU)) && (nvidia-smi -L 2>/dev/null | head -n 1 || echo 'CuPy device') || echo 'none found')"
    echo
    echo "| stage | result | seconds |"
    echo "| --- | --- | --- |"
    printf '%s\n' "${STATUS[@]}"
    echo
    echo "Files: run.log (every stage's output), gpu-tests.xml, gpu-bench.json/.md, gpu-bench-large.json/.md (those that ran)."
} >"$SUMMARY"
for report in "$OUT/gpu-bench.md" "$OUT/gpu-bench-large.md"; do
    [[ -s $report ]] && { echo; cat "$report"; }
done
echo
cat "$SUMMARY"
if ((${#FAILED[@]})); then
    say "done: ${#FAILED[@]} stage(s) failed: ${FAILED[*]}"
    exit 1
fi
say "done: no stage failed$( ((HAVE_GPU)) || echo ' (no GPU: the GPU stages were skipped)')"
exit 0
