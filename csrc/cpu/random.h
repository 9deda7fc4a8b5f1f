// CPU loops of the random draws: the uniforms and normals of a row of elements, walked
// over the Philox blocks of csrc/include/fastgen/random.h so that the rounds vectorise,
// and the loops of fastgen._core.random (uniforms, normals, random_binary). Every CPU
// family draws through row_uniforms and row_normals. No Python here (random.cpp binds).
//
// Threads: a loop goes parallel only when its work is large. Between BLAS calls the OpenMP
// team competes with OpenBLAS's own threads for the cores, which on small problems costs
// more than it saves; single-threaded these loops are vectorised and cheap.
#pragma once
#include <stdint.h>

#include <algorithm>
#include <vector>

#include "fastgen/random.h"
#include "parallel.h"

namespace fastgen {
namespace cpu {

// Elements below which an element-wise loop stays on the calling thread. A training batch
// (100 x 784 x 500) stays below it: there, waking the OpenMP team cost as much as it
// saved, and threads left spinning after a region starved the BLAS calls in between (8x
// slower, measured). Large calls (many chains, big layers) go parallel.
constexpr int64_t kParallelWork = 1 << 22;

// Uniforms of elements [begin, begin + n) of draw (seed, call, stream) into `u`: the
// Philox blocks of kLanes consecutive groups at a time, lane by lane, so that the rounds
// vectorise (a scalar block is bound by its multiply latency).
inline void row_uniforms(uint64_t begin, uint64_t n, uint64_t seed, uint32_t call, uint32_t stream, float* u) {
    constexpr int kLanes = 32;  // 16 and 8 measured 1.3x and 7x slower
    const uint32_t key0 = (uint32_t)seed, key1 = (uint32_t)(seed >> 32);
    const uint64_t end = begin + n;
    for (uint64_t g0 = begin >> 2; g0 * 4 < end; g0 += kLanes) {
        uint32_t c0[kLanes], c1[kLanes], c2[kLanes], c3[kLanes];
        for (int l = 0; l < kLanes; ++l) {
            c0[l] = (uint32_t)(g0 + l);
            c1[l] = (uint32_t)((g0 + l) >> 32);
            c2[l] = call;
            c3[l] = stream;
        }
#pragma GCC unroll 10  // without it GCC leaves the lane loops half scalar (5x slower)
        for (uint32_t round = 0; round < 10; ++round) {
            const uint32_t k0 = key0 + round * kPhiloxW0, k1 = key1 + round * kPhiloxW1;
            for (int l = 0; l < kLanes; ++l) {
                philox_round(c0[l], c1[l], c2[l], c3[l], k0, k1);
            }
        }
        float block[4 * kLanes];  // the uniforms of elements 4 g0 .. 4 (g0 + kLanes) - 1, in order
        for (int l = 0; l < kLanes; ++l) {
            block[4 * l] = uniform_open01(c0[l]);
            block[4 * l + 1] = uniform_open01(c1[l]);
            block[4 * l + 2] = uniform_open01(c2[l]);
            block[4 * l + 3] = uniform_open01(c3[l]);
        }
        const uint64_t first = std::max(begin, g0 * 4), last = std::min(end, (g0 + kLanes) * 4);
        for (uint64_t i = first; i < last; ++i) {
            u[i - begin] = block[i - g0 * 4];
        }
    }
}

// Normals of elements [begin, begin + n) of draw (seed, call, stream) into z (layout in
// fastgen/random.h): the uniforms of the enclosing Box-Muller pairs into `u`, split into radius
// and angle halves, then one vectorised pass over the pairs. `u` holds 2 (n + 2) floats.
inline void row_normals(uint64_t begin, uint64_t n, uint64_t seed, uint32_t call, uint32_t stream, float* u,
                        float* __restrict z) {
    const uint64_t first = begin & ~(uint64_t)1, last = (begin + n + 1) & ~(uint64_t)1;
    const uint64_t n_pairs = (last - first) / 2;
    row_uniforms(first, last - first, seed, call, stream, u);
    float* __restrict radius = u + (last - first);
    float* __restrict angle = radius + n_pairs;
    for (uint64_t p = 0; p < n_pairs; ++p) {
        radius[p] = u[2 * p];
        angle[p] = u[2 * p + 1];
    }
    float* __restrict pairs = u;  // the normals of the pairs, in element order
    for (uint64_t p = 0; p < n_pairs; ++p) {
        float z_even, z_odd;
        box_muller(radius[p], angle[p], z_even, z_odd);
        pairs[2 * p] = z_even;
        pairs[2 * p + 1] = z_odd;
    }
    const uint64_t shift = begin - first;
    for (uint64_t j = 0; j < n; ++j) {
        z[j] = pairs[j + shift];
    }
}

// ---- the loops of fastgen._core.random

inline int64_t n_groups(uint64_t n) { return (int64_t)((n + 3) / 4); }

// The uniforms (0, 1) of elements 0..n-1 of draw (seed, call, stream), as float32.
inline void uniforms(float* dst, uint64_t n, uint64_t seed, uint32_t call, uint32_t stream) {
    constexpr int64_t chunk = 4096;  // a multiple of 4: chunks start on Philox blocks
    const int64_t n_chunks = ((int64_t)n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if ((int64_t)n >= kParallelWork)
    for (int64_t k = 0; k < n_chunks; ++k) {
        const uint64_t begin = (uint64_t)(k * chunk);
        row_uniforms(begin, std::min<uint64_t>(chunk, n - begin), seed, call, stream, dst + begin);
    }
}

// A random binary array with P(1) = 1/2 (coin_group, stream STREAM_INIT).
template <typename T>
inline void random_binary(T* dst, uint64_t n, uint64_t seed, uint32_t call) {
#pragma omp parallel for schedule(static) if ((int64_t)n >= kParallelWork)
    for (int64_t g = 0; g < n_groups(n); ++g) {
        coin_group<T>((uint64_t)g, n, dst, seed, call);
    }
}

// Elements per chunk of `normals`, and the total above which its chunks are shared among
// threads (the values of kStepChunk and kParallelStep of the diffusion step, cpu/diffusion.h).
constexpr int64_t kNormalsChunk = 1024;
constexpr int64_t kParallelNormals = 1 << 20;

// Normals of elements 0..n-1 of draw (seed, call, stream) as float32 (the initial noise
// of a sampler, and the tests' view of the layout).
inline void normals(float* out, uint64_t n, uint64_t seed, uint32_t call, uint32_t stream) {
    const int64_t n_chunks = ((int64_t)n + kNormalsChunk - 1) / kNormalsChunk;
    const int n_threads = team_size((int64_t)n >= kParallelNormals);
    ThreadBuffers<std::vector<float>> buffers(n_threads, (size_t)(2 * (kNormalsChunk + 2)));
#pragma omp parallel num_threads(n_threads)
    {
        std::vector<float>& u = buffers.mine();
#pragma omp for schedule(static)
        for (int64_t c = 0; c < n_chunks; ++c) {
            const uint64_t begin = (uint64_t)(c * kNormalsChunk);
            const uint64_t m = std::min<uint64_t>(kNormalsChunk, n - begin);
            row_normals(begin, m, seed, call, stream, u.data(), out + begin);
        }
    }
}

}  // namespace cpu
}  // namespace fastgen
