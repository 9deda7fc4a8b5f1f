// Annealed importance sampling (AIS) for the binary RBM (Salakhutdinov & Murray, 2008):
// the per-unit math shared by the CPU chain walker (csrc/cpu/ais_cpu.h) and the CUDA
// kernel (csrc/cuda/ais.cu).
//
// Intermediate distributions for inverse temperatures 0 = beta_0 < ... < beta_K = 1, from
// a base model A (no weights, visible bias `base`) to the model B (W, b, c):
//   log p*_beta(v) = (1 - beta) base.v + beta b.v + sum_j softplus(beta a_j),  a = c + v W,
// so p*_1 is B's unnormalised marginal and p*_0 is A's marginal with n_hidden hidden units
// of zero bias summed out: log Z_0 = sum_i softplus(base_i) + n_hidden log 2. The transition at beta leaves p_beta invariant:
//   h ~ sigmoid(beta a),  v ~ sigmoid(beta (b + W h) + (1 - beta) base).
// One chain: v ~ A; for k = 1..K: log w += log p*_k(v) - log p*_{k-1}(v), then (k < K)
// one transition at beta_k. Then Z_B / Z_A is estimated by the mean of w over chains.
//
// Draws (philox.h layout, element = chain * n_units + unit): the initial v uses stream
// STREAM_INIT with call 0; the transition of step k uses call k with STREAM_HIDDEN for h
// and STREAM_VISIBLE for v. A chain's draws therefore do not depend on how many run.
#pragma once
#include "config.h"
#include "mathx.h"
#include "rbm.h"

namespace fastgen {

// Hidden unit j's share of log p*_k(v) - log p*_{k-1}(v), a = c_j + (vW)_j. Each term is
// exact in double, so the difference of two nearby values loses only their rounding
// (about 1e-14 absolute), far below the increments (about 1e-4 at beta steps of 1e-4).
FG_HD double ais_hidden_increment(double a, double beta, double beta_prev) {
    return softplus(beta * a) - softplus(beta_prev * a);
}

// The visible logit of the transition at beta, given input = (W h)_i.
template <typename T>
FG_HD T ais_visible_logit(T input, T bias, T base, T beta) {
    return beta * (input + bias) + (T(1) - beta) * base;
}

}  // namespace fastgen
