// fastgen._core.gmm: the Gaussian-mixture E-step (csrc/include/fastgen/gmm.h; loops in cpu/gmm.h).
#include <algorithm>
#include <optional>

#include "bindings.h"
#include "gmm.h"
#include "gmm_kmeans.h"

using namespace fastgen;

namespace {

using darray = py::array_t<double, py::array::c_style>;
using larray = py::array_t<int64_t, py::array::c_style>;

// The parameters of the Gaussian-mixture kernels (layout in fastgen/gmm.h), checked against X (N, D).
template <typename T>
cpu::GmmParams<T> gmm_params(const carray<T>& X, const carray<T>& means_t, const carray<T>& prec_t, bool full,
                             const darray& bias) {
    require(X.ndim() == 2 && means_t.ndim() == 2 && means_t.shape(0) == X.shape(1), "means_t must be (X columns, K)");
    const int64_t D = X.shape(1), K = means_t.shape(1);
    require(bias.ndim() == 1 && bias.shape(0) == K, "bias must be (K,)");
    if (full) {
        require(prec_t.ndim() == 3 && prec_t.shape(0) == D && prec_t.shape(1) == D && prec_t.shape(2) == K,
                "full prec_t must be (D, D, K)");
    } else {
        require(prec_t.ndim() == 2 && prec_t.shape(0) == D && prec_t.shape(1) == K, "diagonal prec_t must be (D, K)");
    }
    return cpu::GmmParams<T>{means_t.data(), prec_t.data(), full, bias.data(), K, D};
}

// out (N, K) = log(w_k N(x_n | mean_k, cov_k)).
template <typename T>
void gmm_weighted_log_prob(carray<T> X, carray<T> means_t, carray<T> prec_t, bool full, darray bias, darray out) {
    const cpu::GmmParams<T> params = gmm_params<T>(X, means_t, prec_t, full, bias);
    require(out.ndim() == 2 && out.shape(0) == X.shape(0) && out.shape(1) == params.K, "out must be (N, K)");
    const T* x = X.data();
    double* dst = out.mutable_data();
    py::gil_scoped_release release;
    cpu::weighted_log_prob_rows<T>(x, X.shape(0), params, dst);
}

// score_samples, predict, predict_proba in one pass: log_norm (N) = log p(x_n); labels (N,
// or None) the most probable component; proba (N, K, or None) the responsibilities in T.
template <typename T>
void gmm_score_rows(carray<T> X, carray<T> means_t, carray<T> prec_t, bool full, darray bias, darray log_norm,
                    std::optional<larray> labels, std::optional<carray<T>> proba) {
    const cpu::GmmParams<T> params = gmm_params<T>(X, means_t, prec_t, full, bias);
    const int64_t N = X.shape(0);
    require(log_norm.ndim() == 1 && log_norm.shape(0) == N, "log_norm must be (N,)");
    require(!labels || (labels->ndim() == 1 && labels->shape(0) == N), "labels must be (N,)");
    require(!proba || (proba->ndim() == 2 && proba->shape(0) == N && proba->shape(1) == params.K),
            "proba must be (N, K)");
    const T* x = X.data();
    double* norm = log_norm.mutable_data();
    int64_t* label = labels ? labels->mutable_data() : nullptr;
    T* resp = proba ? proba->mutable_data() : nullptr;
    py::gil_scoped_release release;
    cpu::score_rows<T>(x, N, params, norm, label, resp);
}

// The fused E-step: writes the statistics centred on the means into nk (K), s1 (K, D) and
// s2 (K, D, D) upper triangle (full) or (K, D) (diagonal); returns sum_n w_n log p(x_n).
// weights: (N,) sample weights, or None for all ones.
template <typename T>
double gmm_em_pass(carray<T> X, carray<T> means_t, carray<T> prec_t, bool full, darray bias, darray nk, darray s1,
                   darray s2, std::optional<darray> weights) {
    const cpu::GmmParams<T> params = gmm_params<T>(X, means_t, prec_t, full, bias);
    const int64_t K = params.K, D = params.D;
    require(nk.size() == K && s1.size() == K * D && s2.size() == (full ? K * D * D : K * D),
            "nk, s1, s2 must be (K,), (K, D) and (K, D, D) or (K, D)");
    require(!weights || (weights->ndim() == 1 && weights->shape(0) == X.shape(0)), "weights must be (N,)");
    const double* w = weights ? weights->data() : nullptr;
    const T* x = X.data();
    double *nk_ptr = nk.mutable_data(), *s1_ptr = s1.mutable_data(), *s2_ptr = s2.mutable_data();
    py::gil_scoped_release release;
    const cpu::GmmStats stats = cpu::em_pass<T>(x, w, X.shape(0), params);
    std::copy(stats.nk.begin(), stats.nk.end(), nk_ptr);
    std::copy(stats.s1.begin(), stats.s1.end(), s1_ptr);
    std::copy(stats.s2.begin(), stats.s2.end(), s2_ptr);
    return stats.log_likelihood;
}

// Greedy k-means++ seeding (cpu/gmm_kmeans.h): indices (K) of the seeds among the rows of X,
// the first first_index, then one per row of uniforms (K - 1, L), its L draws in [0, 1).
template <typename T>
void gmm_kmeans_seed(carray<T> X, std::optional<darray> weights, int64_t first_index, darray uniforms,
                     larray indices) {
    require(X.ndim() == 2 && X.shape(0) >= 1, "X must be (N, D) with N >= 1");
    require(uniforms.ndim() == 2 && indices.ndim() == 1 && indices.shape(0) == uniforms.shape(0) + 1,
            "uniforms must be (K - 1, L) and indices (K,)");
    require(uniforms.shape(0) == 0 || uniforms.shape(1) >= 1, "uniforms must have L >= 1 columns");
    require(first_index >= 0 && first_index < X.shape(0), "first_index must be a row of X");
    require(!weights || (weights->ndim() == 1 && weights->shape(0) == X.shape(0)), "weights must be (N,)");
    const T* x = X.data();
    const double* w = weights ? weights->data() : nullptr;
    const double* u = uniforms.data();
    int64_t* out = indices.mutable_data();
    const int64_t N = X.shape(0), D = X.shape(1), K = indices.shape(0), L = uniforms.shape(1);
    py::gil_scoped_release release;
    cpu::kmeans_seed<T>(x, w, N, D, first_index, u, K, L, out);
}

// One Lloyd iteration (cpu/gmm_kmeans.h): labels (N), distances (N), sums (K, D), counts (K).
template <typename T>
void gmm_kmeans_step(carray<T> X, std::optional<darray> weights, darray centres, larray labels, darray distances,
                     darray sums, darray counts) {
    require(X.ndim() == 2 && centres.ndim() == 2 && centres.shape(1) == X.shape(1) && centres.shape(0) >= 1,
            "centres must be (K, X columns)");
    const int64_t N = X.shape(0), D = X.shape(1), K = centres.shape(0);
    require(labels.size() == N && distances.size() == N && sums.size() == K * D && counts.size() == K,
            "labels, distances, sums, counts must be (N,), (N,), (K, D) and (K,)");
    require(!weights || (weights->ndim() == 1 && weights->shape(0) == N), "weights must be (N,)");
    const T* x = X.data();
    const double* w = weights ? weights->data() : nullptr;
    const double* c = centres.data();
    int64_t* l = labels.mutable_data();
    double *d = distances.mutable_data(), *s = sums.mutable_data(), *n = counts.mutable_data();
    py::gil_scoped_release release;
    cpu::kmeans_step<T>(x, w, N, D, c, K, l, d, s, n);
}

// The float and double overloads (float registered first).
template <typename T>
void def_gmm_floats(py::module_& g) {
    g.def("weighted_log_prob", &gmm_weighted_log_prob<T>, py::arg("X").noconvert(),
          py::arg("means_t").noconvert(), py::arg("prec_t").noconvert(), py::arg("full"),
          py::arg("bias").noconvert(), py::arg("out").noconvert());
    g.def("score_rows", &gmm_score_rows<T>, py::arg("X").noconvert(), py::arg("means_t").noconvert(),
          py::arg("prec_t").noconvert(), py::arg("full"), py::arg("bias").noconvert(),
          py::arg("log_norm").noconvert(), py::arg("labels").noconvert(), py::arg("proba").noconvert());
    g.def("em_pass", &gmm_em_pass<T>, py::arg("X").noconvert(), py::arg("means_t").noconvert(),
          py::arg("prec_t").noconvert(), py::arg("full"), py::arg("bias").noconvert(),
          py::arg("nk").noconvert(), py::arg("s1").noconvert(), py::arg("s2").noconvert(),
          py::arg("weights").noconvert() = py::none());
    g.def("kmeans_seed", &gmm_kmeans_seed<T>, py::arg("X").noconvert(), py::arg("weights").noconvert(),
          py::arg("first_index"), py::arg("uniforms").noconvert(), py::arg("indices").noconvert());
    g.def("kmeans_step", &gmm_kmeans_step<T>, py::arg("X").noconvert(), py::arg("weights").noconvert(),
          py::arg("centres").noconvert(), py::arg("labels").noconvert(), py::arg("distances").noconvert(),
          py::arg("sums").noconvert(), py::arg("counts").noconvert());
}

}  // namespace

void bind_gmm(py::module_& m) {
    py::module_ g = m.def_submodule("gmm", "Gaussian mixture: weighted log densities, the fused E-step and scores, the k-means init");
    def_gmm_floats<float>(g);
    def_gmm_floats<double>(g);
}
