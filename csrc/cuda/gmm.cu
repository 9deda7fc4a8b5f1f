// Gaussian-mixture E-step kernels, compiled at run time by NVRTC (CuPy RawModule) with
// csrc/include on the include path. One thread per point runs the per-point math of
// fastgen/gmm.h one component at a time (its scratch, D + 2 values, in dynamic shared
// memory); the sufficient statistics are then reduced by cuBLAS GEMMs (fastgen/gmm/_cuda.py).
// The k-means of the "kmeans" initialisation: one thread per point evaluates squared_distance
// and nearest_centre of gmm.h (the CPU loops' per-point math); fastgen/gmm/_cuda.py draws the
// seeds and sums the clusters with CuPy.
#include "fastgen/gmm.h"

using namespace fastgen;

// out (N, K): the weighted log densities; with `normalise`, the responsibilities instead
// and log_norm[n] = log p(x_n), both times the sample weight weights[n] when `weighted`
// (weighted_responsibilities of gmm.h).
template <typename T>
__device__ void estep_impl(const T* X, const T* means_t, const T* prec_t, bool full, const double* bias,
                           uint64_t N, int64_t K, int64_t D, bool normalise, const double* weights, bool weighted,
                           double* out, double* log_norm) {
    extern __shared__ unsigned char shared_bytes[];
    T* work = reinterpret_cast<T*>(shared_bytes) + (uint64_t)threadIdx.x * (uint64_t)weighted_log_prob_work(full, D, 1);
    for (uint64_t n = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; n < N; n += (uint64_t)gridDim.x * blockDim.x) {
        double* row = out + n * (uint64_t)K;
        for (int64_t k = 0; k < K; ++k) {
            weighted_log_prob<T>(X + n * (uint64_t)D, means_t, prec_t, full, bias, K, D, k, k + 1, work, row + k);
        }
        if (normalise) {
            log_norm[n] = weighted ? weighted_responsibilities(row, K, weights[n]) : responsibilities(row, K);
        }
    }
}

extern "C" {

__global__ void gmm_estep_f32(const float* X, const float* means_t, const float* prec_t, bool full,
                              const double* bias, uint64_t N, int64_t K, int64_t D, bool normalise,
                              const double* weights, bool weighted, double* out, double* log_norm) {
    estep_impl<float>(X, means_t, prec_t, full, bias, N, K, D, normalise, weights, weighted, out, log_norm);
}

__global__ void gmm_estep_f64(const double* X, const double* means_t, const double* prec_t, bool full,
                              const double* bias, uint64_t N, int64_t K, int64_t D, bool normalise,
                              const double* weights, bool weighted, double* out, double* log_norm) {
    estep_impl<double>(X, means_t, prec_t, full, bias, N, K, D, normalise, weights, weighted, out, log_norm);
}

}  // extern "C"

// out (C, N): squared distances of the N points to the C centres (C, D) (k-means++ candidates).
template <typename T>
__device__ void kmeans_distances_impl(const T* X, uint64_t N, int64_t D, const double* centres, int64_t C,
                                      double* out) {
    for (uint64_t n = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; n < N; n += (uint64_t)gridDim.x * blockDim.x) {
        for (int64_t c = 0; c < C; ++c) out[(uint64_t)c * N + n] = squared_distance<T>(X + n * (uint64_t)D, centres + c * D, D);
    }
}

// labels (N) and distances (N): the nearest of the K centres (K, D) to each point (a Lloyd iteration).
template <typename T>
__device__ void kmeans_assign_impl(const T* X, uint64_t N, int64_t D, const double* centres, int64_t K,
                                   int64_t* labels, double* distances) {
    for (uint64_t n = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; n < N; n += (uint64_t)gridDim.x * blockDim.x) {
        labels[n] = nearest_centre<T>(X + n * (uint64_t)D, centres, K, D, distances + n);
    }
}

extern "C" {

__global__ void gmm_kmeans_distances_f32(const float* X, uint64_t N, int64_t D, const double* centres, int64_t C,
                                         double* out) {
    kmeans_distances_impl<float>(X, N, D, centres, C, out);
}

__global__ void gmm_kmeans_distances_f64(const double* X, uint64_t N, int64_t D, const double* centres, int64_t C,
                                         double* out) {
    kmeans_distances_impl<double>(X, N, D, centres, C, out);
}

__global__ void gmm_kmeans_assign_f32(const float* X, uint64_t N, int64_t D, const double* centres, int64_t K,
                                      int64_t* labels, double* distances) {
    kmeans_assign_impl<float>(X, N, D, centres, K, labels, distances);
}

__global__ void gmm_kmeans_assign_f64(const double* X, uint64_t N, int64_t D, const double* centres, int64_t K,
                                      int64_t* labels, double* distances) {
    kmeans_assign_impl<double>(X, N, D, centres, K, labels, distances);
}

}  // extern "C"
