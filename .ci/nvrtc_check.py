#!/usr/bin/env python3
"""Compile every csrc/cuda/*.cu with NVRTC, as CuPy does at run time, without a GPU.

The kernels are only built by NVRTC on users' machines, so a header change that breaks
them (or makes them warn) would otherwise surface only there. Needs only cuda-bindings
and the nvidia-cuda-nvrtc wheel (no CUDA toolkit).
Usage: python .ci/nvrtc_check.py [--arch sm_80,sm_90] [FILE.cu ...]
Exit status: 0 all clean, 1 any compile error or warning, 2 NVRTC unavailable.
"""
import argparse
import ctypes
import glob
import os
import re
import site
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = os.path.join(REPO, "csrc", "include")
DEFAULT_ARCHS = ["sm_80", "sm_90"]

# Log lines matching any of these regexes are not counted as warnings. Empty on purpose:
# the kernels should compile silently. Add an entry only for a warning we cannot fix in
# our code (e.g. one from an NVRTC built-in header in a given release), with a comment
# naming the NVRTC version and why it is harmless.
WARNING_ALLOW = []


def die(msg):
    print(f"nvrtc_check: {msg}", file=sys.stderr)
    sys.exit(2)


def preload_nvrtc():
    """dlopen libnvrtc before cuda.bindings needs it; return its path, or None.

    cuda.bindings finds it through cuda-pathfinder (site-packages wheels). Should that
    fail, load the wheel's library ourselves by absolute path: the bindings' later
    dlopen of the same soname then reuses the copy already loaded.
    """
    try:
        from cuda.pathfinder import load_nvidia_dynamic_lib
        return load_nvidia_dynamic_lib("nvrtc").abs_path
    except Exception:
        pass
    dirs = dict.fromkeys(site.getsitepackages() + [site.getusersitepackages()] + sys.path)
    pats = ("nvidia/cu*/lib/libnvrtc.so.*", "nvidia/cuda_nvrtc/lib/libnvrtc.so.*")  # CUDA 13, 12
    for lib in (lib for d in dirs for pat in pats for lib in glob.glob(os.path.join(d, pat))):
        try:
            ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
            return lib
        except OSError:
            pass
    return None


def load_nvrtc():
    try:
        from cuda.bindings import nvrtc
    except ImportError as e:
        die(f"cannot import cuda.bindings ({e}); pip install cuda-bindings nvidia-cuda-nvrtc")
    lib = preload_nvrtc()
    try:
        err, major, minor = nvrtc.nvrtcVersion()  # first call: the bindings dlopen NVRTC
    except Exception as e:
        die(f"cannot load the NVRTC library ({str(e).strip()}); pip install nvidia-cuda-nvrtc")
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        die(f"nvrtcVersion failed: {err}")
    print(f"NVRTC {major}.{minor} ({lib or 'found by cuda.bindings'})")
    return nvrtc


def compile_one(nvrtc, path, arch):
    """Return (ok, log, ptx_size). Failure = compile error, no PTX, or any warning."""
    def check(result):
        err, *rest = result
        if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            raise RuntimeError(nvrtc.nvrtcGetErrorString(err)[1].decode())
        return rest[0] if rest else None

    try:
        with open(path, "rb") as f:
            src = f.read()
    except OSError as e:
        return False, str(e), 0
    # Same include path as the runtime build; c++17 pins the dialect instead of
    # inheriting whatever default a future NVRTC picks.
    opts = [f"--gpu-architecture={arch}", "-std=c++17", f"-I{INCLUDE}"]
    prog = check(nvrtc.nvrtcCreateProgram(src, os.path.basename(path).encode(), 0, [], []))
    try:
        compile_err = None
        try:
            check(nvrtc.nvrtcCompileProgram(prog, len(opts), [o.encode() for o in opts]))
        except RuntimeError as e:
            compile_err = str(e)
        log = b" " * check(nvrtc.nvrtcGetProgramLogSize(prog))
        check(nvrtc.nvrtcGetProgramLog(prog, log))
        log = log.rstrip(b"\0 ").decode(errors="replace")
        if compile_err:
            return False, f"{compile_err}\n{log}", 0
        # Fetch the PTX too, to be sure compilation went all the way to code generation.
        ptx = b" " * check(nvrtc.nvrtcGetPTXSize(prog))
        check(nvrtc.nvrtcGetPTX(prog, ptx))
        warnings = [ln for ln in log.splitlines() if "warning" in ln.lower()
                    and not any(re.search(rx, ln) for rx in WARNING_ALLOW)]
        return not warnings and len(ptx) > 1, log, len(ptx)
    finally:
        nvrtc.nvrtcDestroyProgram(prog)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # Comma-separated, so that a list of archs cannot swallow the positional files.
    ap.add_argument("--arch", type=lambda s: [a for a in s.split(",") if a],
                    default=DEFAULT_ARCHS, help="comma-separated, default sm_80,sm_90")
    ap.add_argument("files", nargs="*", help="default: csrc/cuda/*.cu")
    args = ap.parse_args()
    files = args.files or sorted(glob.glob(os.path.join(REPO, "csrc", "cuda", "*.cu")))
    if not files:
        die("no .cu files to check")
    nvrtc = load_nvrtc()
    failed = 0
    for path in map(os.path.abspath, files):
        for arch in args.arch:
            ok, log, ptx_size = compile_one(nvrtc, path, arch)
            name = os.path.relpath(path, REPO) if path.startswith(REPO + os.sep) else path
            print(f"{'OK  ' if ok else 'FAIL'} {name} [{arch}] PTX {ptx_size} bytes")
            if log.strip() and (not ok or "warning" in log.lower()):
                print("  " + log.strip().replace("\n", "\n  "))
            failed += not ok
    print(f"{failed} failure(s)" if failed else "all clean")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
