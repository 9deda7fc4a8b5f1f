// CPU loop structure of AIS for the binary RBM (math and draws: csrc/include/fastgen/ais.h).
// Each chain walks every inverse temperature in one call, its states and products in the
// thread's cache; threads take whole chains, so the result does not depend on them.
#pragma once
#include <stdint.h>

#include <vector>

#include "fastgen/ais.h"
#include "rbm.h"

namespace fastgen {
namespace cpu {

// The model and schedule of one AIS run. Wt is W transposed (row-major), so that both
// products are sums of selected rows; visible_gain = b - base, in double.
template <typename T>
struct AisRun {
    const T* W;
    const T* Wt;
    const T* b;
    const T* c;
    const T* base;
    const double* visible_gain;
    int64_t n_visible, n_hidden;
    const double* betas;
    int64_t n_betas;
    uint64_t seed;
};

// sum of x[0..n) in eight interleaved partial sums, combined pairwise: a fixed order (the
// Numba backend repeats it) that still vectorises.
inline double lane_sum(const double* x, int64_t n) {
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        for (int l = 0; l < 8; ++l) acc[l] += x[j + l];
    }
    for (int l = 0; j < n; ++j, ++l) acc[l] += x[j];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// A block of chains that one thread walks through all betas in step, so that each tile of
// W read into its cache serves every chain of the block (selected_row_sums).
template <typename T>
struct AisBlock {
    AisBlock(int64_t max_chains, int64_t n_visible, int64_t n_hidden)
        : v((size_t)(max_chains * n_visible)), h((size_t)(max_chains * n_hidden)), prob_v((size_t)n_visible),
          prob_h((size_t)n_hidden), sum_v((size_t)(max_chains * n_hidden)), sum_h((size_t)(max_chains * n_visible)),
          increment((size_t)n_hidden), row_v(n_visible), row_h(n_hidden) {}
    std::vector<T> v, h;            // the chains' states, one row per chain
    std::vector<T> prob_v, prob_h;  // one row's probabilities (not kept)
    std::vector<T> sum_v, sum_h;    // v W and h W^T, one row per chain
    std::vector<double> increment;  // per hidden unit, one chain and step
    std::vector<int64_t> offsets;
    std::vector<int32_t> ones;
    RowScratch<T> row_v, row_h;
};

// The log importance weights of chains [first, first + n) (ais.h gives the algorithm).
template <typename T>
void ais_block(const AisRun<T>& run, int64_t first, int64_t n, AisBlock<T>& s, double* log_w) {
    const int64_t nv = run.n_visible, nh = run.n_hidden;
    const T *b = run.b, *c = run.c, *base = run.base;
    for (int64_t r = 0; r < n; ++r) {
        bernoulli_row_of<T>((uint64_t)((first + r) * nv), nv, [=](uint64_t i) { return base[i]; }, s.prob_v.data(),
                            s.v.data() + r * nv, run.seed, 0, STREAM_INIT, s.row_v);
        log_w[r] = 0.0;
    }
    for (int64_t k = 1; k < run.n_betas; ++k) {
        const double beta = run.betas[k], beta_prev = run.betas[k - 1];
        const bool last = k == run.n_betas - 1;
        const T tbeta = (T)beta;
        active_units<T>(s.v.data(), n, nv, s.offsets, s.ones);
        selected_row_sums<T>(s.offsets, s.ones, 0, n, run.W, nh, s.sum_v.data());
        for (int64_t r = 0; r < n; ++r) {
            const T* __restrict sum = s.sum_v.data() + r * nh;
            double* __restrict increment = s.increment.data();
            double visible_term = 0.0;
            for (int64_t q = s.offsets[r]; q < s.offsets[r + 1]; ++q) visible_term += run.visible_gain[s.ones[q]];
            for (int64_t j = 0; j < nh; ++j) {
                increment[j] = ais_hidden_increment((double)(sum[j] + c[j]), beta, beta_prev);
            }
            log_w[r] += (beta - beta_prev) * visible_term + lane_sum(increment, nh);
            if (!last) {
                bernoulli_row_of<T>((uint64_t)((first + r) * nh), nh, [=](uint64_t j) { return tbeta * (sum[j] + c[j]); },
                                    s.prob_h.data(), s.h.data() + r * nh, run.seed, (uint32_t)k, STREAM_HIDDEN, s.row_h);
            }
        }
        if (last) {
            break;
        }
        active_units<T>(s.h.data(), n, nh, s.offsets, s.ones);
        selected_row_sums<T>(s.offsets, s.ones, 0, n, run.Wt, nv, s.sum_h.data());
        for (int64_t r = 0; r < n; ++r) {
            const T* __restrict sum = s.sum_h.data() + r * nv;
            bernoulli_row_of<T>((uint64_t)((first + r) * nv), nv,
                                [=](uint64_t i) { return ais_visible_logit<T>(sum[i], b[i], base[i], tbeta); },
                                s.prob_v.data(), s.v.data() + r * nv, run.seed, (uint32_t)k, STREAM_VISIBLE, s.row_v);
        }
    }
}

// The log weights of chains [0, n_chains): blocks of chains, one thread per block.
template <typename T>
void ais_chains(const AisRun<T>& run, int64_t n_chains, double* log_w) {
    int64_t n_threads = 1;
#ifdef _OPENMP
    n_threads = omp_get_max_threads();
#endif
    constexpr int64_t kMaxBlock = 64;  // chains per block: their states stay small next to a tile of W
    const int64_t block = std::max<int64_t>(1, std::min(kMaxBlock, (n_chains + n_threads - 1) / n_threads));
    const int64_t n_blocks = (n_chains + block - 1) / block;
#pragma omp parallel
    {
        AisBlock<T> scratch(block, run.n_visible, run.n_hidden);
#pragma omp for schedule(dynamic, 1)
        for (int64_t q = 0; q < n_blocks; ++q) {
            const int64_t first = q * block;
            ais_block<T>(run, first, std::min(block, n_chains - first), scratch, log_w + first);
        }
    }
}

}  // namespace cpu
}  // namespace fastgen
