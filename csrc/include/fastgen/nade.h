// Per-element math of NADE, the neural autoregressive density estimator (Larochelle &
// Murray, 2011), shared by the C++ (OpenMP) loops and the CUDA kernels.
//
// Model over binary v (D units) with H hidden units; W and V are (D, H), row d holding the
// paper's W[:, d] and V[d, :]; b (D,) and c (H,) are the biases:
//   a_d = c + sum_{k<d} v_k W_k          the running pre-activation (a_0 = c)
//   h_d = sigmoid(a_d)
//   l_d = b_d + V_d . h_d                  the logit of p(v_d = 1 | v_<d)
//   log p(v) = sum_d log sigmoid((2 v_d - 1) l_d)
// One pass over d costs O(D H) per example: a_{d+1} = a_d + v_d W_d adds one row of W
// when v_d = 1 and nothing when v_d = 0. The loops keep acc_d = a_d - c and add c inside
// the sigmoid (nade_hidden), the way the Numba backend's sigmoid row adds its bias.
//
// Gradient of log p(v), by the reverse sweep (d = D-1 .. 0), with g_d = v_d - sigmoid(l_d):
//   db_d = g_d,   dV_d = g_d h_d,   da_d = g_d V_d * h_d * (1 - h_d),
//   dW_k = v_k sum_{d>k} da_d,      dc = sum_d da_d.
// Sampling draws v_d with the uniform of element (row * D + d) of draw (seed, call,
// NADE_STREAM_SAMPLE): v_d = 1 if u < sigmoid(l_d) (compared in T).
#pragma once
#include "config.h"
#include "mathx.h"

namespace fastgen {

// h_d[j] = sigmoid(acc[j] + c[j]).
template <typename T>
FG_HD T nade_hidden(T acc, T c) {
    return sigmoid((T)(acc + c));
}

// log p(v_d | v_<d) = log sigmoid((2 v_d - 1) l) = -softplus(-(2 v_d - 1) l), in double
// (the sum over d is taken in double on every backend).
template <typename T>
FG_HD double nade_log_conditional(T logit, T v) {
    const double l = (double)logit;
    return -softplus(v != T(0) ? -l : l);
}

// v_d drawn from its uniform: 1 if u < p (compared in T), else 0.
template <typename T>
FG_HD T nade_visible_state(float u, T p) {
    return (T)u < p ? T(1) : T(0);
}

// da_d[j], unit j's share of the reverse sweep: g_d V_d[j] h_d[j] (1 - h_d[j]).
template <typename T>
FG_HD T nade_pre_activation_grad(T g, T v_out, T h) {
    return ((g * v_out) * h) * (T(1) - h);
}

}  // namespace fastgen
