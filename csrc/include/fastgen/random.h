// Random numbers of every fastgen kernel on every backend: the Philox4x32-10 counter-based
// generator (Salmon et al., SC'11; Random123's constants), its uniforms, the standard
// normals made from them, and the registry of Philox streams.
//
// Counter layout used by every fastgen kernel on every backend:
//   key     = (seed & 0xffffffff, seed >> 32)          64-bit user seed
//   counter = (g & 0xffffffff, g >> 32, call, stream)   g = element_index / 4
// and element `element_index` of a draw takes word element_index % 4 of that block.
// `element_index` is the flat row-major index of the element in its output array,
// `call` is the caller's call counter (Gibbs step, training batch, ...) and `stream`
// separates the kinds of draw made within one call (the registry below). A uniform therefore
// depends on (seed, call, stream, element) only, never on threads or launch geometry.
//
// Normals: the normals of draw (seed, call, stream) come from the same Philox blocks as
// its uniforms: block g gives elements 4g .. 4g+3, and Box-Muller turns its words
// (w0, w1) into elements 4g, 4g+1 and (w2, w3) into 4g+2, 4g+3:
//   r = sqrt(-2 log u(w_even)),  a = u(w_odd)  (an angle in turns),
//   z_even = r cos(2 pi a),      z_odd = r sin(2 pi a),
// with u = uniform_open01 (never 0 or 1, so the log is finite and |z| <= 5.77: the
// tails beyond lose a probability of 8e-9).
//
// log and sincos are written from float arithmetic alone (Cephes' logf, sinf and cosf
// polynomials, about 1 ulp), like exp_nonpositive in mathx.h: the C++ compilers
// vectorise them, and the Numba backend repeats them operation for operation, so that
// `cpu` and `numba` draw bit-identical normals (FMA contraction is off in both).
#pragma once
#include "config.h"
#include "mathx.h"

namespace fastgen {

// ---- Philox streams
// This is the one list of the Philox `stream` values of every kernel: a new kind of draw
// takes its stream here, so that no two kinds of draw ever share uniforms. The Python
// mirror is fastgen/_constants.py, checked against this header by a test.

// The binary RBM's draws (fastgen.rbm, and the RBM layers of DBNs and DBM pretraining).
enum RbmStream : uint32_t {
    STREAM_HIDDEN = 0,   // h ~ p(h | v)
    STREAM_VISIBLE = 1,  // v ~ p(v | h)
    STREAM_INIT = 2,     // random initial states
    STREAM_SWAP = 3,     // the swap decisions of parallel tempering
};

// The Gibbs draws of DBM layer l (x_0 = v) use stream DBM_STREAM_LAYER0 + l: above the
// RBM streams, so that a DBM and an RBM never share uniforms.
enum DbmStream : uint32_t {
    DBM_STREAM_LAYER0 = 16,
};

// NADE's ancestral sampling (fastgen.nade): v_d of sample r uses element r * D + d.
enum NadeStream : uint32_t {
    NADE_STREAM_SAMPLE = 8,
};

// The reverse-diffusion samplers' noise.
enum DiffusionStream : uint32_t {
    STREAM_STEP_NOISE = 0,     // z of a step
    STREAM_INITIAL_NOISE = 1,  // x_T of a sampler
};

// ---- Philox4x32-10 and uniforms

struct u32x4 {
    uint32_t v[4];
};

FG_HD void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
    const uint64_t product = (uint64_t)a * (uint64_t)b;
    hi = (uint32_t)(product >> 32);
    lo = (uint32_t)product;
}

constexpr uint32_t kPhiloxM0 = 0xD2511F53u, kPhiloxM1 = 0xCD9E8D57u;  // multipliers
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u, kPhiloxW1 = 0xBB67AE85u;  // key increments

// One round on counter words (c0, c1, c2, c3) with round key (k0, k1). Written on plain
// scalars so that a loop over many independent counters vectorises (csrc/cpu).
FG_HD void philox_round(uint32_t& c0, uint32_t& c1, uint32_t& c2, uint32_t& c3, uint32_t k0, uint32_t k1) {
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(kPhiloxM0, c0, hi0, lo0);
    philox_mulhilo(kPhiloxM1, c2, hi1, lo1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
}

// Ten rounds; round r uses the key (k0 + r W0, k1 + r W1) mod 2^32.
FG_HD u32x4 philox4x32_10(u32x4 ctr, uint32_t k0, uint32_t k1) {
    for (uint32_t round = 0; round < 10; ++round) {
        philox_round(ctr.v[0], ctr.v[1], ctr.v[2], ctr.v[3], k0 + round * kPhiloxW0, k1 + round * kPhiloxW1);
    }
    return ctr;
}

// The four words for elements 4*group .. 4*group+3 of draw (seed, call, stream).
FG_HD u32x4 philox_block(uint64_t seed, uint32_t call, uint32_t stream, uint64_t group) {
    u32x4 ctr;
    ctr.v[0] = (uint32_t)group;
    ctr.v[1] = (uint32_t)(group >> 32);
    ctr.v[2] = call;
    ctr.v[3] = stream;
    return philox4x32_10(ctr, (uint32_t)seed, (uint32_t)(seed >> 32));
}

// A 32-bit word to a uniform in the open interval (0, 1): the top 23 bits, centred,
// ((word >> 9) + 0.5) * 2^-23. Every step is exact in float32 (at most 24 significant
// bits), so every backend compares the same number and 1.0 is never reached.
FG_HD float uniform_open01(uint32_t word) {
    return ((float)(word >> 9) + 0.5f) * 1.1920928955078125e-07f;  // 2^-23
}

// The elements i of group `group` (4*group .. 4*group+3) that fall in [begin, end) of a random
// binary array with P(1) = 1/2, written to state[i - begin]: `state` holds elements begin..
// end-1 of the whole array (begin > 0: a block of rows of a batch split over processes).
template <typename T>
FG_HD void coin_group(uint64_t group, uint64_t begin, uint64_t end, T* state, uint64_t seed, uint32_t call) {
    const u32x4 words = philox_block(seed, call, STREAM_INIT, group);
    const uint64_t first = group * 4;
    for (int k = 0; k < 4; ++k) {
        const uint64_t i = first + (uint64_t)k;
        if (i >= end) {
            break;
        }
        if (i >= begin) {
            state[i - begin] = (words.v[k] >> 31) ? T(1) : T(0);
        }
    }
}

// ---- standard normals (Box-Muller, layout above)

// log(x) for a positive normal float32 x: x = m 2^e with m in [sqrt(1/2), sqrt(2)),
// log x = e ln2 + log1p(m - 1) by Cephes' polynomial, ln2 split in two for accuracy.
FG_HD float log_positive(float x) {
    const uint32_t bits = bits_from_float(x);
    float e = (float)((int)(bits >> 23) - 126);                       // x = f 2^e, f in [1/2, 1)
    const float f = float_from_bits((bits & 0x007fffffu) | 0x3f000000u);
    const bool low = f < 0.707106781186547524f;
    e = low ? e - 1.0f : e;
    const float m = low ? (f + f) - 1.0f : f - 1.0f;                // in [sqrt(1/2) - 1, sqrt(2) - 1)
    const float z = m * m;
    float y = 7.0376836292e-2f;
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = (y * m) * z;
    y = y + e * -2.12194440e-4f;
    y = y - 0.5f * z;
    return (m + y) + e * 0.693359375f;
}

// sin(2 pi a) and cos(2 pi a) for a in [0, 1] turns. The reduction is exact: q = round(4a)
// is the quadrant and r = a - q/4 in [-1/8, 1/8] needs no more bits than a has; then
// x = 2 pi r in [-pi/4, pi/4] goes through Cephes' sinf/cosf polynomials and the
// quadrant swaps and negates them.
FG_HD void sincos_turns(float a, float& s, float& c) {
    const float q = (a * 4.0f + 12582912.0f) - 12582912.0f;  // round(4a): 0, 1, 2, 3 or 4
    const float x = (a - q * 0.25f) * 6.28318530717958648f;
    const float z = x * x;
    float ps = -1.9515295891e-4f;
    ps = ps * z + 8.3321608736e-3f;
    ps = ps * z - 1.6666654611e-1f;
    ps = ((ps * z) * x) + x;
    float pc = 2.443315711809948e-5f;
    pc = pc * z - 1.388731625493765e-3f;
    pc = pc * z + 4.166664568298827e-2f;
    pc = ((pc * z) * z - 0.5f * z) + 1.0f;
    const int quadrant = (int)q & 3;  // sin(x + k pi/2), cos(x + k pi/2) for k = quadrant
    const bool swap = quadrant & 1;
    const float sin_sign = quadrant >= 2 ? -1.0f : 1.0f;
    const float cos_sign = (quadrant == 1 || quadrant == 2) ? -1.0f : 1.0f;
    s = sin_sign * (swap ? pc : ps);
    c = cos_sign * (swap ? ps : pc);
}

// The two normals of one Box-Muller pair of uniforms (see the layout above).
FG_HD void box_muller(float u_radius, float u_angle, float& z_even, float& z_odd) {
    const float r = sqrtf(-2.0f * log_positive(u_radius));
    float s, c;
    sincos_turns(u_angle, s, c);
    z_even = r * c;
    z_odd = r * s;
}

// The normals of elements 4 group .. 4 group + 3 of draw (seed, call, stream).
FG_HD void normal_block(uint64_t seed, uint32_t call, uint32_t stream, uint64_t group, float z[4]) {
    const u32x4 words = philox_block(seed, call, stream, group);
    box_muller(uniform_open01(words.v[0]), uniform_open01(words.v[1]), z[0], z[1]);
    box_muller(uniform_open01(words.v[2]), uniform_open01(words.v[3]), z[2], z[3]);
}

}  // namespace fastgen
