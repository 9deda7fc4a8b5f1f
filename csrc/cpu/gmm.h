// CPU loop structure of the Gaussian-mixture kernels: how points and threads walk over
// the per-point math of csrc/include/fastgen/gmm.h, and the fused reduction of the
// M-step's sufficient statistics. No Python here (gmm.cpp binds).
//
// Points go by blocks of kGmmBlock, transposed so that every inner loop runs over the
// block's points: contiguous, independent, and long enough to vectorise (the components,
// 32 or so, were too short a loop, and a point at a time paid its loop overheads 136 times
// per component). Each point's log densities and responsibilities are the very operations
// of gmm.h in the same order, only many points at a time, so they equal the per-point
// function's bit for bit (and the CUDA kernel's, which runs it).
//
// Sums over points have a fixed order that depends on N only, never on the thread count:
// within a block, the pairwise tree that halves the block (block_dot); blocks added in
// order into their chunk; chunks (a partition of the blocks fixed by N, K
// and D) added in order at the end. Threads only choose which chunks they run.
// fastgen/gmm/_numba.py repeats this order, so cpu and numba agree bit for bit.
#pragma once
#include <stdint.h>

#include <string.h>

#include <algorithm>
#include <vector>

#include "fastgen/gmm.h"
#include "parallel.h"

namespace fastgen {
namespace cpu {

// Work (points x components x features) below which the loops stay on one thread.
constexpr int64_t kGmmParallelWork = 1 << 20;
// Points per block: its (D, block) and (K, block) buffers stay in L1/L2 for D, K ~ 16-32.
constexpr int64_t kGmmBlock = 128;
// Bytes of a strip of points in the register-blocked loops (one AVX-512 register): a
// strip's running sums stay in registers (the loops were bound by storing them to L1 and
// loading them back). It changes no result: each point's sums keep their order.
constexpr int64_t kGmmStripBytes = 64;
// At most this many chunks (per-chunk statistics kept for the ordered reduction) ...
constexpr int64_t kGmmMaxChunks = 64;
// ... and at most this many bytes of them, unless one chunk alone takes more.
constexpr int64_t kGmmChunkBytes = 1 << 26;
static_assert(kGmmBlock == 128, "block_fold folds 128 points: eight vectors of eight pair sums");

// Where the parameters of the per-point math lie (layout in fastgen/gmm.h).
template <typename T>
struct GmmParams {
    const T* means_t;
    const T* prec_t;
    bool full;
    const double* bias;
    int64_t K, D;
};

// Sufficient statistics, centred on the current means mean_k, component index first:
//   nk (K) = sum w r_k,  s1 (K, D) = sum w r_k (x - mean_k),
//   s2 = sum w r_k (x - mean_k)(x - mean_k)^T as (K, D, D), upper triangle j >= i (full),
//        or its diagonal (K, D),
// and the sum over points of w log p(x).
struct GmmStats {
    GmmStats(int64_t K, int64_t D, bool full)
        : nk((size_t)K, 0.0), s1((size_t)(K * D), 0.0), s2((size_t)(full ? K * D * D : K * D), 0.0) {}
    std::vector<double> nk, s1, s2;
    double log_likelihood = 0.0;

    void add(const GmmStats& other) {
        for (size_t i = 0; i < nk.size(); ++i) nk[i] += other.nk[i];
        for (size_t i = 0; i < s1.size(); ++i) s1[i] += other.s1[i];
        for (size_t i = 0; i < s2.size(); ++i) s2[i] += other.s2[i];
        log_likelihood += other.log_likelihood;
    }
};

// A block's pair sums, eight at a time, and a strip of points, as GCC/Clang vector types:
// their arithmetic is lane by lane, each lane rounded as the scalar operation (FMA
// contraction is off), so they fix the vector code the loops compile to without changing
// what they compute.
typedef double Pairs __attribute__((vector_size(8 * sizeof(double))));
template <typename T>
struct StripOf {
    typedef T type __attribute__((vector_size(kGmmStripBytes)));
    static constexpr int64_t points = kGmmStripBytes / sizeof(T);
};

template <typename V, typename T>
inline V load(const T* p) {
    V v;
    memcpy(&v, p, sizeof v);
    return v;
}

// Sums over a block's points: the pairwise tree that halves the block. p[b] = v[b] +
// v[b + 64] for b < 64 (given as eight vectors), then p[b] += p[b + w] for w = 32, 16, ..., 1;
// returns p[0]. fastgen/gmm/_numba.py (_block_fold) writes the same tree as loops.
inline double block_fold(Pairs* p) {
    for (int w = 4; w >= 1; w /= 2) {
        for (int v = 0; v < w; ++v) p[v] += p[v + w];
    }
    const Pairs x = p[0];
    return ((x[0] + x[4]) + (x[2] + x[6])) + ((x[1] + x[5]) + (x[3] + x[7]));
}

// sum_b a[b] c[b] over one block, in block_fold's order.
inline double block_dot(const double* a, const double* c) {
    constexpr int64_t H = kGmmBlock / 2;
    Pairs p[8];
    for (int v = 0; v < 8; ++v) {
        p[v] = load<Pairs>(a + 8 * v) * load<Pairs>(c + 8 * v) + load<Pairs>(a + H + 8 * v) * load<Pairs>(c + H + 8 * v);
    }
    return block_fold(p);
}

// out[q] += block_dot(a, c + q * kGmmBlock) for q < 2: each vector of a loaded once for both.
inline void block_dot2(const double* a, const double* c, double* out) {
    constexpr int64_t H = kGmmBlock / 2;
    const double* c1 = c + kGmmBlock;
    Pairs p[8], q[8];
    for (int v = 0; v < 8; ++v) {
        const Pairs lo = load<Pairs>(a + 8 * v), hi = load<Pairs>(a + H + 8 * v);
        p[v] = lo * load<Pairs>(c + 8 * v) + hi * load<Pairs>(c + H + 8 * v);
        q[v] = lo * load<Pairs>(c1 + 8 * v) + hi * load<Pairs>(c1 + H + 8 * v);
    }
    out[0] += block_fold(p);
    out[1] += block_fold(q);
}

// sum_b a[b] over one block, in block_fold's order.
inline double block_sum(const double* a) {
    constexpr int64_t H = kGmmBlock / 2;
    Pairs p[8];
    for (int v = 0; v < 8; ++v) p[v] = load<Pairs>(a + 8 * v) + load<Pairs>(a + H + 8 * v);
    return block_fold(p);
}

// One thread's buffers for a block (allocated before any parallel region).
template <typename T>
struct GmmBlock {
    GmmBlock(int64_t K, int64_t D)
        : xt((size_t)(D * kGmmBlock)),
          d((size_t)(D * kGmmBlock)),
          sq((size_t)kGmmBlock),
          u((size_t)(D * D)),
          lp((size_t)(K * kGmmBlock)),
          w((size_t)kGmmBlock),
          top((size_t)kGmmBlock),
          total((size_t)kGmmBlock),
          ll((size_t)kGmmBlock),
          dd((size_t)(D * kGmmBlock)),
          a((size_t)(D * kGmmBlock)),
          label((size_t)kGmmBlock) {}
    std::vector<T> xt;          // (D, block) the block's points, transposed; zeros past the last
    std::vector<T> d, sq, u;    // (D, block) x - mean_k; (block) |y|^2 of gmm.h; (D, D) U_k
    std::vector<double> lp;     // (K, block) log densities, then responsibilities times w
    std::vector<double> w;      // (block) sample weights: 1 (unweighted), 0 past the last point
    std::vector<double> top, total, ll;  // (block) of responsibilities; w log p(x)
    std::vector<double> dd, a;  // (D, block) x - mean_k as double, and r_k (x - mean_k)
    std::vector<int64_t> label; // (block) the first component of the largest log density
};

// Loads points [first, first + count) of X (N, D) into the block, with their weights.
template <typename T>
void load_block(const T* X, const double* weights, int64_t first, int64_t count, int64_t D, GmmBlock<T>& s) {
    std::fill(s.xt.begin(), s.xt.end(), T(0));
    for (int64_t b = 0; b < count; ++b) {
        const T* x = X + (first + b) * D;
        for (int64_t i = 0; i < D; ++i) s.xt[(size_t)(i * kGmmBlock + b)] = x[i];
    }
    for (int64_t b = 0; b < kGmmBlock; ++b) s.w[(size_t)b] = b < count ? (weights ? weights[first + b] : 1.0) : 0.0;
}

// d (D, block) = x - mean_k, in T as in gmm.h.
template <typename T>
inline void centre_block(const GmmParams<T>& p, int64_t k, const T* __restrict xt, T* __restrict d) {
    for (int64_t i = 0; i < p.D; ++i) {
        const T mean = p.means_t[i * p.K + k];
        for (int64_t b = 0; b < kGmmBlock; ++b) d[i * kGmmBlock + b] = xt[i * kGmmBlock + b] - mean;
    }
}

// sq[l] = |y|^2 for the StripOf<T>::points points of d (D rows of stride kGmmBlock), with
// y_j = sum_{i<=j} d_i U_ij, i ascending, and |y|^2 summed j ascending, as in gmm.h. Two
// columns j at a time share the loads of d; all running sums stay in registers.
template <typename T>
inline void full_strip(int64_t D, const T* __restrict u, const T* __restrict d, T* __restrict sq) {
    typedef typename StripOf<T>::type Strip;
    constexpr int64_t B = kGmmBlock;
    Strip total = {};
    int64_t j = 0;
    for (; j + 1 < D; j += 2) {
        Strip y0 = {}, y1 = {};
        for (int64_t i = 0; i <= j; ++i) {
            const Strip di = load<Strip>(d + i * B);
            y0 += di * u[i * D + j];
            y1 += di * u[i * D + j + 1];
        }
        y1 += load<Strip>(d + (j + 1) * B) * u[(j + 1) * D + j + 1];
        total += y0 * y0;
        total += y1 * y1;
    }
    if (j < D) {
        Strip y0 = {};
        for (int64_t i = 0; i <= j; ++i) y0 += load<Strip>(d + i * B) * u[i * D + j];
        total += y0 * y0;
    }
    memcpy(sq, &total, sizeof total);
}

// lp (K, block) = log(w_k N(x | mean_k, cov_k)): weighted_log_prob of gmm.h, each sum in its order.
template <typename T>
void block_log_prob(const GmmParams<T>& p, GmmBlock<T>& s) {
    const int64_t D = p.D, K = p.K, B = kGmmBlock;
    T* __restrict d = s.d.data();
    T* __restrict sq = s.sq.data();
    for (int64_t k = 0; k < K; ++k) {
        centre_block<T>(p, k, s.xt.data(), d);
        std::fill(s.sq.begin(), s.sq.end(), T(0));
        if (p.full) {
            T* __restrict u = s.u.data();  // U_k as (D, D), contiguous
            for (int64_t c = 0; c < D * D; ++c) u[c] = p.prec_t[c * K + k];
            for (int64_t s0 = 0; s0 < B; s0 += StripOf<T>::points) full_strip<T>(D, u, d + s0, sq + s0);
        } else {
            for (int64_t i = 0; i < D; ++i) {
                const T u = p.prec_t[i * K + k];
                const T* __restrict di = d + i * B;
                for (int64_t b = 0; b < B; ++b) {
                    const T z = di[b] * u;
                    sq[b] += z * z;
                }
            }
        }
        double* __restrict lp = s.lp.data() + k * B;
        const double bias = p.bias[k];
        for (int64_t b = 0; b < B; ++b) lp[b] = bias - 0.5 * (double)sq[b];
    }
}

// lp (K, block) becomes exp(lp - top), 0 below kNegligibleLogResp, with top (block) the
// lse_shift of each point's largest log density and total (block) their sum: shifted_exp
// of gmm.h, each point's sums in its order.
template <typename T>
void block_shifted_exp(int64_t K, GmmBlock<T>& s) {
    const int64_t B = kGmmBlock;
    double* __restrict lp = s.lp.data();
    double* __restrict top = s.top.data();
    double* __restrict total = s.total.data();
    for (int64_t b = 0; b < B; ++b) top[b] = lp[b];
    for (int64_t k = 1; k < K; ++k) {
        for (int64_t b = 0; b < B; ++b) top[b] = lp[k * B + b] > top[b] ? lp[k * B + b] : top[b];
    }
    for (int64_t b = 0; b < B; ++b) top[b] = lse_shift(top[b]);
    for (int64_t b = 0; b < B; ++b) total[b] = 0.0;
    for (int64_t k = 0; k < K; ++k) {
        for (int64_t b = 0; b < B; ++b) {
            const double shifted = lp[k * B + b] - top[b];
            const double r = shifted < kNegligibleLogResp ? 0.0 : exp_nonpositive(shifted);
            lp[k * B + b] = r;
            total[b] += r;
        }
    }
}

// lp (K, block) becomes the responsibilities times w and ll (block) w log p(x):
// weighted_responsibilities of gmm.h, each point's sums in its order.
template <typename T>
void block_responsibilities(int64_t K, GmmBlock<T>& s) {
    const int64_t B = kGmmBlock;
    block_shifted_exp<T>(K, s);
    double* __restrict lp = s.lp.data();
    double* __restrict top = s.top.data();
    double* __restrict total = s.total.data();
    const double* __restrict w = s.w.data();
    for (int64_t b = 0; b < B; ++b) {
        const double lse = top[b] + log(total[b]);
        s.ll[(size_t)b] = w[b] == 0.0 ? 0.0 : w[b] * lse;
        total[b] = 1.0 / total[b];  // from here on, the inverse
    }
    for (int64_t k = 0; k < K; ++k) {
        for (int64_t b = 0; b < B; ++b) lp[k * B + b] = w[b] == 0.0 ? 0.0 : lp[k * B + b] * total[b] * w[b];
    }
}

// The block's statistics added to `stats`.
template <typename T>
void block_statistics(const GmmParams<T>& p, GmmBlock<T>& s, GmmStats& stats) {
    const int64_t D = p.D, K = p.K, B = kGmmBlock;
    double* __restrict dd = s.dd.data();
    double* __restrict a = s.a.data();
    const T* __restrict xt = s.xt.data();
    for (int64_t k = 0; k < K; ++k) {
        const double* __restrict r = s.lp.data() + k * B;
        for (int64_t i = 0; i < D; ++i) {
            const T mean = p.means_t[i * K + k];
            for (int64_t b = 0; b < B; ++b) {
                dd[i * B + b] = (double)(xt[i * B + b] - mean);  // x - mean_k in T, as in the log density
                a[i * B + b] = r[b] * dd[i * B + b];
            }
        }
        stats.nk[(size_t)k] += block_sum(r);
        double* __restrict s1 = stats.s1.data() + k * D;
        for (int64_t i = 0; i < D; ++i) s1[i] += block_sum(a + i * B);
        if (p.full) {
            double* __restrict s2 = stats.s2.data() + k * D * D;
            for (int64_t i = 0; i < D; ++i) {
                int64_t j = i;
                for (; j + 1 < D; j += 2) block_dot2(a + i * B, dd + j * B, s2 + i * D + j);
                if (j < D) s2[i * D + j] += block_dot(a + i * B, dd + j * B);
            }
        } else {
            double* __restrict s2 = stats.s2.data() + k * D;
            for (int64_t i = 0; i < D; ++i) s2[i] += block_dot(a + i * B, dd + i * B);
        }
    }
    stats.log_likelihood += block_sum(s.ll.data());
}

// The fixed partition of n_blocks blocks into chunks: it depends on N, K and D only.
inline int64_t gmm_chunks(int64_t n_blocks, int64_t K, int64_t D, bool full) {
    const int64_t stats_bytes = 8 * (K + K * D + (full ? K * D * D : K * D));
    const int64_t by_memory = std::max<int64_t>(1, kGmmChunkBytes / stats_bytes);
    return std::max<int64_t>(1, std::min({n_blocks, kGmmMaxChunks, by_memory}));
}

// The log densities of the N rows of X (N, D), a block at a time, each block handed in cache
// to epilogue(block, first, count) for its rows [first, first + count). The blocks write
// disjoint rows: any order of them, on any thread, gives the same results.
template <typename T, typename Epilogue>
void log_prob_blocks(const T* X, int64_t N, const GmmParams<T>& p, Epilogue epilogue) {
    const int n_threads = team_size(N * p.K * p.D >= kGmmParallelWork);
    ThreadBuffers<GmmBlock<T>> blocks(n_threads, p.K, p.D);
    const int64_t n_blocks = (N + kGmmBlock - 1) / kGmmBlock;
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int64_t blk = 0; blk < n_blocks; ++blk) {
        GmmBlock<T>& s = blocks.mine();
        const int64_t first = blk * kGmmBlock, count = std::min(kGmmBlock, N - first);
        load_block<T>(X, nullptr, first, count, p.D, s);
        block_log_prob<T>(p, s);
        epilogue(s, first, count);
    }
}

// out[n, k] = log(w_k N(x_n | mean_k, cov_k)) for the N rows of X (N, D).
template <typename T>
void weighted_log_prob_rows(const T* X, int64_t N, const GmmParams<T>& p, double* out) {
    log_prob_blocks<T>(X, N, p, [&](const GmmBlock<T>& s, int64_t first, int64_t count) {
        for (int64_t b = 0; b < count; ++b) {
            for (int64_t k = 0; k < p.K; ++k) out[(first + b) * p.K + k] = s.lp[(size_t)(k * kGmmBlock + b)];
        }
    });
}

// The scores of the block's first `count` points (score_point of gmm.h, each point's sums in
// its order), written to rows [first, first + count): log_norm (N) = log p(x); labels (N, or
// null) the first k of the largest log density; proba (N, K, or null) the responsibilities
// rounded to T. lp becomes scratch.
template <typename T>
void block_scores(int64_t K, GmmBlock<T>& s, int64_t first, int64_t count, double* log_norm, int64_t* labels,
                  T* proba) {
    const int64_t B = kGmmBlock;
    if (labels) {
        const double* __restrict lp = s.lp.data();
        double* __restrict best = s.total.data();  // the largest so far; total is free until block_shifted_exp
        int64_t* __restrict label = s.label.data();
        for (int64_t b = 0; b < B; ++b) {
            best[b] = lp[b];
            label[b] = 0;
        }
        for (int64_t k = 1; k < K; ++k) {
            for (int64_t b = 0; b < B; ++b) {
                const bool above = lp[k * B + b] > best[b];
                best[b] = above ? lp[k * B + b] : best[b];
                label[b] = above ? k : label[b];
            }
        }
        std::copy(label, label + count, labels + first);
    }
    block_shifted_exp<T>(K, s);
    const double* __restrict top = s.top.data();
    double* __restrict total = s.total.data();
    for (int64_t b = 0; b < count; ++b) log_norm[first + b] = top[b] + log(total[b]);
    if (proba) {
        const double* __restrict r = s.lp.data();
        for (int64_t b = 0; b < count; ++b) total[b] = 1.0 / total[b];  // from here on, the inverse
        for (int64_t b = 0; b < count; ++b) {
            T* __restrict row = proba + (first + b) * K;
            for (int64_t k = 0; k < K; ++k) row[k] = (T)(r[k * B + b] * total[b]);
        }
    }
}

// score_samples, predict and predict_proba in one pass over the N rows of X: each block's log
// densities are reduced to its rows' log p(x) (and labels, responsibilities when not null)
// while they are in cache; no N x K array but proba, written once.
template <typename T>
void score_rows(const T* X, int64_t N, const GmmParams<T>& p, double* log_norm, int64_t* labels, T* proba) {
    log_prob_blocks<T>(X, N, p, [&](GmmBlock<T>& s, int64_t first, int64_t count) {
        block_scores<T>(p.K, s, first, count, log_norm, labels, proba);
    });
}

// One fused E-step over the N rows of X: log densities, log-sum-exp and responsibilities
// of each point, reduced at once into the sufficient statistics (never an N x K array).
// `weights` (N, or null for all ones): sample weights, applied as weighted_responsibilities.
template <typename T>
GmmStats em_pass(const T* X, const double* weights, int64_t N, const GmmParams<T>& p) {
    const int64_t n_blocks = (N + kGmmBlock - 1) / kGmmBlock;
    const int64_t n_chunks = gmm_chunks(n_blocks, p.K, p.D, p.full);
    const int n_threads = team_size(N * p.K * p.D >= kGmmParallelWork);
    std::vector<GmmStats> partial((size_t)n_chunks, GmmStats(p.K, p.D, p.full));
    ThreadBuffers<GmmBlock<T>> blocks(n_threads, p.K, p.D);
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int64_t c = 0; c < n_chunks; ++c) {
        GmmBlock<T>& s = blocks.mine();
        for (int64_t blk = c * n_blocks / n_chunks; blk < (c + 1) * n_blocks / n_chunks; ++blk) {
            const int64_t first = blk * kGmmBlock;
            load_block<T>(X, weights, first, std::min(kGmmBlock, N - first), p.D, s);
            block_log_prob<T>(p, s);
            block_responsibilities<T>(p.K, s);
            block_statistics<T>(p, s, partial[(size_t)c]);
        }
    }
    for (size_t c = 1; c < partial.size(); ++c) partial[0].add(partial[c]);
    return partial[0];
}

}  // namespace cpu
}  // namespace fastgen
