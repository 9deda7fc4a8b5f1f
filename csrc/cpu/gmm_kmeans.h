// CPU loops of the k-means that initialises a Gaussian mixture (init_params="kmeans"; the
// Python driver, its draws and its convergence test are fastgen/gmm/_kmeans.py): the greedy
// k-means++ seeding in one call, and one Lloyd iteration per call.
//
// Points go by blocks of kGmmBlock, transposed into double (as the E-step's blocks of
// cpu/gmm.h), so that the distance loops run over a block's points; each point's distance
// is squared_distance of fastgen/gmm.h, operation for operation. Sums over points have an
// order fixed by N (and K, D) only, never by the thread count:
// - seeding: a block's sum is block_sum's tree (cpu/gmm.h); blocks are added in order, on
//   one thread, after each parallel pass;
// - Lloyd: the points of a chunk (gmm_chunks's partition of the blocks) in order, the chunks
//   in order.
// fastgen/gmm/_numba.py repeats these loops, so cpu and numba agree bit for bit.
#pragma once
#include <stdint.h>

#include <string.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "fastgen/gmm.h"
#include "gmm.h"
#include "parallel.h"

namespace fastgen {
namespace cpu {

// One thread's buffers for a block of points (allocated before any parallel region).
struct KmeansBlock {
    KmeansBlock(int64_t D, int64_t n_centres)
        : xt((size_t)(D * kGmmBlock)),
          w((size_t)kGmmBlock),
          dist((size_t)(n_centres * kGmmBlock)),
          m((size_t)kGmmBlock),
          best_d((size_t)kGmmBlock),
          best_k((size_t)kGmmBlock) {}
    std::vector<double> xt;         // (D, block) the block's points as double; zeros past the last
    std::vector<double> w;          // (block) sample weights: 1 (unweighted), 0 past the last point
    std::vector<double> dist;       // (centres, block) squared distances to the centres of a pass
    std::vector<double> m;          // (block) weighted terms of a sum
    std::vector<double> best_d;     // (block) distance to the nearest centre
    std::vector<int64_t> best_k;    // (block) that centre
};

template <typename T>
void kmeans_load_block(const T* X, const double* weights, int64_t first, int64_t count, int64_t D, KmeansBlock& s) {
    if (count < kGmmBlock) std::fill(s.xt.begin(), s.xt.end(), 0.0);
    for (int64_t b = 0; b < count; ++b) {
        const T* x = X + (first + b) * D;
        for (int64_t i = 0; i < D; ++i) s.xt[(size_t)(i * kGmmBlock + b)] = (double)x[i];
    }
    for (int64_t b = 0; b < kGmmBlock; ++b) s.w[(size_t)b] = b < count ? (weights ? weights[first + b] : 1.0) : 0.0;
}

// out[g * kGmmBlock + b] = squared_distance of the block's point b to centre g < G (rows of
// `centres`, D doubles each), for the strip of points at xt (D rows of stride kGmmBlock): the
// strip's G running sums stay in registers and each load of xt serves G centres. Each sum is
// squared_distance's, i ascending.
template <int G>
inline void strip_distances(const double* __restrict xt, const double* __restrict centres, int64_t D,
                            double* __restrict out) {
    typedef StripOf<double>::type Strip;
    Strip acc[G];
    for (int g = 0; g < G; ++g) acc[g] = Strip{};
    for (int64_t i = 0; i < D; ++i) {
        const Strip x = load<Strip>(xt + i * kGmmBlock);
        for (int g = 0; g < G; ++g) {
            const Strip d = x - centres[g * D + i];
            acc[g] += d * d;
        }
    }
    for (int g = 0; g < G; ++g) memcpy(out + g * kGmmBlock, &acc[g], sizeof(Strip));
}

// out (n, block) = squared distances of the block's points (xt, (D, block)) to the n centres (n, D).
inline void block_distances(const double* xt, const double* centres, int64_t n, int64_t D, double* out) {
    for (int64_t s0 = 0; s0 < kGmmBlock; s0 += StripOf<double>::points) {
        int64_t g = 0;
        for (; g + 8 <= n; g += 8) strip_distances<8>(xt + s0, centres + g * D, D, out + g * kGmmBlock + s0);
        for (; g + 4 <= n; g += 4) strip_distances<4>(xt + s0, centres + g * D, D, out + g * kGmmBlock + s0);
        for (; g < n; ++g) strip_distances<1>(xt + s0, centres + g * D, D, out + g * kGmmBlock + s0);
    }
}

// The seeding's state: X's blocks transposed into double once (each of the 2 K passes over X
// transposed them again before, a third of the seeding's time), closest[n], the squared
// distance of point n to its nearest seed so far (+inf before the first), and block_total[blk]
// = sum of w closest over block blk (block_sum's tree); the distances of every point to the
// candidates of the current step, kept so that adding the chosen one does not read X again.
// Memory: (D + L + 2) N doubles.
struct KmeansSeeding {
    KmeansSeeding(int64_t N, int64_t n_blocks, int64_t L, int64_t D)
        : xt((size_t)(n_blocks * D * kGmmBlock)), w((size_t)(n_blocks * kGmmBlock)),
          closest((size_t)N, std::numeric_limits<double>::infinity()), block_total((size_t)n_blocks),
          candidate_total((size_t)(n_blocks * L)), candidate_distance((size_t)(L * N)), centres((size_t)(L * D)),
          candidates((size_t)L) {}
    std::vector<double> xt, w;  // (n_blocks, D, block) and (n_blocks, block): kmeans_load_block of each block
    std::vector<double> closest, block_total;
    std::vector<double> candidate_total;     // (n_blocks, L): sum of w min(closest, |x - candidate_l|^2) over each block
    std::vector<double> candidate_distance;  // (L, N): |x_n - candidate_l|^2
    std::vector<double> centres;             // (L, D) the candidates' rows as double
    std::vector<int64_t> candidates;
};

// st.xt and st.w: every block of X loaded once.
template <typename T>
void kmeans_load_blocks(const T* X, const double* weights, int64_t N, int64_t D, KmeansSeeding& st,
                        ThreadBuffers<KmeansBlock>& blocks, int n_threads) {
    const int64_t n_blocks = (N + kGmmBlock - 1) / kGmmBlock;
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int64_t blk = 0; blk < n_blocks; ++blk) {
        KmeansBlock& s = blocks.mine();
        const int64_t first = blk * kGmmBlock;
        kmeans_load_block<T>(X, weights, first, std::min(kGmmBlock, N - first), D, s);
        std::copy(s.xt.begin(), s.xt.end(), st.xt.begin() + blk * D * kGmmBlock);
        std::copy(s.w.begin(), s.w.end(), st.w.begin() + blk * kGmmBlock);
    }
}

// candidate_distance and candidate_total for the first L rows of st.centres.
inline void kmeans_try_candidates(int64_t N, int64_t D, int64_t L, KmeansSeeding& st,
                                  ThreadBuffers<KmeansBlock>& blocks, int n_threads) {
    const int64_t n_blocks = (N + kGmmBlock - 1) / kGmmBlock;
    const double* closest = st.closest.data();
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int64_t blk = 0; blk < n_blocks; ++blk) {
        KmeansBlock& s = blocks.mine();
        const int64_t first = blk * kGmmBlock, count = std::min(kGmmBlock, N - first);
        const double* w = st.w.data() + blk * kGmmBlock;
        const double* __restrict xt = st.xt.data() + blk * D * kGmmBlock;
        for (int64_t l = 0; l < L; ++l) {
            // one candidate at a time: its distances stay in L1 (register-blocking the L
            // candidates, as kmeans_step does its K centres, measured slower here)
            double* __restrict dist = s.dist.data();
            const double* __restrict c = st.centres.data() + l * D;
            for (int64_t b = 0; b < kGmmBlock; ++b) dist[b] = 0.0;
            for (int64_t i = 0; i < D; ++i) {
                const double ci = c[i];
                for (int64_t b = 0; b < kGmmBlock; ++b) {
                    const double e = xt[i * kGmmBlock + b] - ci;
                    dist[b] += e * e;
                }
            }
            const double* __restrict old = closest + first;
            double* __restrict kept = st.candidate_distance.data() + l * N + first;
            double* __restrict m = s.m.data();
            if (count == kGmmBlock) {  // a full block: the same operations, without the branch (it vectorises)
                for (int64_t b = 0; b < kGmmBlock; ++b) {
                    const double d = dist[b];
                    kept[b] = d;
                    m[b] = w[b] * (d < old[b] ? d : old[b]);
                }
            } else {
                for (int64_t b = 0; b < kGmmBlock; ++b) {
                    double v = 0.0;
                    if (b < count) {
                        const double d = dist[b];
                        kept[b] = d;
                        v = d < old[b] ? d : old[b];
                    }
                    m[b] = w[b] * v;
                }
            }
            st.candidate_total[(size_t)(blk * L + l)] = block_sum(m);
        }
    }
}

// Candidate l becomes a seed: closest = min(closest, its distances), and block_total.
inline void kmeans_add_candidate(const double* weights, int64_t N, int64_t l, KmeansSeeding& st, int n_threads) {
    const int64_t n_blocks = (N + kGmmBlock - 1) / kGmmBlock;
    const double* dist = st.candidate_distance.data() + l * N;
    double* closest = st.closest.data();
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int64_t blk = 0; blk < n_blocks; ++blk) {
        const int64_t first = blk * kGmmBlock, count = std::min(kGmmBlock, N - first);
        double m[kGmmBlock];
        const double* __restrict d = dist + first;
        double* __restrict c = closest + first;
        if (count == kGmmBlock && !weights) {  // the same operations, without the branches (it vectorises)
            for (int64_t b = 0; b < kGmmBlock; ++b) {
                const double v = d[b] < c[b] ? d[b] : c[b];
                c[b] = v;
                m[b] = v * 1.0;
            }
        } else {
            for (int64_t b = 0; b < kGmmBlock; ++b) {
                double v = 0.0;
                if (b < count) {
                    v = d[b] < c[b] ? d[b] : c[b];
                    c[b] = v;
                    v *= weights ? weights[first + b] : 1.0;
                }
                m[b] = v;
            }
        }
        st.block_total[(size_t)blk] = block_sum(m);
    }
}

// The point drawn for the value r in [0, total]: the first n whose cumulative sum of w closest
// reaches r (NumPy's searchsorted, left), the sum taken block totals first (in order), then
// the points of the block found one by one. Past the last block: the last block. Should
// rounding leave the block's points short of r, its last point of positive w closest (never
// an existing seed, where closest is 0).
inline int64_t kmeans_pick(const KmeansSeeding& st, const double* weights, int64_t N, double r) {
    const int64_t n_blocks = (N + kGmmBlock - 1) / kGmmBlock;
    double acc = 0.0;
    int64_t blk = 0;
    for (; blk < n_blocks - 1; ++blk) {
        if (acc + st.block_total[(size_t)blk] >= r) break;
        acc += st.block_total[(size_t)blk];
    }
    const int64_t first = blk * kGmmBlock, count = std::min(kGmmBlock, N - first);
    int64_t last_positive = -1;
    for (int64_t b = 0; b < count; ++b) {
        const double v = (weights ? weights[first + b] : 1.0) * st.closest[(size_t)(first + b)];
        acc += v;
        if (v > 0.0) last_positive = first + b;
        if (acc >= r) return first + b;
    }
    return last_positive >= 0 ? last_positive : first + count - 1;
}

// Greedy k-means++ (scikit-learn's _kmeans_plusplus): indices (K) of the rows of X (N, D)
// chosen as seeds. The first is first_index; seed c >= 1 is the best of L candidates, the
// rows kmeans_pick draws for r = uniforms[c - 1, l] * (the current potential, sum w closest):
// the one whose potential after adding it is smallest (the first such). Memory: besides X,
// (D + L + 2) N doubles (KmeansSeeding).
template <typename T>
void kmeans_seed(const T* X, const double* weights, int64_t N, int64_t D, int64_t first_index, const double* uniforms,
                 int64_t K, int64_t L, int64_t* indices) {
    const int64_t n_blocks = (N + kGmmBlock - 1) / kGmmBlock;
    const int n_threads = team_size(N * D * std::max<int64_t>(L, 1) >= kGmmParallelWork);
    KmeansSeeding st(N, n_blocks, std::max<int64_t>(L, 1), D);
    ThreadBuffers<KmeansBlock> blocks(n_threads, D, std::max<int64_t>(L, 1));
    auto row = [&](int64_t n, double* dst) {
        for (int64_t i = 0; i < D; ++i) dst[i] = (double)X[n * D + i];
    };
    indices[0] = first_index;  // the first seed: the one candidate of step 0
    row(first_index, st.centres.data());
    kmeans_load_blocks<T>(X, weights, N, D, st, blocks, n_threads);
    kmeans_try_candidates(N, D, 1, st, blocks, n_threads);
    kmeans_add_candidate(weights, N, 0, st, n_threads);
    for (int64_t c = 1; c < K; ++c) {
        double total = 0.0;
        for (int64_t blk = 0; blk < n_blocks; ++blk) total += st.block_total[(size_t)blk];
        for (int64_t l = 0; l < L; ++l) {
            st.candidates[(size_t)l] = kmeans_pick(st, weights, N, uniforms[(c - 1) * L + l] * total);
            row(st.candidates[(size_t)l], st.centres.data() + l * D);
        }
        kmeans_try_candidates(N, D, L, st, blocks, n_threads);
        int64_t best = 0;
        double best_potential = 0.0;
        for (int64_t l = 0; l < L; ++l) {
            double potential = 0.0;
            for (int64_t blk = 0; blk < n_blocks; ++blk) potential += st.candidate_total[(size_t)(blk * L + l)];
            if (l == 0 || potential < best_potential) {
                best = l;
                best_potential = potential;
            }
        }
        indices[c] = st.candidates[(size_t)best];
        kmeans_add_candidate(weights, N, best, st, n_threads);
    }
}

// One Lloyd iteration against centres (K, D): labels[n] and distances[n], the nearest centre
// of point n and its squared distance (nearest_centre of gmm.h); sums (K, D) = sum w x and
// counts (K) = sum w over each centre's points (float64, zeros on entry not required).
template <typename T>
void kmeans_step(const T* X, const double* weights, int64_t N, int64_t D, const double* centres, int64_t K,
                 int64_t* labels, double* distances, double* sums, double* counts) {
    const int64_t n_blocks = (N + kGmmBlock - 1) / kGmmBlock;
    const int64_t n_chunks = gmm_chunks(n_blocks, K, D, false);
    const int n_threads = team_size(N * K * D >= kGmmParallelWork);
    std::vector<double> chunk_sums((size_t)(n_chunks * K * D), 0.0), chunk_counts((size_t)(n_chunks * K), 0.0);
    ThreadBuffers<KmeansBlock> blocks(n_threads, D, K);
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int64_t c = 0; c < n_chunks; ++c) {
        KmeansBlock& s = blocks.mine();
        double* csums = chunk_sums.data() + c * K * D;
        double* ccounts = chunk_counts.data() + c * K;
        for (int64_t blk = c * n_blocks / n_chunks; blk < (c + 1) * n_blocks / n_chunks; ++blk) {
            const int64_t first = blk * kGmmBlock, count = std::min(kGmmBlock, N - first);
            kmeans_load_block<T>(X, weights, first, count, D, s);
            block_distances(s.xt.data(), centres, K, D, s.dist.data());
            for (int64_t b = 0; b < kGmmBlock; ++b) {
                s.best_d[(size_t)b] = s.dist[(size_t)b];
                s.best_k[(size_t)b] = 0;
            }
            for (int64_t k = 1; k < K; ++k) {
                const double* dist = s.dist.data() + k * kGmmBlock;
                for (int64_t b = 0; b < kGmmBlock; ++b) {
                    if (dist[b] < s.best_d[(size_t)b]) {
                        s.best_d[(size_t)b] = dist[b];
                        s.best_k[(size_t)b] = k;
                    }
                }
            }
            for (int64_t b = 0; b < count; ++b) {
                const int64_t k = s.best_k[(size_t)b];
                const double w = s.w[(size_t)b];
                labels[first + b] = k;
                distances[first + b] = s.best_d[(size_t)b];
                for (int64_t i = 0; i < D; ++i) csums[k * D + i] += w * s.xt[(size_t)(i * kGmmBlock + b)];
                ccounts[k] += w;
            }
        }
    }
    std::fill(sums, sums + K * D, 0.0);
    std::fill(counts, counts + K, 0.0);
    for (int64_t c = 0; c < n_chunks; ++c) {
        for (int64_t j = 0; j < K * D; ++j) sums[j] += chunk_sums[(size_t)(c * K * D + j)];
        for (int64_t k = 0; k < K; ++k) counts[k] += chunk_counts[(size_t)(c * K + k)];
    }
}

}  // namespace cpu
}  // namespace fastgen
