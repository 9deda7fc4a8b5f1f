// Philox4x32-10 counter-based generator (Salmon et al., SC'11; Random123's constants).
//
// Counter layout used by every fastgen kernel on every backend:
//   key     = (seed & 0xffffffff, seed >> 32)          64-bit user seed
//   counter = (g & 0xffffffff, g >> 32, call, stream)   g = element_index / 4
// and element `element_index` of a draw takes word element_index % 4 of that block.
// `element_index` is the flat row-major index of the element in its output array,
// `call` is the caller's call counter (Gibbs step, training batch, ...) and `stream`
// separates the kinds of draw made within one call (see rbm.h). A uniform therefore
// depends on (seed, call, stream, element) only, never on threads or launch geometry.
#pragma once
#include "config.h"

namespace fastgen {

struct u32x4 {
    uint32_t v[4];
};

FG_HD void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
    const uint64_t product = (uint64_t)a * (uint64_t)b;
    hi = (uint32_t)(product >> 32);
    lo = (uint32_t)product;
}

FG_HD u32x4 philox4x32_10(u32x4 ctr, uint32_t k0, uint32_t k1) {
    const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
    const uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k0 += W0;
            k1 += W1;
        }
        uint32_t hi0, lo0, hi1, lo1;
        philox_mulhilo(M0, ctr.v[0], hi0, lo0);
        philox_mulhilo(M1, ctr.v[2], hi1, lo1);
        u32x4 next;
        next.v[0] = hi1 ^ ctr.v[1] ^ k0;
        next.v[1] = lo1;
        next.v[2] = hi0 ^ ctr.v[3] ^ k1;
        next.v[3] = lo0;
        ctr = next;
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

// A 32-bit word to a uniform in the open interval (0, 1): the top 24 bits, centred.
// The value is exact in float32 and float64, so every backend compares the same number.
FG_HD float uniform_open01(uint32_t word) {
    return ((float)(word >> 8) + 0.5f) * 5.9604644775390625e-08f;  // 2^-24
}

}  // namespace fastgen
