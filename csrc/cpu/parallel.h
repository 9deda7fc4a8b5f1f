// How the CPU loops use threads. A loop runs on the calling thread below its work threshold
// and on every OpenMP thread above it (the thresholds, and why: cpu/random.h, cpu/rbm.h,
// cpu/gmm.h, cpu/diffusion.h). What a thread needs for itself is allocated before the
// parallel region, one buffer per thread (ThreadBuffers), never inside it: a failed
// allocation before the region throws std::bad_alloc, which pybind11 turns into a Python
// MemoryError, where inside the region it would terminate the process.
//
// The policy, and what it rests on. Thread counts are the runtimes' defaults, every core
// (fastgen/_backend.py sets none).
// - GaussianMixture.fit runs with BLAS on one thread (fastgen/gmm/_estimator.py): its passes
//   take every thread, and between them scikit-learn's M-step makes only small BLAS calls,
//   after which OpenBLAS's spinning threads took the cores from the next pass (measured: a
//   full-covariance EM iteration 112 ms with 2 OpenBLAS threads, 74 ms with one).
// - A loop that runs long without BLAS calls in between takes every thread: AIS walks each
//   chain through all betas in one call (cpu/rbm.h, ais_chains), chains shared among threads,
//   so both cores work the whole time.
// - The epilogues of a training step sit between NumPy's GEMMs and stay serial below the
//   thresholds: there the GEMMs already run on OpenBLAS's own threads, and an OpenMP team that
//   spins after its region takes the cores those threads wait for (see cpu/random.h).
// What was measured (2026-11-29, this 2-core machine shared with other sessions, load average
// 17-20): a fastgen CD-1 epoch (10k x 784, 500 hidden, batch 100) took 0.9 s wall (0.25 s CPU)
// with OPENBLAS_NUM_THREADS=1, and 8.0 s wall (2.4 s CPU) with 2 OpenBLAS threads, whatever
// OMP_NUM_THREADS (1 or 2) and OMP_WAIT_POLICY (passive or active): on a busy machine the cost
// is OpenBLAS's threads waiting for each other on its small GEMMs, not fastgen's OpenMP team
// (serial at that size). Whether two OpenBLAS threads pay off on a quiet machine was not
// measurable here; the thresholds are unchanged.
#pragma once
#include <stdint.h>

#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fastgen {
namespace cpu {

// The number of threads of a parallel region that goes parallel when `parallel` is true.
inline int team_size(bool parallel) {
#ifdef _OPENMP
    return parallel ? omp_get_max_threads() : 1;
#else
    (void)parallel;
    return 1;
#endif
}

inline int thread_index() {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

// One Buffer per thread of a team of `n_threads`, each built from the same arguments;
// mine() is the calling thread's. Run the region with num_threads(n_threads).
template <typename Buffer>
struct ThreadBuffers {
    template <typename... Args>
    explicit ThreadBuffers(int n_threads, const Args&... args) {
        buffers.reserve((size_t)n_threads);
        for (int t = 0; t < n_threads; ++t) buffers.emplace_back(args...);
    }
    Buffer& mine() { return buffers[(size_t)thread_index()]; }
    std::vector<Buffer> buffers;
};

}  // namespace cpu
}  // namespace fastgen
