"""Database connections kept per thread, closed when their thread ends.

The stores keep a connection per worker thread and purpose (a read connection, a write
connection): opening one per request costs more than a one-row edit. But the web server's
worker threads come and go: anyio stops a worker that has been idle for 10 s and starts new
ones when requests pile up. A connection held in a plain thread-local *and* in the store's
list for ``close()`` outlived its thread, so every new thread opened new connections while the
old ones stayed open until the server stopped. Under load (more threads, more turnover)
PostgreSQL reached ``max_connections`` and refused new clients, and an edit answered 500.

``ThreadConnections`` ties each connection to its thread: when the thread ends, its slot is
freed and a finalizer closes the slot's connections. ``close_all`` closes every open one.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable
from typing import Any


class _Slot:
    """One thread's connections by purpose (freed with the thread's locals)."""

    def __init__(self) -> None:
        self.conns: dict[str, Any] = {}


class ThreadConnections:
    """Connections made by ``connect()``, one per (thread, purpose); each closed when its
    thread ends, when found unusable, or by ``close_all``."""

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect
        self._local = threading.local()
        self._open: dict[int, Any] = {}
        self._lock = threading.RLock()  # a finalizer may run while a get holds it

    def get(self, purpose: str, usable: Callable[[Any], bool] | None = None) -> Any:
        """This thread's connection for ``purpose``; a new one if it has none or if
        ``usable(conn)`` is False (the old one is closed)."""
        slot: _Slot | None = getattr(self._local, "slot", None)
        if slot is None:
            slot = _Slot()
            self._local.slot = slot
            weakref.finalize(slot, self._release, slot.conns)
        conn = slot.conns.get(purpose)
        if conn is not None and usable is not None and not usable(conn):
            self._drop(conn)
            conn = None
        if conn is None:
            conn = self._connect()
            slot.conns[purpose] = conn
            with self._lock:
                self._open[id(conn)] = conn
        return conn

    def count(self) -> int:
        """How many connections are open (kept by live threads)."""
        with self._lock:
            return len(self._open)

    def _release(self, conns: dict[str, Any]) -> None:
        for conn in list(conns.values()):
            self._drop(conn)
        conns.clear()

    def _drop(self, conn: Any) -> None:
        with self._lock:
            self._open.pop(id(conn), None)
        with contextlib.suppress(Exception):  # a broken connection may fail to close
            conn.close()

    def close_all(self) -> None:
        """Close every open connection; threads get new ones on their next ``get``."""
        with self._lock:
            conns = list(self._open.values())
            self._open.clear()
        # outside the lock: dropping the old locals may free this thread's slot, whose
        # finalizer takes the lock
        self._local = threading.local()
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()
