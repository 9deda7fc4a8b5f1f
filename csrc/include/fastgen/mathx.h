// Numerically stable scalar functions, one overload per float type. Host and device run
// the same code: either float arithmetic written out here, or the same library routine.
#pragma once
#include "config.h"

#if !defined(__CUDACC_RTC__)
#include <string.h>
#endif

namespace fastgen {

// The library's e^x in the argument's precision.
FG_HD float fg_exp(float x) { return expf(x); }
FG_HD double fg_exp(double x) { return exp(x); }

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

FG_HD uint32_t bits_from_float(float value) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(value);
#else
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
#endif
}

FG_HD double double_from_bits(uint64_t bits) {
#if defined(__CUDA_ARCH__)
    return __longlong_as_double((long long)bits);
#else
    double value;
    memcpy(&value, &bits, sizeof value);
    return value;
#endif
}

// e^x for x <= 0 in double from double arithmetic alone, for the same reasons as the
// float version above (vectorised loops, Numba repeats it exactly). Cody-Waite reduction
// with fdlibm's split of ln2, then the Taylor series of e^r to degree 13 (truncation
// below 1e-17 for |r| <= ln2 / 2); within a few ulp. Clamped at -708 (2^n stays normal).
FG_HD double exp_nonpositive(double x) {
    x = x < -708.0 ? -708.0 : x;
    const double n = (x * 1.4426950408889634 + 6755399441055744.0) - 6755399441055744.0;  // round(x / ln2)
    double r = x - n * 6.93147180369123816490e-01;
    r = r - n * 1.90821492927058770002e-10;
    double p = 1.0 / 6227020800.0;  // 1/13!
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    return p * double_from_bits((uint64_t)((int64_t)n + 1023) << 52);  // times 2^n, n in [-1021, 0]
}

// log(1 + y) for 0 <= y <= 1 from double arithmetic alone: 2 atanh(s), s = y / (2 + y)
// <= 1/3, whose odd series 2 s (1 + s^2/3 + s^4/5 + ...) is cut after s^32/33 (the rest is
// below 1e-17 relative). No cancellation anywhere, so small y keep full relative accuracy.
FG_HD double log1p_unit(double y) {
    const double s = y / (2.0 + y);
    const double s2 = s * s;
    double p = 1.0 / 33.0;
    for (int k = 15; k >= 0; --k) {
        p = p * s2 + 1.0 / (double)(2 * k + 1);
    }
    return 2.0 * s * p;
}

// log(1 + e^z) for z <= 0: the library in float32; in double, the loop-friendly
// functions above (free energies and AIS weights sum millions of these in double).
FG_HD float log1p_exp_nonpositive(float z) { return log1pf(fg_exp(z)); }
FG_HD double log1p_exp_nonpositive(double z) { return log1p_unit(exp_nonpositive(z)); }

// log(1 + e^x) = max(x, 0) + log1p(e^-|x|) (float; double: the overload below).
template <typename T>
FG_HD T softplus(T x) {
    const T positive_part = x > T(0) ? x : T(0);
    const T neg_abs = x > T(0) ? -x : x;
    return positive_part + log1p_exp_nonpositive(neg_abs);
}

// softplus in double in two stages, e = e^-|x| and then max(x, 0) + log1p(e), for row loops
// that vectorise better as one pass per stage (the AIS increments of cpu/rbm.h).
FG_HD double softplus_exp(double x) { return exp_nonpositive(x > 0.0 ? -x : x); }
FG_HD double softplus_given_exp(double x, double e) { return (x > 0.0 ? x : 0.0) + log1p_unit(e); }
FG_HD double softplus(double x) { return softplus_given_exp(x, softplus_exp(x)); }

}  // namespace fastgen
