"""Per-camera optics for the 3D model: mounting height, tilt, lenses, resolution, light.

Reads the OPTIONAL canonical camera columns ``height_m``, ``tilt_deg``, ``vfov_deg``,
``lens_fov_deg``, ``resolution_px``, ``resolution`` (text such as ``1080P``, parsed by
:mod:`gridcover.coverage.views.resolution`), ``supply_light``, ``ir_range_m``, ``ptz_type``
(GB/T 28181 code) and ``range_m``; any of them may be absent or empty, and then the type
default of :class:`OpticsDefaults` applies (figures and sources in docs/VIEWS.md).
Metric CRS, metres, degrees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from gridcover.coverage.views.camera_rows import CameraRows
from gridcover.coverage.views.resolution import horizontal_pixels
from gridcover.coverage.views.sight import Optics
from gridcover.errors import ValidationReport
from gridcover.gis.north import grid_bearing_xy

__all__ = ["GBT28181_PTZ_TYPE", "OpticsDefaults", "camera_optics", "vfov_16_9"]

F64 = npt.NDArray[np.float64]

GBT28181_PTZ_TYPE = {1: "ptz", 2: "dome", 3: "bullet", 4: "bullet"}
"""GB/T 28181-2016 ``PTZType``: 1 球机 (ptz), 2 半球 (dome), 3 固定枪机 (fixed bullet),
4 遥控枪机 (remote-controlled bullet); 0 = unknown."""

LIGHTS = ("none", "infrared", "white")


@dataclass(frozen=True)
class OpticsDefaults:
    """Per-type defaults of the 3D model (sources in docs/VIEWS.md).

    ``*_height_m``: mounting height above ground (metres); ``*_width_px``: horizontal pixels
    (1920 = 1080P, the 高清 baseline); ``*_lens_fov_deg``: the lens' horizontal angle used
    for pixel density when the camera's ``fov_deg`` is 360° (a dome's or PTZ's lens sees
    one direction at a time); ``*_light_m``: range of the built-in infrared light (0 = none).
    """

    bullet_height_m: float = 4.0
    bullet_width_px: float = 1920.0
    bullet_lens_fov_deg: float = 90.0
    bullet_light_m: float = 30.0
    dome_height_m: float = 3.0
    dome_width_px: float = 1920.0
    dome_lens_fov_deg: float = 100.0
    dome_light_m: float = 20.0
    ptz_height_m: float = 6.0
    ptz_width_px: float = 1920.0
    ptz_lens_fov_deg: float = 30.0
    ptz_light_m: float = 100.0
    other_height_m: float = 3.0
    other_width_px: float = 1280.0
    other_lens_fov_deg: float = 90.0
    other_light_m: float = 0.0

    def lookup(self, field: str, kinds: npt.ArrayLike) -> F64:
        """Vectorised default ``field`` (``height_m``, ``width_px``, ...) per type name."""
        arr = np.asarray(kinds, dtype=object)
        out = np.full(arr.shape, float(getattr(self, f"other_{field}")))
        for kind in ("bullet", "dome", "ptz"):
            out[arr == kind] = float(getattr(self, f"{kind}_{field}"))
        return out


def vfov_16_9(fov_deg: npt.ArrayLike) -> F64:
    """Vertical field of a 16:9 sensor from its horizontal field: 2 atan(tan(fov/2) 9/16)."""
    half = np.radians(np.minimum(np.asarray(fov_deg, dtype=np.float64), 179.0)) / 2.0
    return np.asarray(np.degrees(2.0 * np.arctan(np.tan(half) * 9.0 / 16.0)))


def camera_optics(
    cameras: gpd.GeoDataFrame,
    rows: CameraRows,
    x: F64,
    y: F64,
    defaults: OpticsDefaults | None = None,
    *,
    crs: Any,
) -> Optics:
    """Optics of validated camera rows at ground points ``x``/``y`` (metric CRS ``crs``,
    metres). ``Optics.azimuth_deg`` is the GRID bearing in ``crs`` of the rows' true
    azimuths at ``x``/``y`` (:func:`gridcover.gis.north.grid_bearing_xy`): the 3D model
    measures bearings in metric x/y.

    ``range_m`` limits the view only where the row gives one (the type's default range of
    the 2D model is not applied: in 3D the resolution sets how far a camera sees). Bad
    optional values are reported all at once in a ``ValidationReport``.
    """
    dflt = defaults or OpticsDefaults()
    n = len(cameras)
    problems: list[str] = []
    ids = rows.camera_id

    def num(name: str, lo: float, hi: float, unit: str) -> F64:
        if name not in cameras.columns:
            return np.full(n, np.nan)
        raw = cameras[name]
        v = np.array(
            pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        )
        blank = raw.isna().to_numpy() | raw.astype(str).str.strip().eq("").to_numpy()
        bad = ~blank & ~((v >= lo) & (v <= hi))
        for i in np.flatnonzero(bad)[:50]:
            problems.append(
                f"row {i} (camera_id {ids[i]!r}): {name} is {raw.iloc[i]!r}; give {unit} "
                f"between {lo:g} and {hi:g}, or leave it empty for the type default."
            )
        v[blank | bad] = np.nan
        return np.asarray(v)

    height = num("height_m", 0.0, 500.0, "metres above ground")
    tilt = num("tilt_deg", -90.0, 90.0, "degrees below horizontal")
    vfov = num("vfov_deg", 0.1, 180.0, "degrees")
    lens = num("lens_fov_deg", 0.1, 179.0, "degrees")
    light_m = num("ir_range_m", 0.0, 10_000.0, "metres")
    given_range = num("range_m", 0.0, np.inf, "metres")
    ptz_code = num("ptz_type", 0.0, 4.0, "a GB/T 28181 PTZType code")
    light = _lights(cameras, n, problems, ids)
    if problems:
        raise ValidationReport("cameras", problems)

    kinds = np.asarray(rows.type, dtype=object).copy()
    mapped = np.array(
        [GBT28181_PTZ_TYPE.get(int(c), "other") if c == c else "other" for c in ptz_code],
        dtype=object,
    )
    kinds = np.where((kinds == "other") & (mapped != "other"), mapped, kinds)
    width = horizontal_pixels(
        cameras["resolution_px"] if "resolution_px" in cameras.columns else None,
        cameras["resolution"] if "resolution" in cameras.columns else None,
        n,
    )
    width = np.where(np.isnan(width), dflt.lookup("width_px", kinds), width)
    height = np.where(np.isnan(height), dflt.lookup("height_m", kinds), height)
    fov = rows.fov_deg
    full = fov >= 360.0 - 1e-9
    f = np.where(full, dflt.lookup("lens_fov_deg", kinds), np.minimum(fov, 179.0))
    f = np.where(np.isnan(lens), f, lens)
    vf = np.where(np.isnan(vfov), vfov_16_9(f), vfov)
    tilt = np.where(kinds == "ptz", np.nan, tilt)
    night = np.where(np.isnan(light_m), dflt.lookup("light_m", kinds), light_m)
    night = np.where(light == "none", 0.0, night)
    # light named but no range: the type's default range, or 30 m for a type without light
    night = np.where(np.isin(light, ("infrared", "white")) & (night <= 0), 30.0, night)
    rng = np.where(np.isnan(given_range), np.inf, rows.range_m)
    return Optics(
        x=np.asarray(x, dtype=np.float64),
        y=np.asarray(y, dtype=np.float64),
        height_m=height.astype(np.float64),
        azimuth_deg=grid_bearing_xy(rows.azimuth_deg, x, y, crs),
        fov_deg=fov,
        range_m=rng.astype(np.float64),
        tilt_deg=tilt.astype(np.float64),
        vfov_deg=vf.astype(np.float64),
        width_px=width.astype(np.float64),
        lens_fov_deg=f.astype(np.float64),
        night_m=night.astype(np.float64),
    )


def _lights(cameras: pd.DataFrame, n: int, problems: list[str], ids: np.ndarray) -> np.ndarray:
    if "supply_light" not in cameras.columns:
        return np.full(n, "", dtype=object)
    col = cameras["supply_light"]
    vals = col.astype(object).where(col.notna(), "").to_numpy(dtype=object)
    out = np.array([str(v).strip().lower() for v in vals], dtype=object)
    zh = {"红外": "infrared", "白光": "white", "无": "none", "ir": "infrared"}
    out = np.array([zh.get(v, v) for v in out], dtype=object)
    for i in np.flatnonzero(~np.isin(out, ("", *LIGHTS)))[:50]:
        problems.append(
            f"row {i} (camera_id {ids[i]!r}): supply_light is {vals[i]!r}; use one of "
            f"{', '.join(LIGHTS)} (or leave it empty for the type default)."
        )
    return out
