"""The `numba` backend of the diffusion family: the loops of csrc/cpu/diffusion.h over the math
of csrc/include/fastgen/diffusion.h, operation for operation (float32 stays float32), so that
`cpu` and `numba` give bit-identical steps (learned_range's exp aside: library exp on both sides)."""
import numpy as np
import numba
from numba import njit, prange

from .._constants import (
    N_STEP_COLUMNS,
    PARALLEL_STEP,
    PARALLEL_WORK,
    ClipMode,
    DiffusionStream,
    StepColumn,
    VarianceMode,
)
from .._numba import Variants, read_only
from ..random._numba import row_normals
from ._kernels import DiffusionKernels

# Elements per chunk of a sample: 4x kStepChunk of csrc/cpu/diffusion.h (which keeps its
# buffers in L1), because each chunk costs Numba more (slices of the arrays with their
# reference counts, calls into row_normals): on 64 x 3 x 32 x 32, one thread, the step took
# 1.33x cpu's time with 1024, 1.19x with 4096 (measured). The values do not depend on it:
# every element's noise is drawn by its index.
CHUNK = 4096
# The noise stream as a uint64 constant: passed as the IntEnum member, row_normals ran 7%
# slower (measured on 64 x 3 x 32 x 32 draws).
_STEP_NOISE = np.uint64(DiffusionStream.STEP_NOISE)


@njit(cache=True)
def _guided(cond, uncond, w):
    return uncond + w * (cond - uncond)


@njit(cache=True)
def _std_ratio(cond, uncond, w):
    """guidance_std_ratio of csrc/cpu/diffusion.h: std(cond) / std(guided), centred sums in float64
    (1 for a constant guided prediction)."""
    n = cond.shape[0]
    mean_c = 0.0
    mean_g = 0.0
    for j in range(n):
        mean_c += np.float64(cond[j])
        mean_g += np.float64(_guided(cond[j], uncond[j], w))
    mean_c /= n
    mean_g /= n
    ss_c = 0.0
    ss_g = 0.0
    for j in range(n):
        dc = np.float64(cond[j]) - mean_c
        dg = np.float64(_guided(cond[j], uncond[j], w)) - mean_g
        ss_c += dc * dc
        ss_g += dg * dg
    return np.sqrt(ss_c / ss_g) if ss_g > 0.0 else 1.0


# The loops below index slices of one chunk with the loop variable alone: an index such as
# x[j0 + j] keeps Numba's negative-index check, which stopped LLVM vectorising them (7x
# slower, measured).


@njit(cache=True)
def _all_finite(v):
    """all_finite of csrc/cpu/diffusion.h: an OR-reduction over the chunk, which vectorises."""
    bad = False
    for j in range(v.shape[0]):
        bad = bad | ((v[j] - v[j]) != 0)  # NaN for NaN and infinities
    return not bad


@njit(cache=True)
def _guided_chunk(out, uncond, w, factor, e):
    """The guided prediction of one chunk (out, uncond: its slices) into e[0 .. m)
    (chunk_prediction of csrc/cpu/diffusion.h); returns whether every value is finite."""
    m = out.shape[0]
    for j in range(m):
        e[j] = _guided(out[j], uncond[j], w) * factor
    return _all_finite(e[:m])


@njit(cache=True)
def _finish_chunk(use_eps, noise_in_pass, x, y, x0c, z, eps_sample, eps_other, eps_scale, prev_x0, prev_sample,
                  prev_eps, sigma, prev, largest):
    """finish_chunk of csrc/cpu/diffusion.h on one chunk (x, y, z, prev: its slices; x0c its
    clipped x0): eps from y, the mean, plus sigma z when noise_in_pass, into prev; returns
    whether all are finite. One loop per case, so that each has no branch and vectorises."""
    T = x.dtype.type
    bad = False
    m = x.shape[0]
    if use_eps and noise_in_pass:
        for j in range(m):
            eps = (eps_sample * x[j] - eps_other * y[j]) * eps_scale
            v = ((prev_x0 * x0c[j] + prev_sample * x[j]) + prev_eps * eps) + sigma * z[j]
            prev[j] = v
            bad = bad | (not (abs(v) <= largest))
    elif use_eps:
        for j in range(m):
            eps = (eps_sample * x[j] - eps_other * y[j]) * eps_scale
            v = (prev_x0 * x0c[j] + prev_sample * x[j]) + prev_eps * eps
            prev[j] = v
            bad = bad | (not (abs(v) <= largest))
    elif noise_in_pass:
        for j in range(m):
            v = ((prev_x0 * x0c[j] + prev_sample * x[j]) + prev_eps * T(0)) + sigma * z[j]
            prev[j] = v
            bad = bad | (not (abs(v) <= largest))
    else:
        for j in range(m):
            v = (prev_x0 * x0c[j] + prev_sample * x[j]) + prev_eps * T(0)
            prev[j] = v
            bad = bad | (not (abs(v) <= largest))
    return not bad


def _step(rows, per_sample, calls, has_calls, clip_mode, variance_mode, eps_from_clipped, output, uncond, guided,
          sample, noise, has_noise, prev, x0_out, has_x0, seed, call, first_row, finite_per_sample, n_threads):
    """diffusion_step / step_one_sample of csrc/cpu/diffusion.h for every sample (2-D views:
    (batch, per sample)); `rows` (n_rows, N_STEP_COLUMNS) holds one row, or one per sample.
    Sample b draws its noise as sample first_row + b of a larger batch."""
    T = sample.dtype.type
    batch, n = sample.shape
    one = T(1)
    largest = np.finfo(sample.dtype).max
    n_blocks = min(batch, n_threads)  # scratch is made once per block of samples (one per thread)
    for blk in prange(n_blocks):
        e = np.empty(CHUNK, sample.dtype)
        x0 = np.empty(CHUNK, sample.dtype)
        z = np.empty(CHUNK, sample.dtype)
        u = np.empty(CHUNK + 8, np.float32)
        radius = np.empty(CHUNK // 2 + 4, np.float32)
        angle = np.empty(CHUNK // 2 + 4, np.float32)
        bits = np.empty(CHUNK // 2 + 4, np.uint32)
        sample_x0 = np.empty(n if clip_mode == ClipMode.THRESHOLD else 0, sample.dtype)
        for b in range(blk * batch // n_blocks, (blk + 1) * batch // n_blocks):
            k = rows[b] if per_sample else rows[0]
            own_call = calls[b] if has_calls else call
            x0_sample = T(k[StepColumn.X0_SAMPLE])
            x0_output = T(k[StepColumn.X0_OUTPUT])
            x0_scale = T(k[StepColumn.X0_SCALE])
            eps_sample = T(k[StepColumn.EPS_SAMPLE])
            eps_other = T(k[StepColumn.EPS_OTHER])
            eps_scale = T(k[StepColumn.EPS_SCALE])
            prev_x0 = T(k[StepColumn.PREV_X0])
            prev_sample = T(k[StepColumn.PREV_SAMPLE])
            prev_eps = T(k[StepColumn.PREV_EPS])
            sigma = T(k[StepColumn.SIGMA])
            min_log = T(k[StepColumn.MIN_LOG])
            max_log = T(k[StepColumn.MAX_LOG])
            w = T(k[StepColumn.GUIDANCE])
            clip_range = T(k[StepColumn.CLIP_RANGE])
            rescale = T(k[StepColumn.RESCALE])
            ratio_q = T(k[StepColumn.THRESHOLD_RATIO])
            max_value = T(k[StepColumn.MAX_VALUE])
            add_noise = k[StepColumn.ADD_NOISE] != 0.0
            use_eps = prev_eps != T(0)
            out_b = output[b]
            unc_b = uncond[b]
            x = sample[b]
            prev_b = prev[b]
            finite = True
            factor = one
            if guided and rescale != T(0):
                ratio = T(_std_ratio(out_b[:n], unc_b[:n], w))
                factor = rescale * ratio + (one - rescale)
            bound = clip_range
            divisor = one
            if clip_mode == ClipMode.THRESHOLD:
                for j0 in range(0, n, CHUNK):
                    m = min(CHUNK, n - j0)
                    xs = x[j0:j0 + m]
                    if guided:
                        finite &= _guided_chunk(out_b[j0:j0 + m], unc_b[j0:j0 + m], w, factor, e)
                        pred = e[:m]
                    else:
                        pred = out_b[j0:j0 + m]
                        finite &= _all_finite(pred)
                    dst = sample_x0[j0:j0 + m]
                    for j in range(m):
                        dst[j] = (x0_sample * xs[j] - x0_output * pred[j]) * x0_scale
                a = np.abs(sample_x0)
                rank = ratio_q * T(n - 1)
                below_index = int(rank)
                above_index = int(np.ceil(rank))
                part = np.partition(a, below_index)
                below = part[below_index]
                above = below if above_index == below_index else part[below_index + 1:].min()
                weight = rank - T(below_index)
                if weight < T(0.5):
                    q = below + weight * (above - below)
                else:
                    q = above - (above - below) * (one - weight)
                s = one if q < one else q
                s = max_value if s > max_value else s
                bound = s
                divisor = s
            for j0 in range(0, n, CHUNK):
                m = min(CHUNK, n - j0)
                xs = x[j0:j0 + m]
                if guided:  # the prediction: the model output itself, or the guided one in e
                    finite &= _guided_chunk(out_b[j0:j0 + m], unc_b[j0:j0 + m], w, factor, e)
                    pred = e[:m]
                else:
                    pred = out_b[j0:j0 + m]
                    finite &= _all_finite(pred)
                x0c = x0[:m]
                if clip_mode == ClipMode.THRESHOLD:
                    src = sample_x0[j0:j0 + m]
                    for j in range(m):
                        low = -bound if src[j] < -bound else src[j]
                        x0c[j] = (bound if low > bound else low) / divisor
                else:
                    for j in range(m):
                        v = (x0_sample * xs[j] - x0_output * pred[j]) * x0_scale
                        low = -bound if v < -bound else v
                        x0c[j] = (bound if low > bound else low) / divisor
                if has_x0:
                    x0_out[b, j0:j0 + m] = x0c
                zs = z[:m]  # the chunk's noise, when the step adds it
                if add_noise and has_noise:
                    zs = noise[b, j0:j0 + m]
                elif add_noise:  # straight into the chunk's noise: float32 values, exact in float64 too
                    row_normals((first_row + b) * n + j0, m, seed, own_call, _STEP_NOISE, u, radius, angle, bits, zs)
                noise_in_pass = add_noise and variance_mode == VarianceMode.FIXED
                prev_s = prev_b[j0:j0 + m]
                finite &= _finish_chunk(use_eps, noise_in_pass, xs, x0c if eps_from_clipped else pred, x0c, zs,
                                        eps_sample, eps_other, eps_scale, prev_x0, prev_sample, prev_eps, sigma,
                                        prev_s, largest)
                if add_noise and variance_mode != VarianceMode.FIXED:
                    variance = out_b[n + j0:n + j0 + m]
                    bad = False
                    for j in range(m):
                        v = variance[j]
                        bad = bad | ((v - v) != T(0))
                        if variance_mode == VarianceMode.LEARNED:
                            std = np.sqrt(v)
                        else:
                            frac = (v + one) / T(2)
                            std = np.exp(T(0.5) * (frac * max_log + (one - frac) * min_log))
                        nxt = prev_s[j] + std * zs[j]
                        prev_s[j] = nxt
                        bad = bad | (not (abs(nxt) <= largest))
                    finite &= not bad
            finite_per_sample[b] = finite


_step_kernel = Variants(_step, PARALLEL_STEP)


def _scaled_sum(a, x, c, y, out):
    """scaled_sum_loop of csrc/cpu/diffusion.h: out = a[b] x + c[b] y per sample (2-D views)."""
    T = x.dtype.type
    batch, n = x.shape
    for b in prange(batch):
        ab = T(a[b])
        cb = T(c[b])
        for j in range(n):
            out[b, j] = ab * x[b, j] + cb * y[b, j]


_scaled_sum_kernel = Variants(_scaled_sum, PARALLEL_WORK)


class Kernels(DiffusionKernels):
    def step(self, row, clip_mode, variance_mode, eps_from_clipped, output, uncond, sample, noise, prev, x0_out,
             seed, call, finite=None, calls=None, first_row=0):
        batch = sample.shape[0]
        flat = sample.reshape(batch, -1)
        out2 = output.reshape(batch, -1)
        dummy = flat[:, :0]
        # read-only, as the schedules' cached rows are, for fastgen.sample's too (one compile)
        rows = read_only(np.ascontiguousarray(row, dtype=np.float64).reshape(-1, N_STEP_COLUMNS))
        per_sample = rows.shape[0] != 1
        if per_sample and rows.shape[0] != batch:
            raise ValueError("coefficients must be one row of the step layout, or one row per sample")
        has_calls = calls is not None
        calls = np.ascontiguousarray(calls, dtype=np.uint32) if has_calls else np.zeros(0, np.uint32)
        finite = np.ones(batch, dtype=np.bool_)
        # the modes as plain ints: Numba types an IntEnum member by walking its whole class on
        # every call (17 us a call against 3 us with ints, measured on 1 x 4 samples)
        _step_kernel(sample.size, rows, per_sample, calls, has_calls, int(clip_mode), int(variance_mode),
                     bool(eps_from_clipped), out2, dummy if uncond is None else uncond.reshape(batch, -1),
                     uncond is not None, flat, dummy if noise is None else noise.reshape(batch, -1), noise is not None,
                     prev.reshape(batch, -1), dummy if x0_out is None else x0_out.reshape(batch, -1),
                     x0_out is not None, np.uint64(seed), np.uint64(call), np.int64(first_row), finite,
                     numba.get_num_threads())
        return bool(finite.all())

    def scaled_sum(self, a, x, c, y, out):
        batch = a.shape[0]
        _scaled_sum_kernel(x.size, a, x.reshape(batch, -1), c, y.reshape(batch, -1), out.reshape(batch, -1))


NUMBA_DEPENDENCIES = {
    "fastgen._constants": "357de233da57d201",
    "fastgen._numba": "ed1a5bbaf7344969",
    "fastgen.random._numba": "fc18639b27286561",
}
