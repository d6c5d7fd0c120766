"""A HiGHS instance without its start-up banner on the terminal.

HiGHS prints "Running HiGHS ... Copyright ..." from C++ straight to file descriptor 1 when
the first ``Highs`` object of a process is made, whatever ``output_flag`` says afterwards.
The first construction therefore runs with descriptor 1 pointed at /dev/null (once, under a
lock); every instance is returned with ``output_flag`` off.
"""

from __future__ import annotations

import os
import sys
import threading

import highspy
import numpy as np

__all__ = ["quiet_highs", "solve_quietly"]

_lock = threading.Lock()
_banner_done = False


def quiet_highs() -> highspy.Highs:
    """A new ``highspy.Highs`` with logging off and no banner printed."""
    global _banner_done
    with _lock:
        if not _banner_done:
            sys.stdout.flush()
            saved = os.dup(1)
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 1)
                h = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
                os.close(devnull)
            _banner_done = True
        else:
            h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


def solve_quietly(
    lp: highspy.HighsLp,
    *,
    time_limit: float,
    mip_rel_gap: float,
    start: np.ndarray | None = None,
    threads: int | None = None,
) -> highspy.Highs:
    """Pass ``lp`` to a quiet HiGHS (``time_limit`` seconds, ``mip_rel_gap``, seed 1, optional
    ``threads``), give it ``start`` (column indexes set to 1) as the first incumbent when
    given and not empty, run it and return the solver (status, info and solution on it)."""
    h = quiet_highs()
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("random_seed", 1)
    if threads:
        h.setOptionValue("threads", int(threads))
    h.passModel(lp)
    if start is not None and np.size(start):
        sol = highspy.HighsSolution()
        x = np.zeros(lp.num_col_)
        x[np.asarray(start, np.int64)] = 1.0
        sol.col_value = list(x)
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    return h
