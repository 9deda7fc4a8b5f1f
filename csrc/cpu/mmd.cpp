// fastgen._core.mmd: the MMD kernels' tile and pair passes (csrc/include/fastgen/mmd.h;
// loops in cpu/mmd.h). The dot products come in from a GEMM (fastgen/mmd/_loops.py).
#include "bindings.h"
#include "mmd.h"

using namespace fastgen;

namespace {

using darray = py::array_t<double, py::array::c_style>;

cpu::MmdKernelParams kernel_params(int kind, const darray& params) {
    require(kind >= MMD_GAUSSIAN && kind <= MMD_POLYNOMIAL, "kind must be an MmdKernel");
    require(params.ndim() == 1 && params.shape(0) >= (kind == MMD_POLYNOMIAL ? 3 : 1),
            "params must be (n_params,) with 3 values for the polynomial kernel, >= 1 otherwise");
    return cpu::MmdKernelParams{kind, params.data(), params.shape(0)};
}

template <typename T>
void check_tile(const carray<T>& G, const darray& x_norm, const darray& y_norm, int diagonal) {
    require(G.ndim() == 2 && x_norm.ndim() == 1 && y_norm.ndim() == 1 && x_norm.shape(0) == G.shape(0) &&
                y_norm.shape(0) == G.shape(1),
            "G must be (rows, cols), x_norm (rows,) and y_norm (cols,)");
    require(diagonal >= MMD_DIAGONAL_NONE && diagonal <= MMD_DIAGONAL_EXCLUDE, "diagonal must be an MmdDiagonal");
    require(diagonal == MMD_DIAGONAL_NONE || G.shape(0) == G.shape(1), "a diagonal tile must be square");
}

template <typename T>
void check_pairs(const carray<T>& g, const darray& a_norm, const darray& b_norm) {
    require(g.ndim() == 1 && a_norm.ndim() == 1 && b_norm.ndim() == 1 && a_norm.shape(0) == g.shape(0) &&
                b_norm.shape(0) == g.shape(0),
            "g, a_norm and b_norm must be (n,)");
}

template <typename T>
double mmd_tile_sum(carray<T> G, darray x_norm, darray y_norm, int kind, darray params, int diagonal) {
    check_tile<T>(G, x_norm, y_norm, diagonal);
    const cpu::MmdKernelParams k = kernel_params(kind, params);
    py::gil_scoped_release release;
    return cpu::tile_sum<T>(G.data(), G.shape(0), G.shape(1), x_norm.data(), y_norm.data(), k, diagonal);
}

template <typename T>
void mmd_tile_weights(carray<T> G, darray x_norm, darray y_norm, int kind, darray params, int diagonal) {
    check_tile<T>(G, x_norm, y_norm, diagonal);
    const cpu::MmdKernelParams k = kernel_params(kind, params);
    T* g = G.mutable_data();
    py::gil_scoped_release release;
    cpu::tile_weights<T>(g, G.shape(0), G.shape(1), x_norm.data(), y_norm.data(), k, diagonal);
}

template <typename T>
double mmd_pair_sum(carray<T> g, darray a_norm, darray b_norm, int kind, darray params) {
    check_pairs<T>(g, a_norm, b_norm);
    const cpu::MmdKernelParams k = kernel_params(kind, params);
    py::gil_scoped_release release;
    return cpu::pair_sum<T>(g.data(), a_norm.data(), b_norm.data(), g.shape(0), k);
}

template <typename T>
void mmd_pair_weights(carray<T> g, darray a_norm, darray b_norm, int kind, darray params) {
    check_pairs<T>(g, a_norm, b_norm);
    const cpu::MmdKernelParams k = kernel_params(kind, params);
    T* values = g.mutable_data();
    py::gil_scoped_release release;
    cpu::pair_weights<T>(values, a_norm.data(), b_norm.data(), g.shape(0), k);
}

// The float and double overloads (float registered first).
template <typename T>
void def_mmd_floats(py::module_& m) {
    m.def("tile_sum", &mmd_tile_sum<T>, py::arg("G").noconvert(), py::arg("x_norm").noconvert(),
          py::arg("y_norm").noconvert(), py::arg("kind"), py::arg("params").noconvert(), py::arg("diagonal"));
    m.def("tile_weights", &mmd_tile_weights<T>, py::arg("G").noconvert(), py::arg("x_norm").noconvert(),
          py::arg("y_norm").noconvert(), py::arg("kind"), py::arg("params").noconvert(), py::arg("diagonal"));
    m.def("pair_sum", &mmd_pair_sum<T>, py::arg("g").noconvert(), py::arg("a_norm").noconvert(),
          py::arg("b_norm").noconvert(), py::arg("kind"), py::arg("params").noconvert());
    m.def("pair_weights", &mmd_pair_weights<T>, py::arg("g").noconvert(), py::arg("a_norm").noconvert(),
          py::arg("b_norm").noconvert(), py::arg("kind"), py::arg("params").noconvert());
}

}  // namespace

void bind_mmd(py::module_& m) {
    py::module_ s = m.def_submodule("mmd", "MMD kernels: fused kernel-and-reduce passes over GEMM tiles of dot products");
    def_mmd_floats<float>(s);
    def_mmd_floats<double>(s);
}
