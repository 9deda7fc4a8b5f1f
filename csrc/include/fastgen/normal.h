// Standard normal draws from Philox, for every kernel that needs Gaussian noise.
//
// Counter layout: the normals of draw (seed, call, stream) come from the same Philox
// blocks as its uniforms (philox.h): block g gives elements 4g .. 4g+3, and Box-Muller
// turns its words (w0, w1) into elements 4g, 4g+1 and (w2, w3) into 4g+2, 4g+3:
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
#include "random.h"

namespace fastgen {

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
