"""BLAS's threads around fastgen's loops.

OpenBLAS runs a call on all its threads once it is large enough (M N K above 262,144), and
its threads spin between calls. A loop of many small calls (an RBM's mini-batches, the
replicas of parallel tempering) then pays their wake-ups on every call, and on a busy machine
far more: the RBM demo's training (batches of 10, 100 persistent chains, 64 x 150 weights)
took 54.6 s for 10 epochs at a load of 7 on 2 cores with OpenBLAS on 2 threads, 0.80 s with
it on one. Below SMALL_BLAS_WORK multiply-adds a call, one thread runs it in well under a
millisecond, so the loops hold BLAS to one thread; larger calls keep every thread.
"""
from __future__ import annotations

import contextlib
import functools
import threading

# Multiply-adds of one product (rows x inner x columns) below which a loop's BLAS calls run on
# one thread: 2^24, about 0.3 ms of sgemm on one core of this machine.
SMALL_BLAS_WORK = 1 << 24


class _OneBlasThread:
    """Context manager: BLAS on one thread while any user is inside. Counted, so that users
    running at once in several Python threads restore the caller's setting only when the
    last one leaves."""

    def __init__(self):
        self.lock = threading.Lock()
        self.active = 0
        self.limit = None

    @functools.cached_property
    def controller(self):
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController()

    def __enter__(self):
        with self.lock:
            if self.active == 0:
                self.limit = self.controller.limit(limits=1, user_api="blas")
            self.active += 1

    def __exit__(self, *exc):
        with self.lock:
            self.active -= 1
            if self.active == 0:
                self.limit.restore_original_limits()


one_blas_thread = _OneBlasThread()


def blas_threads_for(multiply_adds: int):
    """The context a loop of BLAS calls of at most `multiply_adds` multiply-adds each runs in:
    one BLAS thread when they are small (SMALL_BLAS_WORK), BLAS's own setting otherwise."""
    return one_blas_thread if multiply_adds < SMALL_BLAS_WORK else contextlib.nullcontext()
