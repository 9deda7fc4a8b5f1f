// fastgen._core.random: the Philox draws of csrc/include/fastgen/random.h (loops in cpu/random.h).
#include <array>

#include "bindings.h"
#include "random.h"

using namespace fastgen;

// The row loops that every CPU family draws through, compiled for several instruction sets
// and chosen when the extension loads, so that a build for any x86-64 (FASTGEN_NATIVE off,
// as for a wheel) still runs Philox and Box-Muller on AVX-512 or AVX2 lanes where the CPU
// has them (measured: the AVX-512 clone of a portable build as fast as -march=native). The
// clones differ in vector width only: without FMA contraction (-ffp-contract=off) every
// float operation is the same IEEE operation, so all give the same bits. Not in a build for
// a CPU with AVX2 already (-march=native): there the header math compiled for that CPU could
// not be inlined into a clone for another target (15x slower, measured).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__AVX2__)
#define FG_TARGET_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FG_TARGET_CLONES
#endif

namespace fastgen {
namespace cpu {

FG_TARGET_CLONES void row_uniforms(uint64_t begin, uint64_t n, uint64_t seed, uint32_t call, uint32_t stream,
                                   float* u) {
    over_lane_blocks<uniform_lanes>(begin, n, seed, call, stream, u);
}

FG_TARGET_CLONES void row_normals(uint64_t begin, uint64_t n, uint64_t seed, uint32_t call, uint32_t stream,
                                  float* z) {
    over_lane_blocks<normal_lanes>(begin, n, seed, call, stream, z);
}

}  // namespace cpu
}  // namespace fastgen

namespace {

std::array<uint32_t, 4> philox_words(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key) {
    u32x4 ctr;
    for (int k = 0; k < 4; ++k) ctr.v[k] = counter[k];
    const u32x4 out = philox4x32_10(ctr, key[0], key[1]);
    return {out.v[0], out.v[1], out.v[2], out.v[3]};
}

// Elements first..first+n-1 of draw (seed, call, stream) as a new float32 array, filled by
// `fill`: cpu::uniforms (uniforms in (0, 1)) or cpu::normals (standard normals).
template <void (*fill)(float*, uint64_t, uint64_t, uint64_t, uint32_t, uint32_t)>
carray<float> float_draws(uint64_t n, uint64_t seed, uint32_t call, uint32_t stream, uint64_t first) {
    carray<float> out(n);
    float* dst = out.mutable_data();
    py::gil_scoped_release release;
    fill(dst, n, first, seed, call, stream);
    return out;
}

template <typename T>
void random_binary(carray<T> state, uint64_t seed, uint32_t call, uint64_t first) {
    const uint64_t n = (uint64_t)state.size();
    T* dst = state.mutable_data();
    py::gil_scoped_release release;
    cpu::random_binary<T>(dst, n, first, seed, call);
}

// The float and double overloads (float registered first).
template <typename T>
void def_random_floats(py::module_& r) {
    r.def("random_binary", &random_binary<T>, py::arg("state").noconvert(), py::arg("seed"),
          py::arg("call"), py::arg("first") = 0);
}

}  // namespace

void bind_random(py::module_& m) {
    py::module_ r =
        m.def_submodule("random", "Philox4x32-10 draws: raw blocks, uniforms, normals, random binary states");
    r.def("philox4x32_10", &philox_words, py::arg("counter"), py::arg("key"));
    r.def("uniforms", &float_draws<cpu::uniforms>, py::arg("n"), py::arg("seed"), py::arg("call"), py::arg("stream"),
          py::arg("first") = 0);
    r.def("normals", &float_draws<cpu::normals>, py::arg("n"), py::arg("seed"), py::arg("call"), py::arg("stream"),
          py::arg("first") = 0);
    def_random_floats<float>(r);
    def_random_floats<double>(r);
}
