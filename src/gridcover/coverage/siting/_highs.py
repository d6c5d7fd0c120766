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

__all__ = ["quiet_highs"]

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
