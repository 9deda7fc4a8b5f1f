// Gaussian-mixture E-step kernels, compiled at run time by NVRTC (CuPy RawModule) with
// csrc/include on the include path. One thread per point runs the per-point math of
// fastgen/gmm.h one component at a time (its scratch, D + 2 values, in dynamic shared
// memory); the sufficient statistics are then reduced by cuBLAS GEMMs (fastgen/gmm/_cuda.py).
// The k-means of the "kmeans" initialisation: one thread per point evaluates squared_distance
// and nearest_centre of gmm.h (the CPU loops' per-point math); fastgen/gmm/_cuda.py draws the
// seeds and sums the clusters with CuPy.
#include "fastgen/gmm.h"

using namespace fastgen;

// row (K) = the weighted log densities of point x (D), one component at a time through the
// thread's scratch `work` (weighted_log_prob_work of gmm.h for one component).
template <typename T>
__device__ void point_log_prob(const T* x, const T* means_t, const T* prec_t, bool full, const double* bias,
                               int64_t K, int64_t D, T* work, double* row) {
    for (int64_t k = 0; k < K; ++k) weighted_log_prob<T>(x, means_t, prec_t, full, bias, K, D, k, k + 1, work, row + k);
}

// The calling thread's scratch for point_log_prob, in dynamic shared memory.
template <typename T>
__device__ T* thread_work(bool full, int64_t D) {
    extern __shared__ unsigned char shared_bytes[];
    return reinterpret_cast<T*>(shared_bytes) + (uint64_t)threadIdx.x * (uint64_t)weighted_log_prob_work(full, D, 1);
}

// out (N, K): the weighted log densities; with `normalise`, the responsibilities instead
// and log_norm[n] = log p(x_n), both times the sample weight weights[n] when `weighted`
// (weighted_responsibilities of gmm.h).
template <typename T>
__device__ void estep_impl(const T* X, const T* means_t, const T* prec_t, bool full, const double* bias,
                           uint64_t N, int64_t K, int64_t D, bool normalise, const double* weights, bool weighted,
                           double* out, double* log_norm) {
    T* work = thread_work<T>(full, D);
    for (uint64_t n = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; n < N; n += (uint64_t)gridDim.x * blockDim.x) {
        double* row = out + n * (uint64_t)K;
        point_log_prob<T>(X + n * (uint64_t)D, means_t, prec_t, full, bias, K, D, work, row);
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

// score_samples, predict, predict_proba: for each point, its weighted log densities into its
// row of scratch (N, K) (the caller's chunk of rows), then score_point of gmm.h: log_norm[n]
// = log p(x_n); with want_labels, labels[n]; with want_proba, proba (N, K) in T. The same
// per-point math as the CPU loops (csrc/cpu/gmm.h, block_scores).
template <typename T>
__device__ void score_impl(const T* X, const T* means_t, const T* prec_t, bool full, const double* bias, uint64_t N,
                           int64_t K, int64_t D, double* scratch, double* log_norm, int64_t* labels,
                           bool want_labels, T* proba, bool want_proba) {
    T* work = thread_work<T>(full, D);
    for (uint64_t n = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; n < N; n += (uint64_t)gridDim.x * blockDim.x) {
        double* row = scratch + n * (uint64_t)K;
        point_log_prob<T>(X + n * (uint64_t)D, means_t, prec_t, full, bias, K, D, work, row);
        log_norm[n] = score_point<T>(row, K, want_labels ? labels + n : nullptr,
                                     want_proba ? proba + n * (uint64_t)K : nullptr);
    }
}

extern "C" {

__global__ void gmm_score_f32(const float* X, const float* means_t, const float* prec_t, bool full,
                              const double* bias, uint64_t N, int64_t K, int64_t D, double* scratch,
                              double* log_norm, int64_t* labels, bool want_labels, float* proba, bool want_proba) {
    score_impl<float>(X, means_t, prec_t, full, bias, N, K, D, scratch, log_norm, labels, want_labels, proba,
                      want_proba);
}

__global__ void gmm_score_f64(const double* X, const double* means_t, const double* prec_t, bool full,
                              const double* bias, uint64_t N, int64_t K, int64_t D, double* scratch,
                              double* log_norm, int64_t* labels, bool want_labels, double* proba, bool want_proba) {
    score_impl<double>(X, means_t, prec_t, full, bias, N, K, D, scratch, log_norm, labels, want_labels, proba,
                       want_proba);
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
