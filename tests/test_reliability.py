"""Reliability across families: memory exhaustion becomes a MemoryError, never an abort."""
import subprocess
import sys
import textwrap

import pytest

import fastgen


@pytest.mark.skipif("cpu" not in fastgen.available_backends(), reason="needs the cpu backend")
def test_memory_exhaustion_is_a_memory_error_not_an_abort(tmp_path):
    """AIS on a 4,000,000-unit visible layer needs about 1 GiB of scratch per thread; under an
    address-space limit the allocation fails before the OpenMP region (where it would have
    terminated the process: 'terminate called after throwing std::bad_alloc')."""
    script = tmp_path / "exhaust.py"
    script.write_text(textwrap.dedent("""
        import resource
        import numpy as np
        from fastgen import rbm
        W = np.zeros((4_000_000, 2), np.float32)
        b, c = np.zeros(4_000_000, np.float32), np.zeros(2, np.float32)
        in_use = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (in_use + 600 * 2**20, resource.RLIM_INFINITY))
        try:
            rbm.log_partition_ais(W, b, c, n_chains=128, betas=np.linspace(0, 1, 3), backend="cpu")
        except MemoryError:
            print("MemoryError")
    """))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "MemoryError"


def test_python_threads_run_kernels_at_once_and_get_the_serial_results(cpu_backend):
    """The kernels release the GIL (C++: gil_scoped_release; Numba: nogil) and keep no shared
    state: four threads sampling at once get what one thread gets."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from fastgen import rbm

    rng = np.random.default_rng(0)
    W = rng.normal(size=(200, 100)).astype(np.float32)
    b, c = np.zeros(200, np.float32), np.zeros(100, np.float32)
    v = (rng.random((64, 200)) < 0.1).astype(np.float32)

    def run(seed):
        return rbm.gibbs(v, W, b, c, 5, seed=seed, backend=cpu_backend)[0]

    serial = [run(seed) for seed in range(8)]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(run, range(8)))
    for a, b_ in zip(serial, threaded):
        np.testing.assert_array_equal(a, b_)
