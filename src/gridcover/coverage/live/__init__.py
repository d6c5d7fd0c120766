"""The live state behind the incremental what-if (``coverage.whatif_session``): per-camera
cell hits and per-grid sums that one edit updates in place.

``state``: ``LiveState`` (hits, counts, 2D sums); ``blind_spots``: its blind spots (the
base class: clusters, outlines, nearest features); ``level_counts``: the detail levels of a
3D run (per-cell counts at each level, day and night); ``nearest_cameras``: the nearest
camera of a blind spot; ``added``: the added cameras (rows, keys, live rows, reach);
``recompute``: new views and cells of a few cameras; ``full``: the complete result of a
session's scenario; ``result``: ``LiveResult``, the tables of one edit.
"""

from gridcover.coverage.live.result import LiveResult
from gridcover.coverage.live.state import LiveState

__all__ = ["LiveResult", "LiveState"]
