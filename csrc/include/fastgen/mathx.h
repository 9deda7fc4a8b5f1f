// Numerically stable scalar functions, one overload per float type so that host and
// device code call the same single- or double-precision library routine.
#pragma once
#include "config.h"

namespace fastgen {

FG_HD float fg_exp(float x) { return expf(x); }
FG_HD double fg_exp(double x) { return exp(x); }
FG_HD float fg_log1p(float x) { return log1pf(x); }
FG_HD double fg_log1p(double x) { return log1p(x); }

// 1 / (1 + e^-x) without overflow: exp is only ever taken of a non-positive number.
template <typename T>
FG_HD T sigmoid(T x) {
    if (x >= T(0)) {
        return T(1) / (T(1) + fg_exp(-x));
    }
    const T e = fg_exp(x);
    return e / (T(1) + e);
}

// log(1 + e^x) = max(x, 0) + log1p(e^-|x|).
template <typename T>
FG_HD T softplus(T x) {
    const T positive_part = x > T(0) ? x : T(0);
    const T neg_abs = x > T(0) ? -x : x;
    return positive_part + fg_log1p(fg_exp(neg_abs));
}

}  // namespace fastgen
