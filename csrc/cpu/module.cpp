// fastgen._core: OpenMP loops over the shared per-element math in csrc/include/fastgen.
// Python validates shapes, dtypes and contiguity before calling in; the functions here
// check only what protects memory, and release the GIL while they run.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <cstdint>
#include <stdexcept>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "fastgen/philox.h"
#include "fastgen/rbm.h"

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
    {
        py::gil_scoped_release release;
#pragma omp parallel for schedule(static)
        for (int64_t g = 0; g < n_groups(n); ++g) {
            const u32x4 words = philox_block(seed, call, stream, (uint64_t)g);
            for (uint64_t k = 0; k < 4 && (uint64_t)g * 4 + k < n; ++k) {
                dst[g * 4 + k] = uniform_open01(words.v[k]);
            }
        }
    }
    return out;
}

template <typename T>
void bernoulli_logits(carray<T> logits, carray<T> bias, carray<T> prob, carray<T> state,
                      uint64_t seed, uint32_t call, uint32_t stream) {
    require(logits.ndim() == 2, "logits must be 2-D");
    const uint64_t n_cols = (uint64_t)logits.shape(1);
    const uint64_t n = (uint64_t)logits.size();
    require(bias.ndim() == 1 && (uint64_t)bias.shape(0) == n_cols, "bias length must match logits columns");
    require((uint64_t)prob.size() == n && (uint64_t)state.size() == n, "prob and state must match logits");
    const T* src = logits.data();
    const T* bias_ptr = bias.data();
    T* prob_ptr = prob.mutable_data();
    T* state_ptr = state.mutable_data();
    py::gil_scoped_release release;
#pragma omp parallel for schedule(static)
    for (int64_t g = 0; g < n_groups(n); ++g) {
        bernoulli_group<T>((uint64_t)g, n, n_cols, src, bias_ptr, prob_ptr, state_ptr, seed, call, stream);
    }
}

template <typename T>
void random_binary(carray<T> state, uint64_t seed, uint32_t call) {
    const uint64_t n = (uint64_t)state.size();
    T* dst = state.mutable_data();
    py::gil_scoped_release release;
#pragma omp parallel for schedule(static)
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
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
        dst[r] = free_energy_row<T>(src + (uint64_t)r * n_hidden, c, n_hidden, vb[r]);
    }
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
    m.def("get_num_threads", &max_threads);
    m.def("set_num_threads", &set_num_threads, py::arg("n"));
#define FASTGEN_BIND_FLOAT(T)                                                                          \
    m.def("bernoulli_logits", &bernoulli_logits<T>, py::arg("logits").noconvert(),                    \
          py::arg("bias").noconvert(), py::arg("prob").noconvert(), py::arg("state").noconvert(),     \
          py::arg("seed"), py::arg("call"), py::arg("stream"));                                         \
    m.def("random_binary", &random_binary<T>, py::arg("state").noconvert(), py::arg("seed"),          \
          py::arg("call"));                                                                             \
    m.def("free_energy", &free_energy<T>, py::arg("logits").noconvert(),                              \
          py::arg("hidden_bias").noconvert(), py::arg("visible_term").noconvert(),                    \
          py::arg("out").noconvert());
    FASTGEN_BIND_FLOAT(float)
    FASTGEN_BIND_FLOAT(double)
#undef FASTGEN_BIND_FLOAT
}
