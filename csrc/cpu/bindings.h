// What the binding files of fastgen._core share: each family's file (random.cpp, rbm.cpp,
// gbrbm.cpp, dbm.cpp, gmm.cpp, diffusion.cpp) binds its functions into a submodule of
// _core through its bind_<family>, which module.cpp calls.
// Python validates shapes, dtypes and contiguity before calling in; the functions bound
// check only what protects memory, and release the GIL while they run.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // in every binding file alike: std::array and std::optional arguments

#include <stdexcept>

namespace py = pybind11;

template <typename T>
using carray = py::array_t<T, py::array::c_style>;

inline void require(bool ok, const char* message) {
    if (!ok) {
        throw std::invalid_argument(message);
    }
}

void bind_random(py::module_& m);
void bind_rbm(py::module_& m);
void bind_gbrbm(py::module_& m);
void bind_dbm(py::module_& m);
void bind_gmm(py::module_& m);
void bind_diffusion(py::module_& m);
void bind_mmd(py::module_& m);
void bind_nade(py::module_& m);
