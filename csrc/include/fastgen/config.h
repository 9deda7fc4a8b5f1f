// Portability layer shared by the C++ extension and the NVRTC-compiled CUDA kernels.
// FG_HD marks functions that run on both host and device.
#pragma once

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define FG_HD __host__ __device__ __forceinline__
#else
#define FG_HD inline
#endif

#if defined(__CUDACC_RTC__)
// NVRTC ships no C/C++ standard headers: define the fixed-width types we use.
// The math functions (expf, exp, log1pf, log1p, ...) are CUDA built-ins there.
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
typedef long long int64_t;
#else
#include <stdint.h>
#include <math.h>
#endif
