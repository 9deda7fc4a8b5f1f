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

// Inlined into the callers whatever the inliner's size limits: the row loops are compiled
// once per instruction set (random.cpp), and these must be compiled with them.
#if defined(__GNUC__)
#define FG_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define FG_ALWAYS_INLINE inline
#endif

// Lanes of Philox blocks computed together: the rounds run on kLanes independent counters
// at once, so that they vectorise (a single block is bound by its multiply latency).
// 16 measured 1.2x slower on the normals, and the old 8 7x slower on the uniforms.
constexpr int kLanes = 32;

// The Philox words of groups g0 .. g0 + kLanes - 1 of draw (seed, call, stream), word by
// word: w[k kLanes + l] is word k of group g0 + l. The counters are held in 64-bit lanes
// with the product's halves split by masks: the same integers as philox_round of
// fastgen/random.h, but GCC then vectorises the 32 x 32 -> 64-bit products, where the
// uint32 form of philox_round left them 1.7x slower (measured on AVX-512).
FG_ALWAYS_INLINE void philox_lanes(uint64_t g0, uint64_t seed, uint32_t call, uint32_t stream, uint32_t* __restrict w) {
    constexpr uint64_t low32 = 0xffffffffu;
    uint64_t c0[kLanes], c1[kLanes], c2[kLanes], c3[kLanes];
    for (int l = 0; l < kLanes; ++l) {
        c0[l] = (uint32_t)(g0 + (uint64_t)l);
        c1[l] = (uint32_t)((g0 + (uint64_t)l) >> 32);
        c2[l] = call;
        c3[l] = stream;
    }
#pragma GCC unroll 10  // without it GCC leaves the lane loops half scalar (5x slower)
    for (uint32_t round = 0; round < 10; ++round) {
        const uint64_t k0 = (uint32_t)((uint32_t)seed + round * kPhiloxW0);
        const uint64_t k1 = (uint32_t)((uint32_t)(seed >> 32) + round * kPhiloxW1);
        for (int l = 0; l < kLanes; ++l) {
            const uint64_t p0 = (c0[l] & low32) * (uint64_t)kPhiloxM0;
            const uint64_t p1 = (c2[l] & low32) * (uint64_t)kPhiloxM1;
            c0[l] = (p1 >> 32) ^ c1[l] ^ k0;
            c1[l] = p1 & low32;
            c2[l] = (p0 >> 32) ^ c3[l] ^ k1;
            c3[l] = p0 & low32;
        }
    }
    for (int l = 0; l < kLanes; ++l) {
        w[l] = (uint32_t)c0[l];
        w[kLanes + l] = (uint32_t)c1[l];
        w[2 * kLanes + l] = (uint32_t)c2[l];
        w[3 * kLanes + l] = (uint32_t)c3[l];
    }
}

// The uniforms of the kLanes groups from g0, in element order.
FG_ALWAYS_INLINE void uniform_lanes(uint64_t g0, uint64_t seed, uint32_t call, uint32_t stream, float* __restrict out) {
    uint32_t w[4 * kLanes];
    philox_lanes(g0, seed, call, stream, w);
    for (int l = 0; l < kLanes; ++l) {
        for (int k = 0; k < 4; ++k) out[4 * l + k] = uniform_open01(w[k * kLanes + l]);
    }
}

// The normals of the kLanes groups from g0, in element order (layout in fastgen/random.h):
// Box-Muller over the 2 kLanes pairs at once (words 0, 1 and 2, 3 of each group), so that
// log_positive, sincos_turns and the square root run across SIMD lanes, then interleaved.
FG_ALWAYS_INLINE void normal_lanes(uint64_t g0, uint64_t seed, uint32_t call, uint32_t stream, float* __restrict out) {
    uint32_t w[4 * kLanes];
    philox_lanes(g0, seed, call, stream, w);
    float radius[2 * kLanes], angle[2 * kLanes], z_even[2 * kLanes], z_odd[2 * kLanes];
    for (int l = 0; l < kLanes; ++l) {
        radius[l] = uniform_open01(w[l]);
        angle[l] = uniform_open01(w[kLanes + l]);
        radius[kLanes + l] = uniform_open01(w[2 * kLanes + l]);
        angle[kLanes + l] = uniform_open01(w[3 * kLanes + l]);
    }
    for (int p = 0; p < 2 * kLanes; ++p) box_muller(radius[p], angle[p], z_even[p], z_odd[p]);
    for (int l = 0; l < kLanes; ++l) {
        out[4 * l] = z_even[l];
        out[4 * l + 1] = z_odd[l];
        out[4 * l + 2] = z_even[kLanes + l];
        out[4 * l + 3] = z_odd[kLanes + l];
    }
}

// Writes the values of elements [begin, begin + n) of draw (seed, call, stream) into
// dst[0 .. n), lane block by lane block: Lanes(g0, ..., block) gives the 4 kLanes values of
// groups g0 .. in element order; a block wholly inside the range is written in place.
template <void (*Lanes)(uint64_t, uint64_t, uint32_t, uint32_t, float*)>
FG_ALWAYS_INLINE void over_lane_blocks(uint64_t begin, uint64_t n, uint64_t seed, uint32_t call, uint32_t stream,
                                       float* __restrict dst) {
    const uint64_t end = begin + n;
    float block[4 * kLanes];
    for (uint64_t g0 = begin >> 2; g0 * 4 < end; g0 += kLanes) {
        const uint64_t first = std::max(begin, g0 * 4), last = std::min(end, (g0 + kLanes) * 4);
        const bool whole = first == g0 * 4 && last == (g0 + kLanes) * 4;
        Lanes(g0, seed, call, stream, whole ? dst + (first - begin) : block);
        if (!whole) {
            for (uint64_t i = first; i < last; ++i) dst[i - begin] = block[i - g0 * 4];
        }
    }
}

// Uniforms of elements [begin, begin + n) of draw (seed, call, stream) into `u` (random.cpp).
void row_uniforms(uint64_t begin, uint64_t n, uint64_t seed, uint32_t call, uint32_t stream, float* u);

// Normals of elements [begin, begin + n) of draw (seed, call, stream) into z (layout in
// fastgen/random.h; random.cpp).
void row_normals(uint64_t begin, uint64_t n, uint64_t seed, uint32_t call, uint32_t stream, float* z);

// The same for callers that pass a scratch buffer of 2 (n + 2) floats (the GB-RBM), which
// it no longer needs.
inline void row_normals(uint64_t begin, uint64_t n, uint64_t seed, uint32_t call, uint32_t stream, float* /*u*/,
                        float* z) {
    row_normals(begin, n, seed, call, stream, z);
}

// ---- the loops of fastgen._core.random

inline int64_t n_groups(uint64_t n) { return (int64_t)((n + 3) / 4); }

// The uniforms (0, 1) of elements first..first+n-1 of draw (seed, call, stream), as float32
// (first > 0: a block of a batch split over processes).
inline void uniforms(float* dst, uint64_t n, uint64_t first, uint64_t seed, uint32_t call, uint32_t stream) {
    constexpr int64_t chunk = 4096;  // a multiple of 4: chunks start on Philox blocks
    const int64_t n_chunks = ((int64_t)n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if ((int64_t)n >= kParallelWork)
    for (int64_t k = 0; k < n_chunks; ++k) {
        const uint64_t begin = (uint64_t)(k * chunk);
        row_uniforms(first + begin, std::min<uint64_t>(chunk, n - begin), seed, call, stream, dst + begin);
    }
}

// Elements first..first+n-1 of a random binary array with P(1) = 1/2 (coin_group, stream
// STREAM_INIT).
template <typename T>
inline void random_binary(T* dst, uint64_t n, uint64_t first, uint64_t seed, uint32_t call) {
    const uint64_t g0 = first / 4, end = first + n;
    const int64_t groups = (int64_t)((end + 3) / 4 - g0);
#pragma omp parallel for schedule(static) if ((int64_t)n >= kParallelWork)
    for (int64_t g = 0; g < groups; ++g) {
        coin_group<T>(g0 + (uint64_t)g, first, end, dst, seed, call);
    }
}

// Elements per chunk of `normals`, and the total above which its chunks are shared among
// threads (the values of kStepChunk and kParallelStep of the diffusion step, cpu/diffusion.h).
constexpr int64_t kNormalsChunk = 1024;
constexpr int64_t kParallelNormals = 1 << 16;

// Normals of elements first..first+n-1 of draw (seed, call, stream) as float32 (the initial
// noise of a sampler, and the tests' view of the layout).
inline void normals(float* out, uint64_t n, uint64_t first, uint64_t seed, uint32_t call, uint32_t stream) {
    const int64_t n_chunks = ((int64_t)n + kNormalsChunk - 1) / kNormalsChunk;
#pragma omp parallel for schedule(static) num_threads(team_size((int64_t)n >= kParallelNormals))
    for (int64_t c = 0; c < n_chunks; ++c) {
        const uint64_t begin = (uint64_t)(c * kNormalsChunk);
        row_normals(first + begin, std::min<uint64_t>(kNormalsChunk, n - begin), seed, call, stream, out + begin);
    }
}

}  // namespace cpu
}  // namespace fastgen
