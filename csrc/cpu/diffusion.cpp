// fastgen._core.diffusion: one reverse-diffusion step (csrc/include/fastgen/diffusion.h;
// loops in cpu/diffusion.h).
#include <optional>

#include "bindings.h"
#include "diffusion.h"

using namespace fastgen;

namespace {

// One reverse-diffusion step (csrc/include/fastgen/diffusion.h) on (batch, ...) arrays
// flattened per sample; `coefficients` is the step's float64 row, or one row per sample,
// and `calls` (optional) one Philox call per sample. Returns whether the model output was
// finite. Sample b draws its noise as sample first_row + b of a whole batch.
template <typename T>
bool diffusion_step(carray<double> coefficients, int clip_mode, int variance_mode, bool eps_from_clipped,
                    carray<T> output, std::optional<carray<T>> uncond, carray<T> sample,
                    std::optional<carray<T>> noise, carray<T> prev, std::optional<carray<T>> x0_out, uint64_t seed,
                    uint32_t call, std::optional<carray<uint32_t>> calls, int64_t first_row) {
    require(sample.ndim() >= 1 && sample.shape(0) > 0, "sample must have a batch dimension");
    const int64_t batch = sample.shape(0), n = sample.size() / batch;
    require(coefficients.size() == N_STEP_COLUMNS || coefficients.size() == batch * N_STEP_COLUMNS,
            "coefficients must be one row of the step layout, or one row per sample");
    const int64_t row_stride = coefficients.size() == N_STEP_COLUMNS ? 0 : N_STEP_COLUMNS;
    require(!calls || calls->size() == batch, "calls must hold one Philox call per sample");
    require(output.size() % batch == 0, "model output must have the batch of the sample");
    const int64_t stride = output.size() / batch;
    require(stride == (variance_mode == VARIANCE_FIXED ? n : 2 * n), "model output size must match the sample");
    require(!uncond || uncond->size() == output.size(), "unconditional output must match the model output");
    require(!noise || noise->size() == sample.size(), "noise must match the sample");
    require(prev.size() == sample.size() && (!x0_out || x0_out->size() == sample.size()), "outputs must match the sample");
    require(clip_mode >= CLIP_NONE && clip_mode <= CLIP_THRESHOLD, "unknown clip mode");
    require(variance_mode >= VARIANCE_FIXED && variance_mode <= VARIANCE_LEARNED_RANGE, "unknown variance mode");
    cpu::StepArrays<T> arrays{output.data(), uncond ? uncond->data() : nullptr, sample.data(),
                              noise ? noise->data() : nullptr, prev.mutable_data(),
                              x0_out ? x0_out->mutable_data() : nullptr, batch, n, stride};
    require(first_row >= 0, "first_row must be >= 0");
    const cpu::StepSwitches switches{clip_mode, variance_mode, eps_from_clipped, seed, call, first_row};
    const double* row = coefficients.data();
    const uint32_t* per_sample_calls = calls ? calls->data() : nullptr;
    py::gil_scoped_release release;
    return cpu::diffusion_step<T>(row, row_stride, per_sample_calls, switches, arrays);
}

// out = a_b x + c_b y per sample b (add_noise, get_velocity): x, y, out (batch, ...) of one
// dtype, a and c float64 of length batch.
template <typename T>
void scaled_sum(carray<double> a, carray<T> x, carray<double> c, carray<T> y, carray<T> out) {
    const int64_t batch = a.size();
    require(batch > 0 && c.size() == batch, "a and c must hold one coefficient per sample");
    require(x.size() % batch == 0 && y.size() == x.size() && out.size() == x.size(),
            "x, y and out must be (batch, ...) arrays of one size");
    const double* pa = a.data();
    const double* pc = c.data();
    const T* px = x.data();
    const T* py = y.data();
    T* po = out.mutable_data();
    const int64_t n = x.size() / batch;
    py::gil_scoped_release release;
    cpu::scaled_sum_loop<T>(pa, px, pc, py, po, batch, n);
}

// The float and double overloads (float registered first).
template <typename T>
void def_diffusion_floats(py::module_& d) {
    d.def("step", &diffusion_step<T>, py::arg("coefficients").noconvert(), py::arg("clip_mode"),
          py::arg("variance_mode"), py::arg("eps_from_clipped"), py::arg("output").noconvert(),
          py::arg("uncond").noconvert(), py::arg("sample").noconvert(), py::arg("noise").noconvert(),
          py::arg("prev").noconvert(), py::arg("x0_out").noconvert(), py::arg("seed"), py::arg("call"),
          py::arg("calls").noconvert() = py::none(), py::arg("first_row") = 0);
    d.def("scaled_sum", &scaled_sum<T>, py::arg("a").noconvert(), py::arg("x").noconvert(),
          py::arg("c").noconvert(), py::arg("y").noconvert(), py::arg("out").noconvert());
}

}  // namespace

void bind_diffusion(py::module_& m) {
    py::module_ d = m.def_submodule("diffusion", "reverse diffusion: the fused step of DDPM and DDIM samplers");
    d.attr("N_STEP_COLUMNS") = (int)N_STEP_COLUMNS;
    def_diffusion_floats<float>(d);
    def_diffusion_floats<double>(d);
}
