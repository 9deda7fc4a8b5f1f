// DBM mean-field epilogue kernels, compiled at run time by NVRTC (CuPy RawModule) with
// csrc/include on the include path. One launch per layer update, after the cuBLAS
// products; the largest |change| of a sweep stays on the device (changes[slot]), so that
// sweeps never wait for the host (see mean_field_converged in fastgen/dbm.h).
#include "fastgen/dbm.h"

using namespace fastgen;

// *address = max(*address, value) for non-negative values, whose bit patterns order like
// the numbers. `value + 0` turns a -0 into +0, whose pattern would otherwise be the largest.
__device__ void atomic_max_nonnegative(float* address, float value) {
    atomicMax(reinterpret_cast<unsigned int*>(address), __float_as_uint(value + 0.0f));
}

__device__ void atomic_max_nonnegative(double* address, double value) {
    atomicMax(reinterpret_cast<unsigned long long*>(address), (unsigned long long)__double_as_longlong(value + 0.0));
}

// Elements of a (n / n_cols, n_cols) layer, grid-stride; each warp folds its largest
// change into changes[slot] with one atomic. Every thread of a warp reaches the shuffles:
// the convergence test is the same for the whole grid.
template <typename T>
__device__ void mean_field_update_impl(const T* first, const T* second, const T* bias, T damping, T* mu, T* changes,
                                       int64_t slot, T tol, uint64_t n, uint64_t n_cols) {
    if (mean_field_converged<T>(changes, slot, tol)) {
        return;
    }
    T largest = T(0);
    for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (uint64_t)gridDim.x * blockDim.x) {
        const T input = second != nullptr ? (T)(first[i] + second[i]) : first[i];
        const T change = mean_field_unit<T>(input, bias[i % n_cols], damping, mu[i]);
        largest = change > largest ? change : largest;
    }
    for (int offset = 16; offset > 0; offset >>= 1) {
        const T other = __shfl_down_sync(0xffffffffu, largest, offset);
        largest = other > largest ? other : largest;
    }
    if ((threadIdx.x & 31u) == 0 && largest > T(0)) {
        atomic_max_nonnegative(changes + slot, largest);
    }
}

extern "C" {

__global__ void mean_field_update_f32(const float* first, const float* second, const float* bias, float damping,
                                      float* mu, float* changes, int64_t slot, float tol, uint64_t n,
                                      uint64_t n_cols) {
    mean_field_update_impl<float>(first, second, bias, damping, mu, changes, slot, tol, n, n_cols);
}

__global__ void mean_field_update_f64(const double* first, const double* second, const double* bias,
                                      double damping, double* mu, double* changes, int64_t slot, double tol,
                                      uint64_t n, uint64_t n_cols) {
    mean_field_update_impl<double>(first, second, bias, damping, mu, changes, slot, tol, n, n_cols);
}

}  // extern "C"
