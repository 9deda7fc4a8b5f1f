"""Constants that Python, the C++ extension, the CUDA kernels and the Numba kernels share.

Each is declared once in a C++ header and mirrored here; tests/test_layout.py parses the
headers and fails when a value here differs. Numba compiles these values into its cached
kernels, so every Numba module that imports this one lists it among its
NUMBA_DEPENDENCIES (see fastgen/_numba.py).
"""
from enum import IntEnum


class RbmStream(IntEnum):
    """Philox streams of the binary and Gaussian-Bernoulli RBM draws (csrc/include/fastgen/random.h)."""

    HIDDEN = 0  # h ~ p(h | v)
    VISIBLE = 1  # v ~ p(v | h)
    INIT = 2  # random initial states
    SWAP = 3  # parallel-tempering swap decisions


class DbmStream(IntEnum):
    """Philox stream of the DBM's layer l is LAYER0 + l (csrc/include/fastgen/random.h)."""

    LAYER0 = 16


class NadeStream(IntEnum):
    """Philox stream of NADE's ancestral sampling (csrc/include/fastgen/random.h)."""

    SAMPLE = 8  # v_d of sample r: element r * D + d


class DiffusionStream(IntEnum):
    """Philox streams of the diffusion samplers (csrc/include/fastgen/random.h)."""

    STEP_NOISE = 0  # z of a step
    INITIAL_NOISE = 1  # x_T of a sampler


class StepColumn(IntEnum):
    """Columns of a diffusion step's float64 coefficient row (csrc/include/fastgen/diffusion.h)."""

    X0_SAMPLE = 0
    X0_OUTPUT = 1
    X0_SCALE = 2
    EPS_SAMPLE = 3
    EPS_OTHER = 4
    EPS_SCALE = 5
    PREV_X0 = 6
    PREV_SAMPLE = 7
    PREV_EPS = 8
    SIGMA = 9
    MIN_LOG = 10
    MAX_LOG = 11
    ADD_NOISE = 12
    GUIDANCE = 13
    CLIP_RANGE = 14
    RESCALE = 15
    THRESHOLD_RATIO = 16
    MAX_VALUE = 17


N_STEP_COLUMNS = len(StepColumn)


class ClipMode(IntEnum):
    """How a diffusion step bounds its x0 prediction (csrc/include/fastgen/diffusion.h)."""

    NONE = 0
    RANGE = 1
    THRESHOLD = 2


class VarianceMode(IntEnum):
    """Where a diffusion step's noise scale comes from (csrc/include/fastgen/diffusion.h)."""

    FIXED = 0
    LEARNED = 1
    LEARNED_RANGE = 2


class MmdKernel(IntEnum):
    """The kernels of the MMD family (csrc/include/fastgen/mmd.h)."""

    GAUSSIAN = 0
    LAPLACIAN = 1
    POLYNOMIAL = 2


class MmdDiagonal(IntEnum):
    """How an MMD tile meets the diagonal of a symmetric block (csrc/include/fastgen/mmd.h)."""

    NONE = 0
    INCLUDE = 1
    EXCLUDE = 2


# Responsibilities below e^NEGLIGIBLE_LOG_RESP are exactly 0 (csrc/include/fastgen/gmm.h says why).
NEGLIGIBLE_LOG_RESP = -500.0
# The GMM pass's points per block and its chunks (at most that many, and that many bytes of
# their statistics): they fix the order of the sums (csrc/cpu/gmm.h).
GMM_BLOCK = 128
GMM_MAX_CHUNKS = 64
GMM_CHUNK_BYTES = 1 << 26

# Work below which a CPU kernel stays on one thread (csrc/cpu/*.h say why): elements of the
# element-wise kernels, normals drawn, vector additions of the selected-row sums, points x
# components x features of the GMM pass, elements of a diffusion step.
PARALLEL_WORK = 1 << 22
PARALLEL_NORMALS = 1 << 16
PARALLEL_ADDS = 1 << 25
GMM_PARALLEL_WORK = 1 << 20
PARALLEL_STEP = 1 << 16
# Kernel evaluations below which an MMD pass stays on one thread, and pairs per partial sum
# of its paired pass (csrc/cpu/mmd.h).
MMD_PARALLEL_WORK = 1 << 14
MMD_PAIR_BLOCK = 1024

# NADE's loops (csrc/cpu/nade.h): multiply-adds (rows x D x H) below which they stay on one
# thread, examples per partial sum of the gradient (it fixes the order of the sums), and
# the interleaved partial sums of its dot products (they fix the order too).
NADE_PARALLEL_WORK = 1 << 20
NADE_CHUNK = 32
NADE_DOT_LANES = 16
