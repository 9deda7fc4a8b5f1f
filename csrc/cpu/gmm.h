// CPU loop structure of the Gaussian-mixture kernels: how points and threads walk over
// the per-point math of csrc/include/fastgen/gmm.h, and the fused reduction of the
// M-step's sufficient statistics. No Python here (gmm.cpp binds).
#pragma once
#include <stdint.h>

#include <algorithm>
#include <vector>

#include "fastgen/gmm.h"
#include "parallel.h"

namespace fastgen {
namespace cpu {

// Work (points x components x features) below which the loops stay on one thread.
constexpr int64_t kGmmParallelWork = 1 << 20;
// Points per unit of a thread's work, and per tile of the scatter update: the rank-1
// updates of four points are summed before they touch a (D x D) accumulator, a quarter
// of its loads and stores (the loop is bound by them).
constexpr int64_t kGmmBlock = 512;
constexpr int64_t kGmmTile = 4;

// Where the parameters of the per-point math lie (layout in fastgen/gmm.h).
template <typename T>
struct GmmParams {
    const T* means_t;
    const T* prec_t;
    bool full;
    const double* bias;
    int64_t K, D;
};

// Sufficient statistics of one thread, centred on the current means mean_k, component
// index last like the parameters:
//   nk (K) = sum r_k,  s1 (D, K) = sum r_k (x - mean_k),
//   s2 = sum r_k (x - mean_k)(x - mean_k)^T as (D, D, K), upper triangle j >= i (full),
//        or its diagonal (D, K),
// and the sum over points of log p(x).
struct GmmStats {
    GmmStats(int64_t K, int64_t D, bool full)
        : nk((size_t)K, 0.0), s1((size_t)(D * K), 0.0), s2((size_t)(full ? D * D * K : D * K), 0.0) {}
    std::vector<double> nk, s1, s2;
    double log_likelihood = 0.0;

    void add(const GmmStats& other) {
        for (size_t i = 0; i < nk.size(); ++i) nk[i] += other.nk[i];
        for (size_t i = 0; i < s1.size(); ++i) s1[i] += other.s1[i];
        for (size_t i = 0; i < s2.size(); ++i) s2[i] += other.s2[i];
        log_likelihood += other.log_likelihood;
    }
};

// out[n, k] = log(w_k N(x_n | mean_k, cov_k)) for the N rows of X (N, D).
template <typename T>
void weighted_log_prob_rows(const T* X, int64_t N, const GmmParams<T>& p, double* out) {
    const int n_threads = team_size(N * p.K * p.D >= kGmmParallelWork);
    ThreadBuffers<std::vector<T>> buffers(n_threads, (size_t)weighted_log_prob_work(p.full, p.D, p.K));
#pragma omp parallel num_threads(n_threads)
    {
        std::vector<T>& work = buffers.mine();
#pragma omp for schedule(static)
        for (int64_t n = 0; n < N; ++n) {
            weighted_log_prob<T>(X + n * p.D, p.means_t, p.prec_t, p.full, p.bias, p.K, p.D, 0, p.K, work.data(),
                                 out + n * p.K);
        }
    }
}

// Per-thread buffers of the fused pass.
template <typename T>
struct GmmScratch {
    GmmScratch(int64_t K, int64_t D, bool full)
        : work((size_t)weighted_log_prob_work(full, D, K)),
          resp((size_t)(kGmmTile * K)),
          d((size_t)(kGmmTile * D * K)),
          a((size_t)(kGmmTile * D * K)) {}
    std::vector<T> work;       // of weighted_log_prob
    std::vector<double> resp;  // responsibilities of the tile's points, (tile, K)
    std::vector<double> d, a;  // x - mean_k and r_k (x - mean_k) of the tile's points, (tile, D, K)
};

// d[k] = x_i - mean_ki (in T, as in the log density), a[k] = r_k d[k], s1[k] += a[k].
template <typename T>
inline void centred_row(T x_i, const T* __restrict mean, const double* __restrict resp, int64_t K, double* __restrict d,
                        double* __restrict a, double* __restrict s1) {
    for (int64_t k = 0; k < K; ++k) {
        d[k] = (double)(x_i - mean[k]);
        a[k] = resp[k] * d[k];
        s1[k] += a[k];
    }
}

// The statistics of points [first, first + count), count <= kGmmTile, added to `stats`;
// each point counts weights[n] times (all once when weights is null).
// Missing points of a short tile count with r = 0 and d = 0: they add exact zeros.
template <typename T>
void accumulate_tile(const T* X, const double* weights, int64_t first, int64_t count, const GmmParams<T>& p,
                     GmmScratch<T>& s, GmmStats& stats) {
    const int64_t K = p.K, D = p.D, DK = D * K;
    if (count < kGmmTile) {
        std::fill(s.d.begin(), s.d.end(), 0.0);
        std::fill(s.a.begin(), s.a.end(), 0.0);
    }
    for (int64_t t = 0; t < count; ++t) {
        const T* x = X + (first + t) * D;
        double* __restrict resp = s.resp.data() + t * K;
        weighted_log_prob<T>(x, p.means_t, p.prec_t, p.full, p.bias, K, D, 0, K, s.work.data(), resp);
        stats.log_likelihood += weights ? weighted_responsibilities(resp, K, weights[first + t])
                                        : responsibilities(resp, K);
        for (int64_t k = 0; k < K; ++k) stats.nk[k] += resp[k];
        for (int64_t i = 0; i < D; ++i) {
            centred_row<T>(x[i], p.means_t + i * K, resp, K, s.d.data() + t * DK + i * K, s.a.data() + t * DK + i * K,
                           stats.s1.data() + i * K);
        }
    }
    const double *__restrict d0 = s.d.data(), *__restrict d1 = d0 + DK, *__restrict d2 = d1 + DK,
                             *__restrict d3 = d2 + DK;
    const double *__restrict a0 = s.a.data(), *__restrict a1 = a0 + DK, *__restrict a2 = a1 + DK,
                             *__restrict a3 = a2 + DK;
    if (p.full) {
        for (int64_t i = 0; i < D; ++i) {
            for (int64_t j = i; j < D; ++j) {
                double* __restrict s2 = stats.s2.data() + (i * D + j) * K;
                const int64_t ik = i * K, jk = j * K;
                for (int64_t k = 0; k < K; ++k) {
                    s2[k] += (a0[ik + k] * d0[jk + k] + a1[ik + k] * d1[jk + k]) +
                             (a2[ik + k] * d2[jk + k] + a3[ik + k] * d3[jk + k]);
                }
            }
        }
    } else {
        double* __restrict s2 = stats.s2.data();
        for (int64_t c = 0; c < DK; ++c) s2[c] += (a0[c] * d0[c] + a1[c] * d1[c]) + (a2[c] * d2[c] + a3[c] * d3[c]);
    }
}
static_assert(kGmmTile == 4, "accumulate_tile sums four points per update");

// One fused E-step over the N rows of X: log densities, log-sum-exp and responsibilities
// of each point, reduced at once into the sufficient statistics (never an N x K array).
// `weights` (N, or null for all ones): sample weights, applied by weighted_responsibilities.
// Threads take blocks of points and keep their own float64 sums, added in thread order.
template <typename T>
GmmStats em_pass(const T* X, const double* weights, int64_t N, const GmmParams<T>& p) {
    const int n_threads = team_size(N * p.K * p.D >= kGmmParallelWork);
    std::vector<GmmStats> partial((size_t)n_threads, GmmStats(p.K, p.D, p.full));
    ThreadBuffers<GmmScratch<T>> scratches(n_threads, p.K, p.D, p.full);
    const int64_t n_blocks = (N + kGmmBlock - 1) / kGmmBlock;
#pragma omp parallel num_threads(n_threads)
    {
        GmmScratch<T>& scratch = scratches.mine();
        GmmStats& mine = partial[(size_t)thread_index()];
#pragma omp for schedule(static)
        for (int64_t b = 0; b < n_blocks; ++b) {
            const int64_t end = std::min(N, (b + 1) * kGmmBlock);
            for (int64_t first = b * kGmmBlock; first < end; first += kGmmTile) {
                accumulate_tile<T>(X, weights, first, std::min(kGmmTile, end - first), p, scratch, mine);
            }
        }
    }
    for (size_t t = 1; t < partial.size(); ++t) partial[0].add(partial[t]);
    return partial[0];
}

}  // namespace cpu
}  // namespace fastgen
