"""The pytest plugin of `fastgen bench` (loaded with `-p fastgen._bench_progress` in the
pytest process it starts): one JSON line per collected run and per finished benchmark on the
file descriptor named by FASTGEN_BENCH_PROGRESS_FD, so that the command's bar ticks once per
benchmark while pytest's own output goes to the log. Without that variable it does nothing."""
from __future__ import annotations

import json
import os
from typing import TextIO

_stream: TextIO | None = None


def _send(**message):
    global _stream
    if _stream is None:
        fd = os.environ.get("FASTGEN_BENCH_PROGRESS_FD")
        if not fd:
            return
        _stream = os.fdopen(int(fd), "w", buffering=1)
    _stream.write(json.dumps(message) + "\n")


def pytest_collection_finish(session):
    _send(event="collected", count=len(session.items))


def pytest_runtest_logreport(report):
    # a benchmark ends with its call, or earlier when its setup skipped or failed it
    if report.when == "call" or (report.when == "setup" and not report.passed):
        reason = ""
        if report.skipped and isinstance(report.longrepr, tuple):
            reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        _send(event="done", nodeid=report.nodeid, outcome=report.outcome, reason=reason)
