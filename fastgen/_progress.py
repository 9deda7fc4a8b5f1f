"""Progress bars: the one helper behind every `progress=` argument of fastgen.

Long work shows a tqdm bar only when asked (`progress=True`; off by default in library calls,
on in the command line). `bar(progress, total, ...)` is a bar over a loop of known length;
loops take it as `bar` and call `bar.update()` once per step (the bar that is off does
nothing, and tqdm is imported only when one is shown); `iterate(progress, items, ...)` is the
same around an iterable. `waiting(progress, ...)` is for work
that runs as one kernel call, whose progress Python cannot see: the bar then shows the
elapsed time, refreshed by a thread, and completes when the call returns.
"""
from __future__ import annotations

import contextlib
import numbers
import sys
import threading
from typing import Any, Iterable, Iterator, TypeVar

T = TypeVar("T")


class _Off:
    """The bar that is not shown."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **values: Any) -> None:
        pass


OFF = _Off()


def check_progress(progress: object) -> bool:
    """`progress` as a bool: True or False (numpy.bool_, 0 and 1 too); anything else is a TypeError."""
    if type(progress).__name__ == "bool_" or (isinstance(progress, numbers.Integral) and progress in (0, 1)):
        return bool(progress)
    raise TypeError(f"progress must be True or False, got {progress!r}")


@contextlib.contextmanager
def bar(progress: object, total: int, desc: str, unit: str = "step", **options: Any) -> Iterator[Any]:
    """A tqdm bar of `total` steps when `progress` is True (`options`: more of tqdm's), else
    the bar that is off."""
    if not check_progress(progress):
        yield OFF
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, **options) as shown:
        yield shown


def iterate(progress: object, items: Iterable[T], desc: str, unit: str = "step") -> Iterable[T]:
    """`items`, through a tqdm bar when `progress` is True."""
    if not check_progress(progress):
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True)


@contextlib.contextmanager
def waiting(progress: object, desc: str, refresh_s: float = 0.5) -> Iterator[None]:
    """While the body runs (one long kernel call), a bar of one step showing the elapsed time
    when `progress` is True; it completes when the body returns."""
    with bar(progress, 1, desc, unit="call", bar_format="{desc}: {elapsed} elapsed") as shown:
        if shown is OFF:
            yield
            return
        done = threading.Event()

        def tick():
            while not done.wait(refresh_s):
                shown.refresh()

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            yield
            shown.update()
        finally:
            done.set()
            ticker.join()
