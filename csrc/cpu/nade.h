// CPU loops of NADE (fastgen.nade): one example per iteration, its D sequential steps over
// the shared math of csrc/include/fastgen/nade.h, examples shared among threads. No Python
// here (nade.cpp binds). The Numba backend (fastgen/nade/_numba.py) repeats these loops
// operation for operation, so that both draw bit-identical samples.
#pragma once
#include <stdint.h>

#include <algorithm>
#include <vector>

#include "fastgen/nade.h"
#include "fastgen/random.h"
#include "parallel.h"
#include "random.h"

namespace fastgen {
namespace cpu {

// Multiply-adds (rows x D x H) below which the NADE loops stay on the calling thread. Each
// example is a long serial chain of D steps with a sigmoid row in each (a 784 x 500 example
// takes about a millisecond), so a few examples already pay for waking the team.
constexpr int64_t kNadeParallelWork = 1 << 20;
// Examples per partial sum of the gradient. Partials over fixed chunks, added in chunk
// order, make the gradient independent of the number of threads (and equal on cpu and numba).
constexpr int64_t kNadeChunk = 32;
// Interleaved partial sums of dot_lanes: they vectorise, where one running sum would be
// bound by the latency of its additions (a fixed order, so cpu and numba round alike).
constexpr int kNadeDotLanes = 16;

// x . y as kNadeDotLanes interleaved sums, combined pairwise (lane k += lane k + width for
// width = 8, 4, 2, 1), then the tail added in order.
template <typename T>
inline T dot_lanes(const T* __restrict x, const T* __restrict y, int64_t n) {
    T lane[kNadeDotLanes];
    for (int k = 0; k < kNadeDotLanes; ++k) lane[k] = T(0);
    int64_t j = 0;
    for (; j + kNadeDotLanes <= n; j += kNadeDotLanes) {
        for (int k = 0; k < kNadeDotLanes; ++k) lane[k] += x[j + k] * y[j + k];
    }
    for (int width = kNadeDotLanes / 2; width >= 1; width /= 2) {
        for (int k = 0; k < width; ++k) lane[k] += lane[k + width];
    }
    T total = lane[0];
    for (; j < n; ++j) total += x[j] * y[j];
    return total;
}

template <typename T>
struct NadeModel {
    const T* W;  // (D, H), row d = the paper's W[:, d]
    const T* V;  // (D, H)
    const T* b;  // (D,)
    const T* c;  // (H,)
    int64_t D, H;
};

// A thread's buffers: the running pre-activation, the hidden rows (every distinct h_d, up to
// D x H, when the reverse sweep needs them; else one row), the index of each step's row
// among them, the logits, the row's uniforms, and the reverse sweep's running sum of da.
template <typename T>
struct NadeScratch {
    NadeScratch(int64_t D, int64_t H, bool keep_hidden)
        : acc((size_t)H), hidden((size_t)(keep_hidden ? D * H : H)), row_of((size_t)D), logits((size_t)D),
          u((size_t)D), dacc((size_t)H) {}
    std::vector<T> acc, hidden;
    std::vector<int64_t> row_of;
    std::vector<T> logits;
    std::vector<float> u;
    std::vector<T> dacc;
};

// h = sigmoid(acc + c).
template <typename T>
inline void hidden_row(const NadeModel<T>& m, const T* __restrict acc, T* __restrict h) {
    for (int64_t j = 0; j < m.H; ++j) h[j] = nade_hidden(acc[j], m.c[j]);
}

// l_d = b_d + V_d . h.
template <typename T>
inline T nade_logit(const NadeModel<T>& m, int64_t d, const T* h) {
    return m.b[d] + dot_lanes(m.V + d * m.H, h, m.H);
}

// acc += W_d (the step a_{d+1} = a_d + v_d W_d for v_d = 1).
template <typename T>
inline void add_input_row(const NadeModel<T>& m, int64_t d, T* __restrict acc) {
    const T* __restrict w = m.W + d * m.H;
    for (int64_t j = 0; j < m.H; ++j) acc[j] += w[j];
}

// log p(v) of one binary row, the logits into scratch.logits. h_d changes only after a
// v_{d-1} = 1 (at v_{d-1} = 0 the pre-activation stays as it was), so the sigmoid row is
// computed then only: at MNIST's 13% of ones, that skips most of the work. With `keep`,
// every distinct h is kept (row k of scratch.hidden) and step d's is row row_of[d].
template <typename T>
inline double forward_row(const NadeModel<T>& m, const T* v, bool keep, NadeScratch<T>& s) {
    T* __restrict acc = s.acc.data();
    std::fill(s.acc.begin(), s.acc.end(), T(0));
    double log_p = 0.0;
    int64_t row = -1;
    bool changed = true;
    for (int64_t d = 0; d < m.D; ++d) {
        if (changed) {
            row = keep ? row + 1 : 0;
            hidden_row(m, acc, s.hidden.data() + row * m.H);
            changed = false;
        }
        s.row_of[(size_t)d] = row;
        const T l = nade_logit(m, d, s.hidden.data() + row * m.H);
        s.logits[(size_t)d] = l;
        log_p += nade_log_conditional(l, v[d]);
        if (v[d] != T(0)) {
            add_input_row(m, d, acc);
            changed = true;
        }
    }
    return log_p;
}

// The reverse sweep of one row after forward_row(keep = true): adds the gradient of its
// log p to grad = [dW (D x H), dV (D x H), db (D), dc (H)].
template <typename T>
inline void reverse_row(const NadeModel<T>& m, const T* v, NadeScratch<T>& s, T* grad) {
    const int64_t D = m.D, H = m.H;
    T* __restrict dacc = s.dacc.data();  // sum of da_{d'} over d' > d
    std::fill(s.dacc.begin(), s.dacc.end(), T(0));
    T* dW = grad;
    T* dV = grad + D * H;
    T* db = grad + 2 * D * H;
    T* dc = db + D;
    for (int64_t d = D - 1; d >= 0; --d) {
        const T* __restrict h = s.hidden.data() + s.row_of[(size_t)d] * H;
        const T* __restrict v_out = m.V + d * H;
        const T g = v[d] - sigmoid(s.logits[(size_t)d]);
        db[d] += g;
        if (v[d] != T(0)) {
            T* __restrict dw = dW + d * H;
            for (int64_t j = 0; j < H; ++j) dw[j] += dacc[j];
        }
        T* __restrict dv = dV + d * H;
        for (int64_t j = 0; j < H; ++j) {
            dv[j] += g * h[j];
            dacc[j] += nade_pre_activation_grad(g, v_out[j], h[j]);
        }
    }
    for (int64_t j = 0; j < H; ++j) dc[j] += dacc[j];
}

// out[r] = log p(v_r) for the n rows of v (n x D, binary).
template <typename T>
inline void log_likelihood(const NadeModel<T>& m, const T* v, int64_t n, double* out) {
    const int n_threads = team_size(n * m.D * m.H >= kNadeParallelWork);
    ThreadBuffers<NadeScratch<T>> buffers(n_threads, m.D, m.H, false);
#pragma omp parallel num_threads(n_threads)
    {
        NadeScratch<T>& s = buffers.mine();
#pragma omp for schedule(static)
        for (int64_t r = 0; r < n; ++r) out[r] = forward_row(m, v + r * m.D, false, s);
    }
}

// grad (2 D H + D + H: dW, dV, db, dc) = scale * the sum over the n rows of v of the gradient
// of log p(v_r), and log_p[r] = log p(v_r). Rows are summed within chunks of kNadeChunk,
// then the chunks' partials in chunk order.
template <typename T>
inline void gradient(const NadeModel<T>& m, const T* v, int64_t n, T scale, T* grad, double* log_p) {
    const int64_t size = 2 * m.D * m.H + m.D + m.H;
    const int64_t n_chunks = std::max<int64_t>(1, (n + kNadeChunk - 1) / kNadeChunk);
    std::vector<T> partials((size_t)(n_chunks * size), T(0));
    const bool parallel = n * m.D * m.H >= kNadeParallelWork;
    const int n_threads = team_size(parallel);
    ThreadBuffers<NadeScratch<T>> buffers(n_threads, m.D, m.H, true);
#pragma omp parallel num_threads(n_threads)
    {
        NadeScratch<T>& s = buffers.mine();
#pragma omp for schedule(dynamic, 1)
        for (int64_t k = 0; k < n_chunks; ++k) {
            T* part = partials.data() + k * size;
            for (int64_t r = k * kNadeChunk; r < std::min(n, (k + 1) * kNadeChunk); ++r) {
                log_p[r] = forward_row(m, v + r * m.D, true, s);
                reverse_row(m, v + r * m.D, s, part);
            }
        }
#pragma omp for schedule(static)
        for (int64_t i = 0; i < size; ++i) {
            T total = partials[(size_t)i];
            for (int64_t k = 1; k < n_chunks; ++k) total += partials[(size_t)(k * size + i)];
            grad[i] = scale * total;
        }
    }
}

// n samples (n x D) by ancestral sampling, each row's D steps in turn; v_d of row r takes
// uniform r * D + d of draw (seed, call, NADE_STREAM_SAMPLE).
template <typename T>
inline void sample(const NadeModel<T>& m, int64_t n, T* out, uint64_t seed, uint32_t call) {
    const int n_threads = team_size(n * m.D * m.H >= kNadeParallelWork);
    ThreadBuffers<NadeScratch<T>> buffers(n_threads, m.D, m.H, false);
#pragma omp parallel num_threads(n_threads)
    {
        NadeScratch<T>& s = buffers.mine();
#pragma omp for schedule(static)
        for (int64_t r = 0; r < n; ++r) {
            T* __restrict v = out + r * m.D;
            T* __restrict acc = s.acc.data();
            float* __restrict u = s.u.data();
            row_uniforms((uint64_t)(r * m.D), (uint64_t)m.D, seed, call, NADE_STREAM_SAMPLE, u);
            std::fill(s.acc.begin(), s.acc.end(), T(0));
            T* __restrict h = s.hidden.data();
            bool changed = true;  // as in forward_row: h changes only after a one
            for (int64_t d = 0; d < m.D; ++d) {
                if (changed) {
                    hidden_row(m, acc, h);
                    changed = false;
                }
                const T p = sigmoid(nade_logit(m, d, h));
                v[d] = nade_visible_state(u[d], p);
                if (v[d] != T(0)) {
                    add_input_row(m, d, acc);
                    changed = true;
                }
            }
        }
    }
}

}  // namespace cpu
}  // namespace fastgen
