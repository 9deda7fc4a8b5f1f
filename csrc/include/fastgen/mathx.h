// Numerically stable scalar functions, one overload per float type so that host and
// device code call the same single- or double-precision library routine.
#pragma once
#include "config.h"

#if !defined(__CUDACC_RTC__)
#include <string.h>
#endif

namespace fastgen {

FG_HD float fg_exp(float x) { return expf(x); }
FG_HD double fg_exp(double x) { return exp(x); }
FG_HD float fg_log1p(float x) { return log1pf(x); }
FG_HD double fg_log1p(double x) { return log1p(x); }

FG_HD float float_from_bits(uint32_t bits) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(bits);
#else
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
#endif
}

// e^x for x <= 0 in float32 from float arithmetic alone (no library call), so that C++
// compilers vectorise it and the Numba backend can repeat it operation for operation
// (with FMA contraction off, both round identically). Cody-Waite reduction
// x = n ln2 + r, |r| <= ln2 / 2, then Cephes' degree-6 polynomial (about 1 ulp).
// Inputs below ln(FLT_MIN) are clamped there: the result never goes subnormal.
FG_HD float exp_nonpositive(float x) {
    x = x < -87.33654475f ? -87.33654475f : x;
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round(x / ln2)
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r;
    p = p + 1.0f;
    return p * float_from_bits((uint32_t)((int)n + 127) << 23);  // times 2^n, n in [-126, 0]
}

// 1 / (1 + e^-x) without overflow: e^z is only ever taken of z = -|x| <= 0.
FG_HD float sigmoid(float x) {
    const float z = exp_nonpositive(x >= 0.0f ? -x : x);
    return (x >= 0.0f ? 1.0f : z) / (1.0f + z);
}

FG_HD double sigmoid(double x) {
    const double z = exp(x >= 0.0 ? -x : x);
    return (x >= 0.0 ? 1.0 : z) / (1.0 + z);
}

// log(1 + e^x) = max(x, 0) + log1p(e^-|x|).
template <typename T>
FG_HD T softplus(T x) {
    const T positive_part = x > T(0) ? x : T(0);
    const T neg_abs = x > T(0) ? -x : x;
    return positive_part + fg_log1p(fg_exp(neg_abs));
}

}  // namespace fastgen
