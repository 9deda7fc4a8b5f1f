// How the CPU loops use threads. A loop runs on the calling thread below its work threshold
// and on every OpenMP thread above it (the thresholds, and why: cpu/random.h, cpu/rbm.h,
// cpu/gmm.h, cpu/diffusion.h). What a thread needs for itself is allocated before the
// parallel region, one buffer per thread (ThreadBuffers), never inside it: a failed
// allocation before the region throws std::bad_alloc, which pybind11 turns into a Python
// MemoryError, where inside the region it would terminate the process.
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
