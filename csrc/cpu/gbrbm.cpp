// fastgen._core.gbrbm: the Gaussian-Bernoulli RBM's visible half-step
// (csrc/include/fastgen/gbrbm.h; loop in cpu/gbrbm.h).
#include "bindings.h"
#include "gbrbm.h"

using namespace fastgen;

namespace {

// The Gaussian visible half-step of a Gaussian-Bernoulli RBM on (rows, n_cols) arrays:
// mean = products + bias, state ~ N(mean, sigma^2). `mean` may be `products` itself. Row r
// draws as row first_row + r of the draw.
template <typename T>
void gaussian(carray<T> products, carray<T> bias, carray<T> sigma, carray<T> mean, carray<T> state, uint64_t seed,
              uint32_t call, uint32_t stream, uint64_t first_row) {
    require(products.ndim() == 2, "products must be 2-D");
    const int64_t rows = products.shape(0), n_cols = products.shape(1);
    require(bias.ndim() == 1 && bias.shape(0) == n_cols, "bias length must match products columns");
    require(sigma.ndim() == 1 && sigma.shape(0) == n_cols, "sigma length must match products columns");
    require(mean.size() == products.size() && state.size() == products.size(), "mean and state must match products");
    const T* src = products.data();
    T* mean_ptr = mean.mutable_data();
    T* state_ptr = state.mutable_data();
    py::gil_scoped_release release;
    cpu::gaussian_rows<T>(rows, n_cols, src, bias.data(), sigma.data(), mean_ptr, state_ptr, seed, call, stream,
                            first_row);
}

// The float and double overloads (float registered first).
template <typename T>
void def_gbrbm_floats(py::module_& g) {
    g.def("gaussian", &gaussian<T>, py::arg("products").noconvert(), py::arg("bias").noconvert(),
          py::arg("sigma").noconvert(), py::arg("mean").noconvert(), py::arg("state").noconvert(),
          py::arg("seed"), py::arg("call"), py::arg("stream"), py::arg("first_row") = 0);
}

}  // namespace

void bind_gbrbm(py::module_& m) {
    py::module_ g = m.def_submodule("gbrbm", "Gaussian-Bernoulli RBM: the Gaussian visible half-step");
    def_gbrbm_floats<float>(g);
    def_gbrbm_floats<double>(g);
}
