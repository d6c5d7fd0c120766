"""A disk copy of the zoom arrays (``zoom.LayerCells``) in the data folder, so a restart of
``gridcover serve`` reads 600,000 cells from one ``.npz`` file instead of the GeoPackage.

A copy is used only when the collection's stamp (update time, row count) is the one it was
made from and that update time lies at least a whole second before the layer was read
(``read_at``: taken before the stamp): an edit after that sets the update time (to the
second) to a later second, so no edit can hide behind an unchanged stamp. Anything
unreadable is ignored (the layer is read again).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # zoom.py imports this module
    from gridcover.api.webapp.zoom import LayerCells

__all__ = ["load_copy", "save_copy"]

log = logging.getLogger("gridcover.api")


def _updated_epoch(updated: str) -> float | None:
    try:
        stamp = dt.datetime.fromisoformat(updated.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    if stamp.tzinfo is None:
        return None
    return stamp.timestamp()


def _path(folder: Path, collection_id: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in collection_id)
    return folder / f"zoom-{safe}.npz"


def save_copy(folder: Path, collection_id: str, layer: LayerCells, read_at: float) -> None:
    """Write ``layer`` (and the point bins it has) as ``folder/zoom-<id>.npz``; ``read_at``:
    epoch seconds just before its stamp was read from the store."""
    updated = _updated_epoch(layer.stamp[0])
    if updated is None or read_at < updated + 1.0:
        return  # no time in the stamp, or an edit in the same second could hide behind it
    arrays: dict[str, Any] = {"cells": layer.cells, "lon": layer.lon, "lat": layer.lat}
    arrays.update({f"value:{k}": v for k, v in layer.values.items()})
    arrays.update({f"res:{r}": v for r, v in layer.by_res.items()})
    arrays["meta"] = np.array([layer.kind, str(layer.res), layer.stamp[0], str(layer.stamp[1]),
                               repr(read_at)])  # fmt: skip
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = _path(folder, collection_id)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)
    except OSError as exc:
        log.warning("could not keep the zoom arrays of %s on disk: %s", collection_id, exc)


def load_copy(folder: Path, collection_id: str, stamp: tuple[str, int]) -> dict[str, Any] | None:
    """The disk copy of ``collection_id`` (the fields of a ``LayerCells``) if it is still the
    layer ``stamp`` names, else None."""
    path = _path(folder, collection_id)
    updated = _updated_epoch(stamp[0])
    if updated is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            kind, res, upd, count, read_at = (str(x) for x in z["meta"])
            if (upd, int(count)) != stamp or float(read_at) < updated + 1.0:
                return None
            values = {k[6:]: z[k] for k in z.files if k.startswith("value:")}
            by_res = {int(k[4:]): z[k] for k in z.files if k.startswith("res:")}
            layer = {"kind": kind, "res": int(res), "cells": z["cells"], "lon": z["lon"],
                     "lat": z["lat"], "values": values, "by_res": by_res}  # fmt: skip
    except (OSError, ValueError, KeyError) as exc:
        log.warning("ignoring the zoom arrays of %s on disk: %s", collection_id, exc)
        return None
    return layer
