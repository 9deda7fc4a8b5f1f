// fastgen._core.dbm: the DBM mean-field layer update (csrc/include/fastgen/dbm.h; loop in cpu/dbm.h).
#include <optional>

#include "bindings.h"
#include "dbm.h"

using namespace fastgen;

namespace {

// One DBM mean-field layer update (cpu/dbm.h): mu <- (1 - damping) sigmoid(first [+ second]
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

// The float and double overloads (float registered first).
template <typename T>
void def_dbm_floats(py::module_& d) {
    d.def("mean_field_update", &mean_field_update<T>, py::arg("first").noconvert(),
          py::arg("second").noconvert(), py::arg("bias").noconvert(), py::arg("damping"),
          py::arg("mu").noconvert(), py::arg("changes").noconvert(), py::arg("slot"), py::arg("tol"));
}

}  // namespace

void bind_dbm(py::module_& m) {
    py::module_ d = m.def_submodule("dbm", "deep Boltzmann machine: the mean-field layer update");
    def_dbm_floats<float>(d);
    def_dbm_floats<double>(d);
}
