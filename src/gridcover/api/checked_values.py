"""Property values the foundation's reader has already accepted, so that a patch of a value
seen before does not run the whole reader again.

A single-feature patch is checked by ``gis.read_layer`` on a one-feature file (the changed
properties, the required ones and the id, with the feature's geometry): the same rules as an
upload, but ~20 ms of fixed cost per request on an idle machine, several times that under
load. Most patches repeat a few values (``status`` online/offline, a standard height), and a
canonical column's verdict and typed value depend on its own value only **when the reader's
column plan takes each sent column for its own field alone** (no fallbacks such as
``ptz_type`` filling ``type``, no flags, no column feeding another field such as ``owner`` ->
``owner_name``). ``CheckedValues`` checks that condition with the reader's own
``plan_columns`` for the exact set of columns sent, and only then remembers each accepted
(kind, field, JSON value) with the typed value the reader made of it. A value never seen, a
changed geometry, or a column set whose fields interact always goes through the reader, so a
refusal is worded exactly as before.

The rules are fixed per kind (``gis.schemas``), so entries never go stale; the memory is a
bounded LRU, one per app (``features_write_router``), safe across worker threads.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from gridcover.errors import GridcoverError
from gridcover.gis.columns import plan_columns

_MISS = object()


class CheckedValues:
    """A bounded memory of reader-accepted property values: (kind, field, JSON value) ->
    typed value. ``size`` entries at most (least recently used dropped first)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._values: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
        self._independent: dict[tuple[str, frozenset[str]], bool] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def independent(self, kind: str, columns: Iterable[str]) -> bool:
        """True if the reader takes every one of ``columns`` (canonical names of ``kind``)
        for its own field only: then each field's verdict depends on its own value."""
        key = (kind, frozenset(columns))
        hit = self._independent.get(key)
        if hit is None:
            try:
                plan = plan_columns(sorted(key[1]), kind)
            except GridcoverError:  # the reader would refuse these columns: let it say why
                hit = False
            else:
                own = all(
                    s.column == name
                    for name, s in plan.sources.items()
                    if s.origin not in ("constant", "default")
                )
                hit = own and not plan.fallbacks and not plan.flags
            with self._lock:
                if len(self._independent) > self.size:
                    self._independent.clear()
                self._independent[key] = hit
        return hit

    def recall(self, kind: str, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """The typed values of all of ``values`` ({field: JSON value}) if every one was
        accepted before, else None."""
        out = {}
        with self._lock:
            for name, value in values.items():
                key = (kind, name, _json(value))
                typed = self._values.get(key, _MISS)
                if typed is _MISS:
                    self.misses += 1
                    return None
                self._values.move_to_end(key)
                out[name] = typed
            self.hits += 1
        return out

    def remember(self, kind: str, accepted: Mapping[str, tuple[Any, Any]]) -> None:
        """Record ``{field: (JSON value sent, typed value the reader made)}``."""
        with self._lock:
            for name, (value, typed) in accepted.items():
                self._values[(kind, name, _json(value))] = typed
            while len(self._values) > self.size:
                self._values.popitem(last=False)


def _json(value: Any) -> str:
    """The value's JSON text: 5, 5.0, "5" and true are different keys."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
