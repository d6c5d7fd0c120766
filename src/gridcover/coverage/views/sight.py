"""3D line of sight and image detail (DORI levels): the array core of ``--visibility 3d``.

The model (docs/VIEWS.md states it in full). A camera at ground point ``p_c`` mounted
``h_c`` metres above ground sees a target ``t`` (a cell centroid, ``h_t`` metres above
ground) when:

* horizontal field: the bearing ``p_c -> t`` is within ``fov/2`` of the azimuth (any bearing
  for 360° cameras);
* vertical field (only when ``tilt_deg`` is given): the depression angle
  ``atan2(h_c - h_t, d)`` lies in ``[tilt - vfov/2, tilt + vfov/2]``;
* ``d <= range_m`` (when given) and the detail level is at least 1, where
  ``ppm = W / (2 D tan(f/2))`` with ``D = sqrt(d^2 + (h_c - h_t)^2)`` and the level is
  4 identify (>= 250 px/m), 3 recognise (>= 125), 2 observe (>= 62.5), 1 detect (>= 25);
* the 3D segment ``(p_c, h_c) -> (t, h_t)`` passes through no building prism
  ``footprint x [0, H_b]``.

The prism test is exact and vectorised: a straight segment whose height is monotone enters a
vertical prism only through a side wall below the roof, or ends inside it. So every (camera,
cell) pair that passes the field and detail tests is tested against the walls whose boxes
its sight line's box meets (one STRtree query over all pairs), with one line-line
intersection per (pair, wall) in numpy: the wall blocks when the building is taller than the
sight line where it crosses (``h_c + u (h_t - h_c)`` at the fraction ``u`` of the way); and
the target is blocked outright when it stands inside a footprint taller than ``h_t``.
Metric CRS (metres) throughout; angles in degrees unless named ``_rad``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from gridcover.coverage.views.occlusion import F64, I64, Walls

__all__ = [
    "DORI_PPM",
    "LEVEL_NAMES",
    "Optics",
    "Prisms",
    "SightPairs",
    "detail_level",
    "pixel_density",
    "sight_pairs",
]

DORI_PPM = (25.0, 62.5, 125.0, 250.0)
"""IEC 62676-4 pixel densities (px/m) of detect, observe, recognise, identify."""
LEVEL_NAMES = ("none", "detect", "observe", "recognise", "identify")

_CHUNK = 2048  # cameras per task
_EPS = 1e-9


def pixel_density(width_px: npt.ArrayLike, fov_deg: npt.ArrayLike, slant_m: npt.ArrayLike) -> F64:
    """Pixels per metre ``W / (2 D tan(f/2))`` at slant distance ``D`` (metres).

    ``width_px``: horizontal pixels W (``inf`` = unlimited); ``fov_deg``: the lens' horizontal
    angle f in degrees (0 < f < 180). ``D = 0`` gives ``inf``.
    """
    w = np.asarray(width_px, dtype=np.float64)
    half = np.tan(np.radians(np.asarray(fov_deg, dtype=np.float64)) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = w / (2.0 * np.asarray(slant_m, dtype=np.float64) * half)
    return np.asarray(np.where(np.isnan(out), np.inf, out), dtype=np.float64)


def detail_level(ppm: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """DORI level 0-4 of pixel densities (0 below 25 px/m; 4 at 250 px/m or more)."""
    return np.searchsorted(np.asarray(DORI_PPM), np.asarray(ppm), side="right").astype(np.int8)


@dataclass(frozen=True, eq=False)
class Optics:
    """Everything the 3D model needs per camera, as used (metric CRS, metres, degrees).

    ``x``/``y``: ground point (after snapping off walls); ``height_m``: h_c;
    ``azimuth_deg``: GRID bearing of the view centre in the metric CRS (the camera's true
    azimuth minus the meridian convergence, see :mod:`gridcover.gis.north`), NaN = 360°
    view; ``fov_deg``: horizontal field (360 = all round);
    ``range_m``: inf when none; ``tilt_deg``: NaN = no vertical limit (also for ptz);
    ``vfov_deg``: vertical field; ``width_px``: W (inf = unlimited); ``lens_fov_deg``: f of
    the ppm formula; ``night_m``: slant distance the camera's own light reaches at night
    (0 = no light, cannot see at night).
    """

    x: F64
    y: F64
    height_m: F64
    azimuth_deg: F64
    fov_deg: F64
    range_m: F64
    tilt_deg: F64
    vfov_deg: F64
    width_px: F64
    lens_fov_deg: F64
    night_m: F64

    @property
    def n(self) -> int:
        return int(self.x.size)

    def subset(self, idx: npt.ArrayLike) -> Optics:
        """The cameras at positions ``idx`` (same fields)."""
        i = np.asarray(idx)
        return Optics(*(getattr(self, f)[i] for f in self.__dataclass_fields__))

    def updated(self, idx: npt.ArrayLike, new: Optics) -> Optics:
        """These optics with rows ``idx`` set to ``new``'s rows (in order); rows past the
        end are appended (``idx`` must then cover every new position)."""
        i = np.asarray(idx, dtype=np.int64)
        n = max(self.n, int(i.max()) + 1) if i.size else self.n
        out = []
        for f in self.__dataclass_fields__:
            col = np.full(n, np.nan)
            col[: self.n] = getattr(self, f)
            col[i] = getattr(new, f)
            out.append(col)
        return Optics(*out)

    def detect_slant_m(self) -> F64:
        """Slant distance D at which ppm falls to 25 (detection), metres (inf if W is)."""
        half = np.tan(np.radians(self.lens_fov_deg) / 2.0)
        return np.asarray(self.width_px / (2.0 * DORI_PPM[0] * half), dtype=np.float64)

    def reach_m(self, target_height_m: float) -> F64:
        """Largest horizontal distance at which a target can be seen (range and detection)."""
        dh = self.height_m - target_height_m
        dmax = self.detect_slant_m()
        with np.errstate(invalid="ignore"):
            flat = np.sqrt(np.maximum(dmax * dmax - dh * dh, 0.0))
        return np.asarray(np.minimum(np.where(dmax >= np.abs(dh), flat, 0.0), self.range_m))


@dataclass(frozen=True, eq=False)
class Prisms:
    """Buildings as prisms: the walls (``Walls``) and the height of each wall segment and
    polygon part (metres above ground; ``inf`` = infinitely tall, the 2D model)."""

    walls: Walls
    seg_height: F64
    part_height: F64

    @classmethod
    def from_walls(cls, walls: Walls, building_height_m: npt.ArrayLike) -> Prisms:
        """``building_height_m``: one height per input building of ``walls`` (metres)."""
        h = np.asarray(building_height_m, dtype=np.float64)
        part_h = h[walls.part_building] if walls.part_building.size else np.zeros(0)
        return cls(walls, part_h[walls.seg_part], part_h)


@dataclass(frozen=True, eq=False)
class SightPairs:
    """(cell, camera) pairs where the camera sees the cell centroid, with the day detail
    level (1-4), the slant distance (metres) and whether it also sees it at night."""

    cell_idx: I64
    camera_idx: I64
    level: npt.NDArray[np.int8]
    slant_m: F64
    night: npt.NDArray[np.bool_]


def roof_heights(prisms: Prisms | None, x: F64, y: F64) -> F64:
    """Per point, the height of the tallest footprint containing it (0 outside all)."""
    out = np.zeros(x.size)
    if prisms is None or prisms.walls.parts.size == 0 or x.size == 0:
        return out
    pt, part = prisms.walls.part_tree.query(shapely.points(x, y), predicate="intersects")
    np.maximum.at(out, pt, prisms.part_height[part])
    return out


def sight_pairs(
    optics: Optics,
    cx: F64,
    cy: F64,
    *,
    target_height_m: float,
    tree: shapely.STRtree,
    prisms: Prisms | None = None,
    roof_m: F64 | None = None,
    threads: int | None = None,
) -> SightPairs:
    """Every (cell, camera) pair of the 3D model, grouped by camera in camera order.

    ``cx``/``cy``: cell centroids (metres, the cameras' CRS); ``tree``: an STRtree over those
    centroids as points (``Cells.tree``); ``prisms``: occluding buildings (None: none);
    ``roof_m``: :func:`roof_heights` of the centroids if already known. ``threads``: worker
    threads (default: CPU count, at most 8); shapely and numpy release the GIL.
    """
    if roof_m is None:
        roof_m = roof_heights(prisms, cx, cy)
    reach = optics.reach_m(target_height_m)
    starts = range(0, optics.n, _CHUNK)

    def chunk(s: int) -> tuple[np.ndarray, ...]:
        sl = np.arange(s, min(s + _CHUNK, optics.n))
        return _chunk(optics, sl, reach, cx, cy, target_height_m, tree, prisms, roof_m)

    n_threads = min(threads or os.cpu_count() or 1, 8, max(len(starts), 1))
    if n_threads <= 1:
        parts = [chunk(s) for s in starts]
    else:
        with ThreadPoolExecutor(n_threads) as pool:
            parts = list(pool.map(chunk, starts))
    if not parts:
        e = np.zeros(0, dtype=np.int64)
        return SightPairs(e, e, np.zeros(0, np.int8), np.zeros(0), np.zeros(0, bool))
    cols = [np.concatenate([p[k] for p in parts]) for k in range(5)]
    return SightPairs(
        cols[0].astype(np.int64),
        cols[1].astype(np.int64),
        cols[2].astype(np.int8),
        cols[3].astype(np.float64),
        cols[4].astype(bool),
    )


def _chunk(
    o: Optics,
    sl: I64,
    reach: F64,
    cx: F64,
    cy: F64,
    th: float,
    tree: shapely.STRtree,
    prisms: Prisms | None,
    roof: F64,
) -> tuple[np.ndarray, ...]:
    r = reach[sl]
    ok_cam = r > 0
    sl, r = sl[ok_cam], r[ok_cam]
    x, y = o.x[sl], o.y[sl]
    boxes = shapely.box(x - r, y - r, x + r, y + r)
    local, cell = tree.query(boxes)
    cam = sl[local]
    dx, dy = cx[cell] - o.x[cam], cy[cell] - o.y[cam]
    d = np.hypot(dx, dy)
    keep = d <= reach[cam]
    # horizontal field: angle to the axis <= fov/2 (360°: any bearing)
    az = np.radians(o.azimuth_deg[cam])
    half = np.radians(o.fov_deg[cam]) / 2.0
    part = np.isfinite(az) & (half < np.pi - _EPS)
    dot = dx * np.sin(az) + dy * np.cos(az)
    keep &= ~part | (dot >= d * np.cos(half) - 1e-9 * np.maximum(d, 1.0))
    cam, cell, d = cam[keep], cell[keep], d[keep]
    hc = o.height_m[cam]
    # vertical field, when a tilt is given
    tilt = o.tilt_deg[cam]
    dep = np.degrees(np.arctan2(hc - th, d))
    vhalf = o.vfov_deg[cam] / 2.0
    keep = np.isnan(tilt) | ((dep >= tilt - vhalf - 1e-9) & (dep <= tilt + vhalf + 1e-9))
    slant = np.hypot(d, hc - th)
    level = detail_level(pixel_density(o.width_px[cam], o.lens_fov_deg[cam], slant))
    keep &= level >= 1
    keep &= roof[cell] <= th
    cam, cell, slant, level = cam[keep], cell[keep], slant[keep], level[keep]
    if prisms is not None and prisms.walls.n_segments and cam.size:
        seen = ~_blocked(o.x[cam], o.y[cam], o.height_m[cam], cx[cell], cy[cell], th, prisms)
        cam, cell, slant, level = cam[seen], cell[seen], slant[seen], level[seen]
    night = slant <= o.night_m[cam]
    return cell, cam, level, slant, night


def _blocked(px: F64, py: F64, ph: F64, tx: F64, ty: F64, th: float, prisms: Prisms) -> np.ndarray:
    """Per sight line, whether a wall taller than the line where it crosses blocks it."""
    w = prisms.walls
    lines = shapely.linestrings(
        np.stack([np.stack([px, py], axis=1), np.stack([tx, ty], axis=1)], axis=1)
    )
    line, seg = w.seg_tree.query(lines)
    lo = np.minimum(ph[line], th)
    hs = prisms.seg_height[seg]
    tall = hs > lo  # a wall no taller than the lowest point of the line never blocks it
    line, seg, hs = line[tall], seg[tall], hs[tall]
    ox, oy = px[line], py[line]
    rx, ry = tx[line] - ox, ty[line] - oy
    qx, qy = w.x0[seg] - ox, w.y0[seg] - oy
    sx, sy = w.x1[seg] - w.x0[seg], w.y1[seg] - w.y0[seg]
    den = rx * sy - ry * sx
    with np.errstate(divide="ignore", invalid="ignore"):
        u = (qx * sy - qy * sx) / den  # along the sight line
        v = (qx * ry - qy * rx) / den  # along the wall
    cross = (den != 0) & (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    z = ph[line] + u * (th - ph[line])
    hit = cross & (hs > z)
    out = np.zeros(px.size, dtype=bool)
    out[line[hit]] = True
    return out
