// fastgen._core: OpenMP loops over the shared per-element math in csrc/include/fastgen,
// one submodule per family (random, rbm, gbrbm, dbm, gmm, diffusion), each bound by the
// bind_<family> of its own file (bindings.h).
#include <pybind11/pybind11.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "bindings.h"

namespace {

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
    m.def("get_num_threads", &max_threads);
    m.def("set_num_threads", &set_num_threads, py::arg("n"));
    bind_random(m);
    bind_rbm(m);
    bind_gbrbm(m);
    bind_dbm(m);
    bind_gmm(m);
    bind_diffusion(m);
    bind_mmd(m);
    bind_nade(m);
}
