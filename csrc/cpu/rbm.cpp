// fastgen._core.rbm: the binary RBM kernels (csrc/include/fastgen/rbm.h; loops in cpu/rbm.h),
// AIS included.
#include <vector>

#include "bindings.h"
#include "rbm.h"

using namespace fastgen;

namespace {

// Epilogue rows [0, rows) of (rows, n_cols) arrays: prob = sigmoid(logits + bias),
// state ~ Bernoulli(prob). `prob` may be `logits` itself. Row r draws as row first_row + r
// of a whole batch (first_row > 0: a block of a batch split over processes).
template <typename T>
void epilogue_rows(int64_t rows, int64_t n_cols, const T* logits, const T* bias, T* prob, T* state, uint64_t seed,
                   uint32_t call, uint32_t stream, uint64_t first_row) {
    const int n_threads = cpu::team_size(rows * n_cols >= cpu::kParallelWork);
    cpu::ThreadBuffers<cpu::RowScratch<T>> scratch(n_threads, n_cols);
#pragma omp parallel num_threads(n_threads)
    {
        cpu::RowScratch<T>& mine = scratch.mine();
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t at = r * n_cols;
            cpu::bernoulli_row<T>((first_row + (uint64_t)r) * (uint64_t)n_cols, (uint64_t)n_cols, logits + at, bias, prob + at, state + at, seed, call,
                                  stream, mine);
        }
    }
}

template <typename T>
void bernoulli_logits(carray<T> logits, carray<T> bias, carray<T> prob, carray<T> state,
                      uint64_t seed, uint32_t call, uint32_t stream, uint64_t first_row) {
    require(logits.ndim() == 2, "logits must be 2-D");
    const int64_t rows = logits.shape(0), n_cols = logits.shape(1);
    require(bias.ndim() == 1 && bias.shape(0) == n_cols, "bias length must match logits columns");
    require(prob.size() == logits.size() && state.size() == logits.size(), "prob and state must match logits");
    const T* src = logits.data();
    T* prob_ptr = prob.mutable_data();
    T* state_ptr = state.mutable_data();
    py::gil_scoped_release release;
    epilogue_rows<T>(rows, n_cols, src, bias.data(), prob_ptr, state_ptr, seed, call, stream, first_row);
}

// The same draws with logits = states @ W for binary `states` (n, n_in) and W (n_in, n_out),
// the product formed as sums of the selected rows of W.
template <typename T>
void bernoulli_binary(carray<T> states, carray<T> W, carray<T> bias, carray<T> prob, carray<T> state, uint64_t seed,
                      uint32_t call, uint32_t stream, uint64_t first_row) {
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
    std::vector<int64_t> index;
    cpu::active_units<T>(states_ptr, rows, n_in, offsets, index);
    cpu::selected_row_sums_parallel<T>(offsets, index, rows, W_ptr, n_out, prob_ptr);
    epilogue_rows<T>(rows, n_out, prob_ptr, bias.data(), prob_ptr, state_ptr, seed, call, stream, first_row);
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
    std::vector<int64_t> index, rows_a, rows_b;
    cpu::active_units<T>(a_ptr, a.shape(0), n_k, offsets, index);
    cpu::by_column(offsets, index, a.shape(0), n_k, offsets_a, rows_a);
    cpu::active_units<T>(b_ptr, b.shape(0), n_k, offsets, index);
    cpu::by_column(offsets, index, b.shape(0), n_k, offsets_b, rows_b);
    cpu::selected_outer_pair<T>(offsets_a, rows_a, va, (T)scale_a, offsets_b, rows_b, vb, (T)scale_b, n_k, n_out,
                                out_ptr);
}

// out[r] = free_energy_row of row r at scale row_scale[r] (the tempered free energies of the
// replica exchange; ones for the model's own).
template <typename T>
void free_energy(carray<T> logits, carray<T> hidden_bias, carray<T> row_scale,
                 py::array_t<double, py::array::c_style> visible_term, py::array_t<double, py::array::c_style> out) {
    require(logits.ndim() == 2, "logits must be 2-D");
    const int64_t rows = logits.shape(0), n_hidden = logits.shape(1);
    require(hidden_bias.size() == n_hidden, "hidden bias length must match logits columns");
    require(row_scale.size() == rows && visible_term.size() == rows && out.size() == rows,
            "one scale, visible term and output per row");
    const T *src = logits.data(), *c = hidden_bias.data(), *scale = row_scale.data();
    const double* vb = visible_term.data();
    double* dst = out.mutable_data();
    py::gil_scoped_release release;
    cpu::free_energy_rows<T>(src, c, scale, vb, rows, n_hidden, dst);
}

// AIS log weights of chains first_chain .. first_chain + n_chains - 1 (csrc/include/fastgen/rbm.h).
// Wt = W^T (C order), visible_gain = b - base (double).
template <typename T>
py::array_t<double> ais_rbm(carray<T> W, carray<T> Wt, carray<T> b, carray<T> c, carray<T> base,
                            py::array_t<double, py::array::c_style> visible_gain,
                            py::array_t<double, py::array::c_style> betas, uint64_t seed, int64_t n_chains,
                            int64_t first_chain) {
    require(W.ndim() == 2 && Wt.ndim() == 2, "W and Wt must be 2-D");
    const int64_t nv = W.shape(0), nh = W.shape(1);
    require(Wt.shape(0) == nh && Wt.shape(1) == nv, "Wt must be W transposed");
    require(b.size() == nv && base.size() == nv && visible_gain.size() == nv, "visible vectors must match W rows");
    require(c.size() == nh, "c must match W columns");
    require(betas.ndim() == 1 && betas.size() >= 2, "betas needs at least two values");
    require(n_chains >= 1, "n_chains must be >= 1");
    require(first_chain >= 0, "first_chain must be >= 0");
    const cpu::AisRun<T> run{W.data(), Wt.data(), b.data(), c.data(), base.data(), visible_gain.data(),
                             nv, nh, betas.data(), (int64_t)betas.size(), seed};
    py::array_t<double> log_w(n_chains);
    double* out = log_w.mutable_data();
    py::gil_scoped_release release;
    cpu::ais_chains<T>(run, first_chain, n_chains, out);
    return log_w;
}

// The float and double overloads (float registered first).
template <typename T>
void def_rbm_floats(py::module_& r) {
    r.def("bernoulli_logits", &bernoulli_logits<T>, py::arg("logits").noconvert(),
          py::arg("bias").noconvert(), py::arg("prob").noconvert(), py::arg("state").noconvert(),
          py::arg("seed"), py::arg("call"), py::arg("stream"), py::arg("first_row") = 0);
    r.def("bernoulli_binary", &bernoulli_binary<T>, py::arg("states").noconvert(), py::arg("W").noconvert(),
          py::arg("bias").noconvert(), py::arg("prob").noconvert(), py::arg("state").noconvert(),
          py::arg("seed"), py::arg("call"), py::arg("stream"), py::arg("first_row") = 0);
    r.def("outer_pair", &outer_pair<T>, py::arg("a").noconvert(), py::arg("values_a").noconvert(),
          py::arg("scale_a"), py::arg("b").noconvert(), py::arg("values_b").noconvert(),
          py::arg("scale_b"), py::arg("out").noconvert());
    r.def("free_energy", &free_energy<T>, py::arg("logits").noconvert(),
          py::arg("hidden_bias").noconvert(), py::arg("row_scale").noconvert(), py::arg("visible_term").noconvert(),
          py::arg("out").noconvert());
    r.def("ais_rbm", &ais_rbm<T>, py::arg("W").noconvert(), py::arg("Wt").noconvert(),
          py::arg("b").noconvert(), py::arg("c").noconvert(), py::arg("base").noconvert(),
          py::arg("visible_gain").noconvert(), py::arg("betas").noconvert(), py::arg("seed"),
          py::arg("n_chains"), py::arg("first_chain") = 0);
}

}  // namespace

void bind_rbm(py::module_& m) {
    py::module_ r = m.def_submodule("rbm", "binary RBM: Bernoulli epilogues, CD weight gradient, free energy, AIS");
    def_rbm_floats<float>(r);
    def_rbm_floats<double>(r);
}
