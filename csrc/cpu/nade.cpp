// fastgen._core.nade: NADE's log-likelihood, its gradient and ancestral sampling
// (csrc/include/fastgen/nade.h; loops in cpu/nade.h).
#include "bindings.h"
#include "nade.h"

using namespace fastgen;

namespace {

using darray = py::array_t<double, py::array::c_style>;

// The model's arrays, checked against each other: W and V (D, H), b (D,), c (H,).
template <typename T>
cpu::NadeModel<T> nade_model(const carray<T>& W, const carray<T>& V, const carray<T>& b, const carray<T>& c) {
    require(W.ndim() == 2 && V.ndim() == 2 && V.shape(0) == W.shape(0) && V.shape(1) == W.shape(1),
            "W and V must be (D, H)");
    require(b.ndim() == 1 && b.shape(0) == W.shape(0) && c.ndim() == 1 && c.shape(0) == W.shape(1),
            "b must be (D,) and c (H,)");
    return cpu::NadeModel<T>{W.data(), V.data(), b.data(), c.data(), W.shape(0), W.shape(1)};
}

template <typename T>
void require_rows(const carray<T>& v, const cpu::NadeModel<T>& m) {
    require(v.ndim() == 2 && v.shape(1) == m.D, "v must be (n, D)");
}

template <typename T>
void log_likelihood(carray<T> v, carray<T> W, carray<T> V, carray<T> b, carray<T> c, darray out) {
    const cpu::NadeModel<T> m = nade_model(W, V, b, c);
    require_rows(v, m);
    require(out.ndim() == 1 && out.shape(0) == v.shape(0), "out must be (n,)");
    const T* rows = v.data();
    double* dst = out.mutable_data();
    py::gil_scoped_release release;
    cpu::log_likelihood<T>(m, rows, v.shape(0), dst);
}

template <typename T>
void gradient(carray<T> v, carray<T> W, carray<T> V, carray<T> b, carray<T> c, T scale, carray<T> grad,
              darray log_p) {
    const cpu::NadeModel<T> m = nade_model(W, V, b, c);
    require_rows(v, m);
    require(grad.ndim() == 1 && grad.shape(0) == 2 * m.D * m.H + m.D + m.H, "grad must be (2 D H + D + H,)");
    require(log_p.ndim() == 1 && log_p.shape(0) == v.shape(0), "log_p must be (n,)");
    const T* rows = v.data();
    T* g = grad.mutable_data();
    double* lp = log_p.mutable_data();
    py::gil_scoped_release release;
    cpu::gradient<T>(m, rows, v.shape(0), scale, g, lp);
}

template <typename T>
void sample(carray<T> out, carray<T> W, carray<T> V, carray<T> b, carray<T> c, uint64_t seed, uint32_t call) {
    const cpu::NadeModel<T> m = nade_model(W, V, b, c);
    require_rows(out, m);
    T* dst = out.mutable_data();
    py::gil_scoped_release release;
    cpu::sample<T>(m, out.shape(0), dst, seed, call);
}

// The float and double overloads (float registered first).
template <typename T>
void def_nade_floats(py::module_& n) {
    n.def("log_likelihood", &log_likelihood<T>, py::arg("v").noconvert(), py::arg("W").noconvert(),
          py::arg("V").noconvert(), py::arg("b").noconvert(), py::arg("c").noconvert(), py::arg("out").noconvert());
    n.def("gradient", &gradient<T>, py::arg("v").noconvert(), py::arg("W").noconvert(), py::arg("V").noconvert(),
          py::arg("b").noconvert(), py::arg("c").noconvert(), py::arg("scale"), py::arg("grad").noconvert(),
          py::arg("log_p").noconvert());
    n.def("sample", &sample<T>, py::arg("out").noconvert(), py::arg("W").noconvert(), py::arg("V").noconvert(),
          py::arg("b").noconvert(), py::arg("c").noconvert(), py::arg("seed"), py::arg("call"));
}

}  // namespace

void bind_nade(py::module_& m) {
    py::module_ n = m.def_submodule("nade", "NADE: exact log-likelihood, its gradient, ancestral sampling");
    def_nade_floats<float>(n);
    def_nade_floats<double>(n);
}
