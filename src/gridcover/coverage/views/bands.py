"""Detail bands of each camera: how far each DORI level reaches, the near blind zone, and
the band polygons (rings of the sector) cut by 3D occlusion.

Distances are horizontal, in metres, for a target ``target_height_m`` above ground. Level k
reaches to the distance where ``ppm = W / (2 D tan(f/2))`` falls to its threshold:
``D_k = W / (2 tan(f/2) ppm_k)``, ``d_k = sqrt(D_k^2 - (h_c - h_t)^2)``. The vertical field
(when a tilt is given) makes a near blind zone ``d < near`` (too steep below the camera) and,
for a steep tilt, a far limit. Band k (exactly level k) spans ``[max(near, d_{k+1}),
min(d_k, far, range)]``.

Polygons: the ring of each band, minus every building's *shadow*: the ground a wall hides
from the camera for targets at ``h_t`` (the central projection of the wall from the camera,
from the wall to ``(h_c - h_t) / (h_c - H_b)`` times its distance, or to the range when the
building is at least as tall as the camera), minus footprints taller than ``h_t``. For
drawing (maps, API, report); the per-cell figures come from :mod:`.sight`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from gridcover.coverage.views.occlusion import F64, TWO_PI, Geoms
from gridcover.coverage.views.sight import DORI_PPM, LEVEL_NAMES, Optics, Prisms

__all__ = ["BAND_COLUMNS", "band_distances", "band_polygons", "cut_rings"]

_CHUNK = 2048  # rings per task

BAND_COLUMNS = ("identify_m", "recognise_m", "observe_m", "detect_m", "near_blind_m", "far_m")


def band_distances(optics: Optics, target_height_m: float) -> pd.DataFrame:
    """Per camera: outer distance of each level (``identify_m`` ... ``detect_m``, already
    cut by range and the vertical field), ``near_blind_m`` (no view closer than this) and
    ``far_m`` (the vertical field's far limit, inf if none). Metres, horizontal."""
    dh = optics.height_m - target_height_m
    half = np.tan(np.radians(optics.lens_fov_deg) / 2.0)
    near, far = _vertical_limits(optics, dh)
    out: dict[str, F64] = {}
    for name, ppm in zip(("detect", "observe", "recognise", "identify"), DORI_PPM, strict=True):
        slant = optics.width_px / (2.0 * half * ppm)
        with np.errstate(invalid="ignore"):
            d = np.where(slant >= np.abs(dh), np.sqrt(np.maximum(slant**2 - dh**2, 0.0)), 0.0)
        d = np.minimum(np.minimum(d, far), optics.range_m)
        out[f"{name}_m"] = np.where(d > near, d, 0.0)
    cols = {c: out[c] for c in BAND_COLUMNS[:4]}
    return pd.DataFrame({**cols, "near_blind_m": near, "far_m": far})


def _vertical_limits(o: Optics, dh: F64) -> tuple[F64, F64]:
    """Horizontal distances [near, far] where the depression angle is inside the vertical
    field (no tilt: [0, inf]); an empty field gives near = far = inf... clipped to 0 band."""
    lo = np.radians(o.tilt_deg - o.vfov_deg / 2.0)
    hi = np.radians(o.tilt_deg + o.vfov_deg / 2.0)
    a = np.abs(dh)
    near = np.zeros(dh.size)
    far = np.full(dh.size, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        up = dh > 0  # depression falls from 90° at the foot towards 0° far away
        near = np.where(up & (hi < np.pi / 2), np.where(hi > 0, a / np.tan(hi), np.inf), near)
        far = np.where(up & (lo > 0), a / np.tan(lo), far)
        down = dh < 0  # target above the camera: elevation, depression rises from -90° to 0°
        far = np.where(down & (hi < 0), a / np.tan(-hi), far)
        near = np.where(down & (lo > -np.pi / 2), np.where(lo < 0, a / np.tan(-lo), np.inf), near)
        flat = dh == 0
        blind = flat & ~((lo <= 0) & (hi >= 0))
        near = np.where(blind, np.inf, near)
    none = np.isnan(o.tilt_deg)
    return np.where(none, 0.0, near), np.where(none, np.inf, far)


def band_polygons(
    optics: Optics,
    prisms: Prisms | None,
    target_height_m: float,
    *,
    outline: Geoms | None = None,
    step_deg: float = 3.0,
) -> gpd.GeoDataFrame:
    """One row per (camera, level) with a non-empty band: ``camera`` (position), ``level``
    (1-4), ``level_name``, ``inner_m``, ``outer_m`` and the band polygon (the cameras' metric
    CRS, no CRS set), cut by the buildings' 3D shadows. ``outline``: each camera's whole
    view already cut (:func:`cut_rings` from the near blind zone to ``detect_m``; computed
    when None); every band is that outline intersected with its ring. Vectorised."""
    dist = band_distances(optics, target_height_m)
    outer_cols = ["detect_m", "observe_m", "recognise_m", "identify_m"]
    outer = dist[outer_cols].to_numpy()  # (n, 4), level 1..4
    inner = np.concatenate([outer[:, 1:], np.zeros((optics.n, 1))], axis=1)
    inner = np.maximum(inner, dist["near_blind_m"].to_numpy()[:, None])
    cam, lv = np.nonzero(outer > inner + 1e-6)
    o_r, i_r = outer[cam, lv], inner[cam, lv]
    if outline is None:
        near = np.minimum(dist["near_blind_m"].to_numpy(), outer[:, 0])
        every = np.arange(optics.n)
        outline = cut_rings(optics, prisms, target_height_m, every, near, outer[:, 0],
                            step_deg=step_deg)  # fmt: skip
    rings = _rings(optics, cam, i_r, o_r, np.radians(step_deg))
    shapes = shapely.intersection(rings, np.asarray(outline, dtype=object)[cam])
    return gpd.GeoDataFrame(
        {
            "camera": cam.astype(np.int64),
            "level": (lv + 1).astype(np.int8),
            "level_name": np.asarray(LEVEL_NAMES, dtype=object)[lv + 1],
            "inner_m": i_r,
            "outer_m": o_r,
        },
        geometry=shapes,
    )


def cut_rings(
    optics: Optics,
    prisms: Prisms | None,
    target_height_m: float,
    cam: npt.NDArray[np.intp],
    inner_m: F64,
    outer_m: F64,
    *,
    step_deg: float = 3.0,
) -> Geoms:
    """Ring ``[inner_m, outer_m]`` of camera ``cam``'s horizontal field (one per entry),
    minus the 3D shadows of the buildings for targets ``target_height_m`` above ground.
    Entries are processed in chunks of ``_CHUNK`` (bounded memory) on up to 8 threads
    (GEOS releases the GIL)."""
    out = np.empty(cam.size, dtype=object)
    starts = range(0, cam.size, _CHUNK)

    def one(s: int) -> None:
        sl = slice(s, s + _CHUNK)
        shapes = _rings(optics, cam[sl], inner_m[sl], outer_m[sl], np.radians(step_deg))
        shadows = _shadow_sets(optics, prisms, target_height_m, cam[sl], outer_m[sl])
        if shadows is not None:  # union each set first (GEOS unions overlaps faster so)
            shapes = shapely.difference(shapes, shapely.buffer(shadows, 0.0))
        out[sl] = shapes

    n_threads = min(os.cpu_count() or 1, 8, len(starts))
    if n_threads <= 1:
        for s in starts:
            one(s)
    else:
        with ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(one, starts))
    return out


def _rings(o: Optics, cam: npt.NDArray[np.intp], r0: F64, r1: F64, step: float) -> Geoms:
    """Annular sectors [r0, r1] of the cameras' horizontal fields."""
    fov = np.radians(np.where(np.isnan(o.azimuth_deg[cam]), 360.0, o.fov_deg[cam]))
    full = fov >= TWO_PI - 1e-9
    start = np.radians(np.nan_to_num(o.azimuth_deg[cam])) - fov / 2.0
    n = np.maximum(np.ceil(fov / step), 2).astype(np.int64) + 1
    k = np.repeat(np.arange(cam.size), n)
    t = np.arange(k.size) - np.repeat(np.cumsum(n) - n, n)
    b = start[k] + t * (fov / (n - 1))[k]
    x, y = o.x[cam][k], o.y[cam][k]
    ox, oy = x + r1[k] * np.sin(b), y + r1[k] * np.cos(b)
    ix, iy = x + r0[k] * np.sin(b), y + r0[k] * np.cos(b)
    # ring: outer arc forward, inner arc backward (an apex when r0 = 0), closed
    coords = np.concatenate([np.stack([ox, oy], 1), np.stack([ix, iy], 1)[::-1]], axis=0)
    idx = np.concatenate([k, k[::-1]])
    order = np.argsort(idx, kind="stable")
    # valid as built: the arcs never cross (an apex repeated when r0 = 0 is allowed)
    rings = shapely.polygons(shapely.linearrings(coords[order], indices=idx[order]))
    # full circles: a disc minus the inner disc (the arc ring above would self-touch)
    if full.any():
        f = np.flatnonzero(full)
        centre = shapely.points(o.x[cam[f]], o.y[cam[f]])
        quad = max(int(np.ceil(np.pi / 2 / step)), 2)
        disc = shapely.buffer(centre, r1[f], quad_segs=quad)
        hole = shapely.buffer(centre, r0[f], quad_segs=quad)
        rings[f] = shapely.difference(disc, hole)
    return np.asarray(rings)


def _in_field(o: Optics, c: npt.NDArray[np.intp], px0: F64, py0: F64, px1: F64, py1: F64):
    """Whether the angle a wall spans (seen from camera ``c``) meets the horizontal field."""
    fov = np.radians(np.where(np.isnan(o.azimuth_deg[c]), 360.0, o.fov_deg[c]))
    start = np.radians(np.nan_to_num(o.azimuth_deg[c])) - fov / 2.0
    a = np.mod(np.arctan2(px0, py0) - start, TWO_PI)
    b = np.mod(np.arctan2(px1, py1) - start, TWO_PI)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    wraps = hi - lo > np.pi  # the wall's arc is [hi, 2 pi) + [0, lo]: it holds the start
    return (fov >= TWO_PI - 1e-9) | wraps | (lo <= fov)


def _shadow_sets(
    o: Optics, prisms: Prisms | None, th: float, cam: npt.NDArray[np.intp], reach: F64
) -> Geoms | None:
    """Per band, a GeometryCollection of the wall shadows and tall footprints near it."""
    if prisms is None or prisms.walls.n_segments == 0 or cam.size == 0:
        return None
    w = prisms.walls
    x, y = o.x[cam], o.y[cam]
    band, seg = w.seg_tree.query(shapely.box(x - reach, y - reach, x + reach, y + reach))
    c = cam[band]
    hc, hb = o.height_m[c], prisms.seg_height[seg]
    px0, py0 = w.x0[seg] - o.x[c], w.y0[seg] - o.y[c]
    px1, py1 = w.x1[seg] - o.x[c], w.y1[seg] - o.y[c]
    # the building hides targets behind the wall (camera above h_t) from near*s to far*s
    with np.errstate(divide="ignore", invalid="ignore"):
        above = hc >= th
        casts = np.where(above, hb > th, hb > hc)
        k_far = np.where(above & (hb < hc), (hc - th) / (hc - hb), np.inf)
        k_near = np.where(above, 1.0, np.maximum(1.0, (th - hc) / (hb - hc)))
    ex, ey = px1 - px0, py1 - py0
    ee = np.maximum(ex * ex + ey * ey, 1e-12)
    s = np.clip(-(px0 * ex + py0 * ey) / ee, 0.0, 1.0)
    dmin = np.maximum(np.hypot(px0 + s * ex, py0 + s * ey), 1e-3)
    k_cap = 1.05 * reach[band] / dmin + 1.0
    k_far = np.minimum(k_far, k_cap)
    spread = np.abs(px0 * py1 - py0 * px1)  # zero for a wall seen edge-on: no area
    keep = casts & (k_far > k_near) & (k_near < k_cap) & (spread > 1e-9 * (dmin * dmin + 1.0))
    # a back wall (camera on the building's side of it) adds nothing to the front walls'
    # shadows and the footprint unless the camera looks over the roof
    front = (ex * -py0 - ey * -px0) < 0.0
    keep &= (front | (hb < hc)) & (dmin < reach[band])
    keep &= _in_field(o, c, px0, py0, px1, py1) | (dmin < 1.0)
    band, c, px0, py0, px1, py1 = band[keep], c[keep], px0[keep], py0[keep], px1[keep], py1[keep]
    kn, kf = k_near[keep], k_far[keep]
    cx, cy = o.x[c], o.y[c]
    quad = np.stack(
        [
            np.stack([cx + kn * px0, cy + kn * py0], 1),
            np.stack([cx + kn * px1, cy + kn * py1], 1),
            np.stack([cx + kf * px1, cy + kf * py1], 1),
            np.stack([cx + kf * px0, cy + kf * py0], 1),
            np.stack([cx + kn * px0, cy + kn * py0], 1),
        ],
        axis=1,
    )
    quads = shapely.polygons(quad)
    fb, part = w.part_tree.query(shapely.box(x - reach, y - reach, x + reach, y + reach))
    tall = prisms.part_height[part] > th
    geoms = np.concatenate([quads, w.parts[part[tall]]])
    owner = np.concatenate([band, fb[tall]])
    order = np.argsort(owner, kind="stable")
    out = np.empty(cam.size, dtype=object)
    out[:] = shapely.GeometryCollection()
    if owner.size:  # bands without any shadow keep the empty collection
        shapely.geometrycollections(geoms[order], indices=owner[order], out=out)
    return out
