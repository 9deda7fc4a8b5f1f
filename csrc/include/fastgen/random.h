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

}  // namespace fastgen
