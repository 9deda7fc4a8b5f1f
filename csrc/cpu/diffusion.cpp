// fastgen._core.diffusion: one reverse-diffusion step (csrc/include/fastgen/diffusion.h;
// loops in cpu/diffusion.h).
#include <optional>

#include "bindings.h"
#include "diffusion.h"

using namespace fastgen;

namespace {

// One reverse-diffusion step (csrc/include/fastgen/diffusion.h) on (batch, ...) arrays
// flattened per sample; `coefficients` is the step's float64 row. Returns whether the
// model output was finite.
template <typename T>
bool diffusion_step(carray<double> coefficients, int clip_mode, int variance_mode, bool eps_from_clipped,
                    carray<T> output, std::optional<carray<T>> uncond, carray<T> sample,
                    std::optional<carray<T>> noise, carray<T> prev, std::optional<carray<T>> x0_out, uint64_t seed,
                    uint32_t call) {
    require(coefficients.size() == N_STEP_COLUMNS, "coefficients must be one row of the step layout");
    require(sample.ndim() >= 1 && sample.shape(0) > 0, "sample must have a batch dimension");
    const int64_t batch = sample.shape(0), n = sample.size() / batch;
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
    const cpu::StepSwitches switches{clip_mode, variance_mode, eps_from_clipped, seed, call};
    const double* row = coefficients.data();
    py::gil_scoped_release release;
    return cpu::diffusion_step<T>(row, switches, arrays);
}

// The float and double overloads (float registered first).
template <typename T>
void def_diffusion_floats(py::module_& d) {
    d.def("step", &diffusion_step<T>, py::arg("coefficients").noconvert(), py::arg("clip_mode"),
          py::arg("variance_mode"), py::arg("eps_from_clipped"), py::arg("output").noconvert(),
          py::arg("uncond").noconvert(), py::arg("sample").noconvert(), py::arg("noise").noconvert(),
          py::arg("prev").noconvert(), py::arg("x0_out").noconvert(), py::arg("seed"), py::arg("call"));
}

}  // namespace

void bind_diffusion(py::module_& m) {
    py::module_ d = m.def_submodule("diffusion", "reverse diffusion: the fused step of DDPM and DDIM samplers");
    d.attr("N_STEP_COLUMNS") = (int)N_STEP_COLUMNS;
    def_diffusion_floats<float>(d);
    def_diffusion_floats<double>(d);
}
