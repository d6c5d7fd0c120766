"""Building outlines as oriented wall segments, and vectorised ray casting against them.

Everything here works in one metric CRS (metres). Angles are compass bearings in radians,
clockwise from north (``bearing = atan2(dx, dy)``); a ray of bearing ``b`` points along
``(sin b, cos b)``.

How a camera's rays are cast (see docs/VIEWS.md for the full story):

1. Candidate walls: an STRtree over all segment boxes is queried with each camera's range
   box; pairs are kept when the wall *faces* the camera (back faces can never be the first
   hit of a ray coming from outside) and lies within range.
2. Rays: a uniform fan across the field of view (the arc approximation), plus two rays a
   hair (``EPS_RAD``) either side of every candidate wall end inside the range, plus one ray
   through every point where a candidate wall crosses the range circle. With those extra
   rays no building corner, however thin, falls between two rays: the visibility polygon
   is exact up to ``EPS_RAD`` and the arc chords.
3. Each front-facing wall spans an interval of bearings seen from the camera; the rays
   inside it are found with ``searchsorted`` on sorted ``camera * 8 + relative bearing``
   keys, so a wall is only tested against the rays that can hit it.
4. The hit distance of every (ray, wall) pair is one line-line intersection in numpy;
   ``np.minimum.at`` keeps the nearest per ray. Pair arrays are processed in batches of at
   most ``max_pairs`` to bound memory.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import shapely

from gridcover.errors import InvalidGeometry

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Geoms = npt.NDArray[np.object_]

TWO_PI = 2.0 * np.pi
EPS_RAD = 1e-6  # half-gap of the ray pair cast at every wall end (radians)
MIN_DIST_M = 1e-3  # hit distances are clamped to this, keeping every view polygon simple
_KEY = 8.0  # > 2*pi: key = camera * _KEY + relative bearing sorts rays camera-major


@dataclass(frozen=True, eq=False)
class Walls:
    """Building footprints prepared for ray casting, in a metric CRS (metres).

    ``parts`` are the valid, oriented polygon parts (exterior counter-clockwise, holes
    clockwise, so every wall has the building on its left); ``part_building`` maps each part
    to the index of the input building it came from. Segment ``k`` runs from
    ``(x0[k], y0[k])`` to ``(x1[k], y1[k])`` and belongs to part ``seg_part[k]``.
    """

    parts: Geoms
    part_building: I64
    x0: F64
    y0: F64
    x1: F64
    y1: F64
    seg_part: I64
    seg_tree: shapely.STRtree = field(repr=False)
    part_tree: shapely.STRtree = field(repr=False)

    @classmethod
    def from_polygons(cls, polygons: npt.ArrayLike) -> Walls:
        """Prepare building (Multi)Polygons given in a metric CRS.

        Invalid footprints are repaired with ``make_valid(method="structure")``; missing or
        empty ones are skipped. Any other geometry type raises ``InvalidGeometry``.
        """
        geoms = np.asarray(polygons, dtype=object).ravel()
        present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        kinds = shapely.get_type_id(geoms)
        bad = np.flatnonzero(present & ~np.isin(kinds, (3, 6)))
        if bad.size:
            raise InvalidGeometry(
                f"buildings: {bad.size} footprint(s) are not polygons (first at position "
                f"{int(bad[0])}, a {shapely.get_type_id(geoms[bad[0]])} geometry type id); "
                "pass Polygon or MultiPolygon outlines, or drop those rows."
            )
        idx = np.flatnonzero(present)
        fixed = geoms[idx].copy()
        invalid = ~shapely.is_valid(fixed)
        if invalid.any():
            fixed[invalid] = shapely.make_valid(
                fixed[invalid], method="structure", keep_collapsed=False
            )
        parts, part_of = shapely.get_parts(fixed, return_index=True)
        keep = shapely.get_type_id(parts) == 3
        keep &= ~shapely.is_empty(parts)
        parts = shapely.orient_polygons(parts[keep], exterior_cw=False)
        part_building = idx[part_of[keep]].astype(np.int64)
        x0, y0, x1, y1, seg_part = wall_segments(parts)
        boxes = shapely.box(
            np.minimum(x0, x1), np.minimum(y0, y1), np.maximum(x0, x1), np.maximum(y0, y1)
        )
        return cls(
            parts=parts,
            part_building=part_building,
            x0=x0,
            y0=y0,
            x1=x1,
            y1=y1,
            seg_part=seg_part,
            seg_tree=shapely.STRtree(boxes),
            part_tree=shapely.STRtree(parts),
        )

    @property
    def n_segments(self) -> int:
        return int(self.x0.size)


def wall_segments(parts: Geoms) -> tuple[F64, F64, F64, F64, I64]:
    """Segments ``(x0, y0, x1, y1, part)`` of every ring of oriented polygons, in ring order.

    Zero-length segments are dropped; ``part`` is non-decreasing.
    """
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[:-1] == ring_of[1:]
    x0, y0 = xy[:-1, 0][same], xy[:-1, 1][same]
    x1, y1 = xy[1:, 0][same], xy[1:, 1][same]
    nonzero = (x0 != x1) | (y0 != y1)
    part = ring_part[ring_of[:-1][same][nonzero]].astype(np.int64)
    return (
        np.ascontiguousarray(x0[nonzero]),
        np.ascontiguousarray(y0[nonzero]),
        np.ascontiguousarray(x1[nonzero]),
        np.ascontiguousarray(y1[nonzero]),
        part,
    )


@dataclass(frozen=True)
class RayFan:
    """Rays of a batch of cameras, sorted camera-major by relative bearing.

    ``cam[j]`` is the (batch-local) camera of ray ``j``, ``rel[j]`` its bearing relative to
    the camera's start bearing (radians, in ``[0, fov]``), ``dist[j]`` the distance in metres
    to the first wall hit (or the camera range), ``offsets`` the CSR start of each camera.
    """

    cam: I64
    rel: F64
    dist: F64
    offsets: I64


def uniform_counts(fov: F64, step: F64, full: npt.NDArray[np.bool_]) -> I64:
    """Number of uniform rays per camera: ``n`` intervals -> ``n`` rays (full) or ``n+1``."""
    n = np.maximum(np.ceil(fov / step - 1e-9), 1).astype(np.int64)
    n = np.where(full, np.maximum(n, 8), n)
    return np.where(full, n, n + 1)


def cast_rays(
    x: F64,
    y: F64,
    start: F64,
    fov: F64,
    rng: F64,
    step: F64,
    walls: Walls | None,
    *,
    max_pairs: int = 1_000_000,
) -> RayFan:
    """Cast the rays of a batch of cameras and return their hit distances (metres).

    ``start`` is the bearing of the first ray (radians), ``fov`` the angular width (radians,
    ``2*pi`` for a full circle), ``rng`` the range in metres and ``step`` the largest angle
    between two uniform rays (radians). Without ``walls`` every ray ends at the range.
    """
    m = x.size
    full = fov >= TWO_PI - 1e-12
    counts = uniform_counts(fov, step, full)
    ncam = np.repeat(np.arange(m, dtype=np.int64), counts)
    local = np.arange(ncam.size, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    intervals = np.where(full, counts, counts - 1)
    rel = local * (fov / intervals)[ncam]
    keys = ncam * _KEY + rel
    pairs = None
    if walls is not None and walls.n_segments:
        pairs = _candidate_walls(x, y, _sector_boxes(x, y, start, fov, rng, full), rng, walls)
        extra = _extra_rays(x, y, start, fov, rng, full, pairs)
        if extra.size:
            keys = np.sort(np.concatenate([keys, np.sort(extra)]), kind="stable")
            keep = np.empty(keys.size, dtype=bool)
            keep[0] = True
            np.greater(np.diff(keys), 1e-10, out=keep[1:])
            keys = keys[keep]
        ncam = np.floor(keys / _KEY).astype(np.int64)
        rel = np.clip(keys - ncam * _KEY, 0.0, fov[ncam])
    dist = rng[ncam].copy()
    if pairs is not None and pairs.cam.size:
        _nearest_hits(x, y, start, fov, full, keys, ncam, rel, dist, pairs, max_pairs)
    offsets = np.searchsorted(ncam, np.arange(m + 1, dtype=np.int64)).astype(np.int64)
    return RayFan(cam=ncam, rel=rel, dist=np.maximum(dist, MIN_DIST_M), offsets=offsets)


@dataclass(frozen=True)
class _Pairs:
    """Front-facing candidate walls per camera, with per-pair geometry precomputed."""

    cam: I64
    px: F64  # wall start relative to camera
    py: F64
    ex: F64  # wall vector
    ey: F64
    dmin: F64  # distance camera -> wall (metres)
    dmax: F64  # distance camera -> farthest wall end


def _sector_boxes(
    x: F64, y: F64, start: F64, fov: F64, rng: F64, full: npt.NDArray[np.bool_]
) -> Geoms:
    """Bounding boxes of the view sectors (the camera, both edge ends, cardinal extremes)."""
    xs = [x, x + rng * np.sin(start), x + rng * np.sin(start + fov)]
    ys = [y, y + rng * np.cos(start), y + rng * np.cos(start + fov)]
    for k in range(4):  # north, east, south, west: inside the sector?
        inside = full | (np.mod(k * np.pi / 2 - start, TWO_PI) <= fov)
        xs.append(np.where(inside, x + rng * np.sin(k * np.pi / 2), x))
        ys.append(np.where(inside, y + rng * np.cos(k * np.pi / 2), y))
    bx, by = np.stack(xs), np.stack(ys)
    return shapely.box(bx.min(axis=0), by.min(axis=0), bx.max(axis=0), by.max(axis=0))


def _candidate_walls(x: F64, y: F64, boxes: Geoms, rng: F64, walls: Walls) -> _Pairs:
    cam, seg = walls.seg_tree.query(boxes)
    cam = cam.astype(np.int64)
    px = walls.x0[seg] - x[cam]
    py = walls.y0[seg] - y[cam]
    ex = walls.x1[seg] - walls.x0[seg]
    ey = walls.y1[seg] - walls.y0[seg]
    # Camera strictly on the outer (right-hand) side of the wall: cross(E, C - P) < 0.
    front = (ex * -py - ey * -px) < 0.0
    ee = ex * ex + ey * ey
    s = np.clip(-(px * ex + py * ey) / np.where(ee > 0, ee, 1.0), 0.0, 1.0)
    dmin = np.hypot(px + s * ex, py + s * ey)
    keep = front & (dmin < rng[cam])
    px, py, ex, ey, cam, dmin = px[keep], py[keep], ex[keep], ey[keep], cam[keep], dmin[keep]
    dmax = np.maximum(np.hypot(px, py), np.hypot(px + ex, py + ey))
    return _Pairs(cam=cam, px=px, py=py, ex=ex, ey=ey, dmin=dmin, dmax=dmax)


def _extra_rays(
    x: F64, y: F64, start: F64, fov: F64, rng: F64, full: npt.NDArray[np.bool_], p: _Pairs
) -> F64:
    """Keys of the rays at wall ends (+-EPS_RAD) and at wall / range-circle crossings."""
    r = rng[p.cam]
    qx, qy = p.px + p.ex, p.py + p.ey
    bear: list[F64] = []
    cams: list[I64] = []
    for vx, vy in ((p.px, p.py), (qx, qy)):
        inside = np.hypot(vx, vy) < r
        b = np.arctan2(vx[inside], vy[inside])
        c = p.cam[inside]
        bear += [b - EPS_RAD, b + EPS_RAD]
        cams += [c, c]
    # Wall / circle crossings: |P + sE|^2 = r^2 with s in [0, 1].
    a = p.ex * p.ex + p.ey * p.ey
    b2 = p.px * p.ex + p.py * p.ey
    c2 = p.px * p.px + p.py * p.py - r * r
    disc = b2 * b2 - a * c2
    ok = (disc > 0) & (a > 0)
    root = np.sqrt(np.where(ok, disc, 0.0))
    for sign in (-1.0, 1.0):
        s = (-b2 + sign * root) / np.where(a > 0, a, 1.0)
        hit = ok & (s >= 0.0) & (s <= 1.0)
        bear.append(np.arctan2(p.px[hit] + s[hit] * p.ex[hit], p.py[hit] + s[hit] * p.ey[hit]))
        cams.append(p.cam[hit])
    cam = np.concatenate(cams)
    rel = np.mod(np.concatenate(bear) - start[cam], TWO_PI)
    keep = full[cam] | (rel <= fov[cam])
    rel, cam = rel[keep], cam[keep]
    rel = np.where(full[cam] & (rel >= TWO_PI), 0.0, rel)
    return np.asarray(cam * _KEY + rel, dtype=np.float64)


def _nearest_hits(
    x: F64,
    y: F64,
    start: F64,
    fov: F64,
    full: npt.NDArray[np.bool_],
    keys: F64,
    ncam: I64,
    rel: F64,
    dist: F64,
    p: _Pairs,
    max_pairs: int,
) -> None:
    """Lower ``dist`` (in place) to the nearest front-facing wall hit of every ray."""
    lo = np.mod(np.arctan2(p.px, p.py) - start[p.cam], TWO_PI)
    span = np.mod(np.arctan2(p.px + p.ex, p.py + p.ey) - np.arctan2(p.px, p.py), TWO_PI)
    hi = lo + span
    lim = np.where(full, TWO_PI, fov)[p.cam]
    base = p.cam * _KEY
    # Interval A: [lo, min(hi, lim)]; interval B (wrap past north of the start): [0, hi - 2pi].
    a_lo = np.searchsorted(keys, base + lo, side="left")
    a_hi = np.searchsorted(keys, base + np.minimum(hi, lim), side="right")
    wrap = hi > TWO_PI
    b_lo = np.searchsorted(keys, base[wrap], side="left")
    b_hi = np.searchsorted(
        keys, base[wrap] + np.minimum(hi[wrap] - TWO_PI, lim[wrap]), side="right"
    )
    pair = np.concatenate([np.arange(lo.size, dtype=np.int64), np.flatnonzero(wrap)])
    first = np.concatenate([a_lo, b_lo]).astype(np.int64)
    count = np.maximum(np.concatenate([a_hi, b_hi]) - first, 0).astype(np.int64)
    nz = count > 0
    pair, first, count = pair[nz], first[nz], count[nz]
    bear = start[ncam] + rel
    dx, dy = np.sin(bear), np.cos(bear)
    # Batches of whole intervals with at most ~max_pairs (ray, wall) pairs each.
    total = np.cumsum(count)
    cuts = np.searchsorted(
        total, np.arange(max_pairs, int(total[-1]) if total.size else 0, max_pairs)
    )
    bounds = np.unique(np.concatenate([[0], cuts, [pair.size]]))
    for i0, i1 in itertools.pairwise(bounds):
        if i1 <= i0:
            continue
        c = count[i0:i1]
        w = np.repeat(pair[i0:i1], c)
        ray = np.repeat(first[i0:i1] - (np.cumsum(c) - c), c) + np.arange(int(c.sum()))
        ex, ey = p.ex[w], p.ey[w]
        rx, ry = dx[ray], dy[ray]
        den = rx * ey - ry * ex
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (p.px[w] * ey - p.py[w] * ex) / den
        t = np.where(np.isfinite(t), t, p.dmax[w])
        np.clip(t, p.dmin[w], p.dmax[w], out=t)
        np.minimum.at(dist, ray, t)
