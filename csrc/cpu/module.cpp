// fastgen._core: OpenMP loops over the shared per-element math in csrc/include/fastgen.
// Python validates shapes, dtypes and contiguity before calling in; the functions here
// check only what protects memory, and release the GIL while they run.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <array>
#include <optional>
#include <vector>
#include <cstdint>
#include <stdexcept>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ais_cpu.h"
#include "dbm.h"
#include "diffusion.h"
#include "gbrbm.h"
#include "fastgen/gmm.h"
#include "fastgen/random.h"
#include "fastgen/rbm.h"
#include "gmm.h"
#include "rbm.h"

namespace py = pybind11;
using namespace fastgen;

template <typename T>
using carray = py::array_t<T, py::array::c_style>;

namespace {

void require(bool ok, const char* message) {
    if (!ok) {
        throw std::invalid_argument(message);
    }
}

int64_t n_groups(uint64_t n) { return (int64_t)((n + 3) / 4); }

std::array<uint32_t, 4> philox_words(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key) {
    u32x4 ctr;
    for (int k = 0; k < 4; ++k) ctr.v[k] = counter[k];
    const u32x4 out = philox4x32_10(ctr, key[0], key[1]);
    return {out.v[0], out.v[1], out.v[2], out.v[3]};
}

// The uniforms (0, 1) of elements 0..n-1 of draw (seed, call, stream), as float32.
carray<float> uniforms(uint64_t n, uint64_t seed, uint32_t call, uint32_t stream) {
    carray<float> out(n);
    float* dst = out.mutable_data();
    constexpr int64_t chunk = 4096;  // a multiple of 4: chunks start on Philox blocks
    const int64_t n_chunks = ((int64_t)n + chunk - 1) / chunk;
    py::gil_scoped_release release;
#pragma omp parallel for schedule(static) if ((int64_t)n >= cpu::kParallelWork)
    for (int64_t k = 0; k < n_chunks; ++k) {
        const uint64_t begin = (uint64_t)(k * chunk);
        cpu::row_uniforms(begin, std::min<uint64_t>(chunk, n - begin), seed, call, stream, dst + begin);
    }
    return out;
}

// Epilogue rows [0, rows) of (rows, n_cols) arrays: prob = sigmoid(logits + bias),
// state ~ Bernoulli(prob). `prob` may be `logits` itself.
template <typename T>
void epilogue_rows(int64_t rows, int64_t n_cols, const T* logits, const T* bias, T* prob, T* state, uint64_t seed,
                   uint32_t call, uint32_t stream) {
#pragma omp parallel if (rows * n_cols >= cpu::kParallelWork)
    {
        cpu::RowScratch<T> scratch(n_cols);
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t at = r * n_cols;
            cpu::bernoulli_row<T>((uint64_t)at, (uint64_t)n_cols, logits + at, bias, prob + at, state + at, seed, call,
                                  stream, scratch);
        }
    }
}

template <typename T>
void bernoulli_logits(carray<T> logits, carray<T> bias, carray<T> prob, carray<T> state,
                      uint64_t seed, uint32_t call, uint32_t stream) {
    require(logits.ndim() == 2, "logits must be 2-D");
    const int64_t rows = logits.shape(0), n_cols = logits.shape(1);
    require(bias.ndim() == 1 && bias.shape(0) == n_cols, "bias length must match logits columns");
    require(prob.size() == logits.size() && state.size() == logits.size(), "prob and state must match logits");
    const T* src = logits.data();
    T* prob_ptr = prob.mutable_data();
    T* state_ptr = state.mutable_data();
    py::gil_scoped_release release;
    epilogue_rows<T>(rows, n_cols, src, bias.data(), prob_ptr, state_ptr, seed, call, stream);
}

// The same draws with logits = states @ W for binary `states` (n, n_in) and W (n_in, n_out),
// the product formed as sums of the selected rows of W.
template <typename T>
void bernoulli_binary(carray<T> states, carray<T> W, carray<T> bias, carray<T> prob, carray<T> state, uint64_t seed,
                      uint32_t call, uint32_t stream) {
    require(states.ndim() == 2 && W.ndim() == 2 && states.shape(1) == W.shape(0), "states @ W shapes must agree");
    const int64_t rows = states.shape(0), n_in = W.shape(0), n_out = W.shape(1);
    require(bias.ndim() == 1 && bias.shape(0) == n_out, "bias length must match W columns");
    require(prob.size() == rows * n_out && state.size() == rows * n_out, "prob and state must be (rows, W columns)");
    const T* states_ptr = states.data();
    const T* W_ptr = W.data();
    T* prob_ptr = prob.mutable_data();
    T* state_ptr = state.mutable_data();
    py::gil_scoped_release release;
    std::vector<int64_t> offsets;
    std::vector<int32_t> index;
    cpu::active_units<T>(states_ptr, rows, n_in, offsets, index);
    cpu::selected_row_sums_parallel<T>(offsets, index, rows, W_ptr, n_out, prob_ptr);
    epilogue_rows<T>(rows, n_out, prob_ptr, bias.data(), prob_ptr, state_ptr, seed, call, stream);
}

// out = scale_a a^T values_a + scale_b b^T values_b for binary a (n_a, n_k) and b (n_b, n_k).
template <typename T>
void outer_pair(carray<T> a, carray<T> values_a, double scale_a, carray<T> b, carray<T> values_b, double scale_b,
                carray<T> out) {
    require(a.ndim() == 2 && b.ndim() == 2 && values_a.ndim() == 2 && values_b.ndim() == 2 && out.ndim() == 2,
            "states, values and out must be 2-D");
    require(a.shape(0) == values_a.shape(0) && b.shape(0) == values_b.shape(0), "states and values must have the same rows");
    require(a.shape(1) == b.shape(1) && values_a.shape(1) == values_b.shape(1), "both terms must have the same shape");
    require(out.shape(0) == a.shape(1) && out.shape(1) == values_a.shape(1), "out must be (states cols, values cols)");
    const int64_t n_k = a.shape(1), n_out = values_a.shape(1);
    const T *a_ptr = a.data(), *b_ptr = b.data(), *va = values_a.data(), *vb = values_b.data();
    T* out_ptr = out.mutable_data();
    py::gil_scoped_release release;
    std::vector<int64_t> offsets, offsets_a, offsets_b;
    std::vector<int32_t> index, rows_a, rows_b;
    cpu::active_units<T>(a_ptr, a.shape(0), n_k, offsets, index);
    cpu::by_column(offsets, index, a.shape(0), n_k, offsets_a, rows_a);
    cpu::active_units<T>(b_ptr, b.shape(0), n_k, offsets, index);
    cpu::by_column(offsets, index, b.shape(0), n_k, offsets_b, rows_b);
    cpu::selected_outer_pair<T>(offsets_a, rows_a, va, (T)scale_a, offsets_b, rows_b, vb, (T)scale_b, n_k, n_out,
                                out_ptr);
}

template <typename T>
void random_binary(carray<T> state, uint64_t seed, uint32_t call) {
    const uint64_t n = (uint64_t)state.size();
    T* dst = state.mutable_data();
    py::gil_scoped_release release;
#pragma omp parallel for schedule(static) if ((int64_t)n >= cpu::kParallelWork)
    for (int64_t g = 0; g < n_groups(n); ++g) {
        coin_group<T>((uint64_t)g, n, dst, seed, call);
    }
}

template <typename T>
void free_energy(carray<T> logits, carray<T> hidden_bias, py::array_t<double, py::array::c_style> visible_term,
                 py::array_t<double, py::array::c_style> out) {
    require(logits.ndim() == 2, "logits must be 2-D");
    const int64_t rows = logits.shape(0);
    const uint64_t n_hidden = (uint64_t)logits.shape(1);
    require((uint64_t)hidden_bias.size() == n_hidden, "hidden bias length must match logits columns");
    require(visible_term.size() == rows && out.size() == rows, "one visible term and output per row");
    const T* src = logits.data();
    const T* c = hidden_bias.data();
    const double* vb = visible_term.data();
    double* dst = out.mutable_data();
    py::gil_scoped_release release;
#pragma omp parallel for schedule(static) if (rows * (int64_t)n_hidden >= cpu::kParallelWork)
    for (int64_t r = 0; r < rows; ++r) {
        dst[r] = free_energy_row<T>(src + (uint64_t)r * n_hidden, c, n_hidden, vb[r]);
    }
}

// The Gaussian visible half-step of a Gaussian-Bernoulli RBM on (rows, n_cols) arrays:
// mean = products + bias, state ~ N(mean, sigma^2). `mean` may be `products` itself.
template <typename T>
void gaussian(carray<T> products, carray<T> bias, carray<T> sigma, carray<T> mean, carray<T> state, uint64_t seed,
              uint32_t call, uint32_t stream) {
    require(products.ndim() == 2, "products must be 2-D");
    const int64_t rows = products.shape(0), n_cols = products.shape(1);
    require(bias.ndim() == 1 && bias.shape(0) == n_cols, "bias length must match products columns");
    require(sigma.ndim() == 1 && sigma.shape(0) == n_cols, "sigma length must match products columns");
    require(mean.size() == products.size() && state.size() == products.size(), "mean and state must match products");
    const T* src = products.data();
    T* mean_ptr = mean.mutable_data();
    T* state_ptr = state.mutable_data();
    py::gil_scoped_release release;
    cpu::gaussian_rows<T>(rows, n_cols, src, bias.data(), sigma.data(), mean_ptr, state_ptr, seed, call, stream);
}

// AIS log weights of n_chains chains (csrc/include/fastgen/ais.h). Wt = W^T (C order),
// visible_gain = b - base (double).
template <typename T>
py::array_t<double> ais_rbm(carray<T> W, carray<T> Wt, carray<T> b, carray<T> c, carray<T> base,
                            py::array_t<double, py::array::c_style> visible_gain,
                            py::array_t<double, py::array::c_style> betas, uint64_t seed, int64_t n_chains) {
    require(W.ndim() == 2 && Wt.ndim() == 2, "W and Wt must be 2-D");
    const int64_t nv = W.shape(0), nh = W.shape(1);
    require(Wt.shape(0) == nh && Wt.shape(1) == nv, "Wt must be W transposed");
    require(b.size() == nv && base.size() == nv && visible_gain.size() == nv, "visible vectors must match W rows");
    require(c.size() == nh, "c must match W columns");
    require(betas.ndim() == 1 && betas.size() >= 2, "betas needs at least two values");
    require(n_chains >= 1, "n_chains must be >= 1");
    const cpu::AisRun<T> run{W.data(), Wt.data(), b.data(), c.data(), base.data(), visible_gain.data(),
                             nv, nh, betas.data(), (int64_t)betas.size(), seed};
    py::array_t<double> log_w(n_chains);
    double* out = log_w.mutable_data();
    py::gil_scoped_release release;
    cpu::ais_chains<T>(run, n_chains, out);
    return log_w;
}

using darray = py::array_t<double, py::array::c_style>;

// The parameters of the Gaussian-mixture kernels (layout in gmm.h), checked against X (N, D).
template <typename T>
cpu::GmmParams<T> gmm_params(const carray<T>& X, const carray<T>& means_t, const carray<T>& prec_t, bool full,
                             const darray& bias) {
    require(X.ndim() == 2 && means_t.ndim() == 2 && means_t.shape(0) == X.shape(1), "means_t must be (X columns, K)");
    const int64_t D = X.shape(1), K = means_t.shape(1);
    require(bias.ndim() == 1 && bias.shape(0) == K, "bias must be (K,)");
    if (full) {
        require(prec_t.ndim() == 3 && prec_t.shape(0) == D && prec_t.shape(1) == D && prec_t.shape(2) == K,
                "full prec_t must be (D, D, K)");
    } else {
        require(prec_t.ndim() == 2 && prec_t.shape(0) == D && prec_t.shape(1) == K, "diagonal prec_t must be (D, K)");
    }
    return cpu::GmmParams<T>{means_t.data(), prec_t.data(), full, bias.data(), K, D};
}

// out (N, K) = log(w_k N(x_n | mean_k, cov_k)).
template <typename T>
void gmm_weighted_log_prob(carray<T> X, carray<T> means_t, carray<T> prec_t, bool full, darray bias, darray out) {
    const cpu::GmmParams<T> params = gmm_params<T>(X, means_t, prec_t, full, bias);
    require(out.ndim() == 2 && out.shape(0) == X.shape(0) && out.shape(1) == params.K, "out must be (N, K)");
    const T* x = X.data();
    double* dst = out.mutable_data();
    py::gil_scoped_release release;
    cpu::weighted_log_prob_rows<T>(x, X.shape(0), params, dst);
}

// The fused E-step: writes the statistics centred on the means into nk (K), s1 (D, K) and
// s2 (D, D, K) upper triangle (full) or (D, K) (diagonal); returns sum_n log p(x_n).
template <typename T>
double gmm_em_pass(carray<T> X, carray<T> means_t, carray<T> prec_t, bool full, darray bias, darray nk, darray s1,
                   darray s2) {
    const cpu::GmmParams<T> params = gmm_params<T>(X, means_t, prec_t, full, bias);
    const int64_t K = params.K, D = params.D;
    require(nk.size() == K && s1.size() == D * K && s2.size() == (full ? D * D * K : D * K),
            "nk, s1, s2 must be (K,), (D, K) and (D, D, K) or (D, K)");
    const T* x = X.data();
    double *nk_ptr = nk.mutable_data(), *s1_ptr = s1.mutable_data(), *s2_ptr = s2.mutable_data();
    py::gil_scoped_release release;
    const cpu::GmmStats stats = cpu::em_pass<T>(x, X.shape(0), params);
    std::copy(stats.nk.begin(), stats.nk.end(), nk_ptr);
    std::copy(stats.s1.begin(), stats.s1.end(), s1_ptr);
    std::copy(stats.s2.begin(), stats.s2.end(), s2_ptr);
    return stats.log_likelihood;
}

// One reverse-diffusion step (csrc/include/fastgen/diffusion.h) on (batch, ...) arrays
// flattened per sample; `coefficients` is the step's float64 row. Returns whether the
// model output was finite.
template <typename T>
bool diffusion_step(carray<double> coefficients, int clip_mode, int variance_mode, bool eps_from_clipped,
                    carray<T> output, std::optional<carray<T>> uncond, carray<T> sample,
                    std::optional<carray<T>> noise, carray<T> prev, std::optional<carray<T>> x0_out, uint64_t seed,
                    uint32_t call) {
    require(coefficients.size() == N_STEP_COLUMNS, "coefficients must be one row of the step layout");
    require(sample.ndim() >= 1 && sample.shape(0) > 0, "sample must have a batch dimension");
    const int64_t batch = sample.shape(0), n = sample.size() / batch;
    require(output.size() % batch == 0, "model output must have the batch of the sample");
    const int64_t stride = output.size() / batch;
    require(stride == (variance_mode == VARIANCE_FIXED ? n : 2 * n), "model output size must match the sample");
    require(!uncond || uncond->size() == output.size(), "unconditional output must match the model output");
    require(!noise || noise->size() == sample.size(), "noise must match the sample");
    require(prev.size() == sample.size() && (!x0_out || x0_out->size() == sample.size()), "outputs must match the sample");
    require(clip_mode >= CLIP_NONE && clip_mode <= CLIP_THRESHOLD, "unknown clip mode");
    require(variance_mode >= VARIANCE_FIXED && variance_mode <= VARIANCE_LEARNED_RANGE, "unknown variance mode");
    cpu::StepArrays<T> arrays{output.data(), uncond ? uncond->data() : nullptr, sample.data(),
                              noise ? noise->data() : nullptr, prev.mutable_data(),
                              x0_out ? x0_out->mutable_data() : nullptr, batch, n, stride};
    const cpu::StepSwitches switches{clip_mode, variance_mode, eps_from_clipped, seed, call};
    const double* row = coefficients.data();
    py::gil_scoped_release release;
    return cpu::diffusion_step<T>(row, switches, arrays);
}

// One DBM mean-field layer update (dbm_cpu.h): mu <- (1 - damping) sigmoid(first [+ second]
// + bias) + damping mu in place, its largest |change| folded into changes[slot]; skipped
// when the previous sweep's change is below tol (tol <= 0: never).
template <typename T>
void mean_field_update(carray<T> first, std::optional<carray<T>> second, carray<T> bias, double damping, carray<T> mu,
                       carray<T> changes, int64_t slot, double tol) {
    require(first.ndim() == 2 && mu.ndim() == 2 && first.size() == mu.size(), "first and mu must be the same shape");
    const int64_t rows = mu.shape(0), n_cols = mu.shape(1);
    require(!second || second->size() == mu.size(), "second must be the shape of mu");
    require(bias.ndim() == 1 && bias.shape(0) == n_cols, "bias length must match mu columns");
    require(changes.ndim() == 1 && slot >= 0 && slot < changes.shape(0), "slot must index changes");
    const T* first_ptr = first.data();
    const T* second_ptr = second ? second->data() : nullptr;
    T* mu_ptr = mu.mutable_data();
    T* changes_ptr = changes.mutable_data();
    py::gil_scoped_release release;
    cpu::mean_field_update<T>(rows, n_cols, first_ptr, second_ptr, bias.data(), (T)damping, mu_ptr, changes_ptr, slot,
                              (T)tol);
}

carray<float> normals(uint64_t n, uint64_t seed, uint32_t call, uint32_t stream) {
    carray<float> out(n);
    float* dst = out.mutable_data();
    py::gil_scoped_release release;
    cpu::normals(dst, n, seed, call, stream);
    return out;
}

int max_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void set_num_threads(int n) {
    require(n >= 1, "n_threads must be >= 1");
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "fastgen C++ kernels (OpenMP) over the shared headers in csrc/include/fastgen";
#ifdef _OPENMP
    m.attr("openmp") = true;
#else
    m.attr("openmp") = false;
#endif
    m.def("philox4x32_10", &philox_words, py::arg("counter"), py::arg("key"));
    m.def("uniforms", &uniforms, py::arg("n"), py::arg("seed"), py::arg("call"), py::arg("stream"));
    m.def("normals", &normals, py::arg("n"), py::arg("seed"), py::arg("call"), py::arg("stream"));
    m.attr("N_STEP_COLUMNS") = (int)N_STEP_COLUMNS;
    m.def("get_num_threads", &max_threads);
    m.def("set_num_threads", &set_num_threads, py::arg("n"));
#define FASTGEN_BIND_FLOAT(T)                                                                          \
    m.def("bernoulli_logits", &bernoulli_logits<T>, py::arg("logits").noconvert(),                    \
          py::arg("bias").noconvert(), py::arg("prob").noconvert(), py::arg("state").noconvert(),     \
          py::arg("seed"), py::arg("call"), py::arg("stream"));                                         \
    m.def("bernoulli_binary", &bernoulli_binary<T>, py::arg("states").noconvert(), py::arg("W").noconvert(),     \
          py::arg("bias").noconvert(), py::arg("prob").noconvert(), py::arg("state").noconvert(),     \
          py::arg("seed"), py::arg("call"), py::arg("stream"));                                         \
    m.def("outer_pair", &outer_pair<T>, py::arg("a").noconvert(), py::arg("values_a").noconvert(),     \
          py::arg("scale_a"), py::arg("b").noconvert(), py::arg("values_b").noconvert(),                 \
          py::arg("scale_b"), py::arg("out").noconvert());                                              \
    m.def("random_binary", &random_binary<T>, py::arg("state").noconvert(), py::arg("seed"),          \
          py::arg("call"));                                                                             \
    m.def("free_energy", &free_energy<T>, py::arg("logits").noconvert(),                              \
          py::arg("hidden_bias").noconvert(), py::arg("visible_term").noconvert(),                    \
          py::arg("out").noconvert());                                                                  \
    m.def("gaussian", &gaussian<T>, py::arg("products").noconvert(), py::arg("bias").noconvert(),          \
          py::arg("sigma").noconvert(), py::arg("mean").noconvert(), py::arg("state").noconvert(),     \
          py::arg("seed"), py::arg("call"), py::arg("stream"));                                         \
    m.def("ais_rbm", &ais_rbm<T>, py::arg("W").noconvert(), py::arg("Wt").noconvert(),                 \
          py::arg("b").noconvert(), py::arg("c").noconvert(), py::arg("base").noconvert(),            \
          py::arg("visible_gain").noconvert(), py::arg("betas").noconvert(), py::arg("seed"),         \
          py::arg("n_chains"));                                                                   \
    m.def("mean_field_update", &mean_field_update<T>, py::arg("first").noconvert(),                  \
          py::arg("second").noconvert(), py::arg("bias").noconvert(), py::arg("damping"),             \
          py::arg("mu").noconvert(), py::arg("changes").noconvert(), py::arg("slot"), py::arg("tol"));   \
    m.def("gmm_weighted_log_prob", &gmm_weighted_log_prob<T>, py::arg("X").noconvert(),                \
          py::arg("means_t").noconvert(), py::arg("prec_t").noconvert(), py::arg("full"),             \
          py::arg("bias").noconvert(), py::arg("out").noconvert());                                     \
    m.def("gmm_em_pass", &gmm_em_pass<T>, py::arg("X").noconvert(), py::arg("means_t").noconvert(),    \
          py::arg("prec_t").noconvert(), py::arg("full"), py::arg("bias").noconvert(),              \
          py::arg("nk").noconvert(), py::arg("s1").noconvert(), py::arg("s2").noconvert());                \
    m.def("diffusion_step", &diffusion_step<T>, py::arg("coefficients").noconvert(), py::arg("clip_mode"),  \
          py::arg("variance_mode"), py::arg("eps_from_clipped"), py::arg("output").noconvert(),                 \
          py::arg("uncond").noconvert(), py::arg("sample").noconvert(), py::arg("noise").noconvert(),          \
          py::arg("prev").noconvert(), py::arg("x0_out").noconvert(), py::arg("seed"), py::arg("call"));
    FASTGEN_BIND_FLOAT(float)
    FASTGEN_BIND_FLOAT(double)
#undef FASTGEN_BIND_FLOAT
}
