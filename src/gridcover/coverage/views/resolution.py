"""Camera resolution text -> horizontal pixels.

Ledgers give a camera's resolution as text: ``1080P``, ``1920x1080``, ``1920*1080``, ``4MP``,
``400万`` (万像素, 10,000 pixels), or the GB/T 28181 names ``QCIF``, ``CIF``, ``4CIF``,
``D1``, ``720P``, ``1080P``. :func:`horizontal_pixels` reads any of them as the sensor's
horizontal pixel count W (used in ppm = W / (2 D tan(f/2))); text it cannot read gives NaN,
so the camera type's default applies. Megapixel figures assume the usual sensor of that
class (table ``MEGAPIXEL_WIDTH``, sources in docs/VIEWS.md).
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["MEGAPIXEL_WIDTH", "NAMED_WIDTH", "horizontal_pixels", "parse_resolution"]

NAMED_WIDTH: dict[str, int] = {
    # GB/T 28181-2016 annex: QCIF 176x144, CIF 352x288, 4CIF 704x576, D1 720x576 (PAL)
    "QCIF": 176,
    "CIF": 352,
    "4CIF": 704,
    "D1": 720,
    "720P": 1280,
    "960P": 1280,
    "1080P": 1920,
    "1440P": 2560,
    "2K": 2560,
    "1520P": 2688,
    "4K": 3840,
    "2160P": 3840,
    "8K": 7680,
}

MEGAPIXEL_WIDTH: dict[float, int] = {
    # common CCTV sensors: 1.3MP 1280x960, 2MP 1920x1080, 3MP 2048x1536, 4MP 2560x1440,
    # 5MP 2592x1944, 6MP 3072x2048, 8MP 3840x2160, 12MP 4000x3000
    1.0: 1280,
    1.3: 1280,
    2.0: 1920,
    3.0: 2048,
    4.0: 2560,
    5.0: 2592,
    6.0: 3072,
    8.0: 3840,
    12.0: 4000,
}

_WXH = re.compile(r"^(\d{3,5})\s*[X×*]\s*(\d{3,5})$")
_MP = re.compile(r"^(\d+(?:\.\d+)?)\s*(?:MP|M|MPX|MEGAPIXEL|百万像素)$")
_WAN = re.compile(r"^(\d+(?:\.\d+)?)\s*万(?:像素)?$")


def parse_resolution(text: object) -> float:
    """Horizontal pixels of one resolution text (``"1080P"`` -> 1920.0), NaN if unreadable.

    A plain number of at least 100 is taken as the pixel width itself; megapixel figures
    (``4MP``, ``400万``) use the nearest class in ``MEGAPIXEL_WIDTH`` (a 16:9 width of
    ``sqrt(pixels * 16 / 9)`` when no class is within 10%).
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return float("nan")
    s = str(text).strip().upper().replace(" ", "").replace("像素", "")
    if not s:
        return float("nan")
    if s in NAMED_WIDTH:
        return float(NAMED_WIDTH[s])
    m = _WXH.match(s)
    if m:
        return float(max(int(m.group(1)), int(m.group(2))))
    m = _MP.match(s)
    if m:
        return _megapixels(float(m.group(1)))
    m = _WAN.match(s)
    if m:
        return _megapixels(float(m.group(1)) / 100.0)
    try:
        value = float(s)
    except ValueError:
        return float("nan")
    return value if value >= 100 else float("nan")


def _megapixels(mp: float) -> float:
    if not mp > 0:
        return float("nan")
    near = min(MEGAPIXEL_WIDTH, key=lambda k: abs(k - mp))
    if abs(near - mp) <= 0.1 * mp:
        return float(MEGAPIXEL_WIDTH[near])
    return float(np.round(np.sqrt(mp * 1e6 * 16.0 / 9.0)))


def horizontal_pixels(
    resolution_px: npt.ArrayLike | None, resolution: npt.ArrayLike | None, n: int
) -> npt.NDArray[np.float64]:
    """Per camera W in pixels: ``resolution_px`` where given (> 0), else the parsed
    ``resolution`` text, else NaN (the caller applies the type default). Each distinct text
    is parsed once."""
    out = np.full(n, np.nan)
    if resolution is not None:
        texts = pd.Series(np.asarray(resolution, dtype=object))
        codes, uniq = pd.factorize(texts, use_na_sentinel=True)
        parsed = np.array([parse_resolution(u) for u in uniq], dtype=np.float64)
        ok = codes >= 0
        out[ok] = parsed[codes[ok]]
    if resolution_px is not None:
        px = pd.to_numeric(pd.Series(np.asarray(resolution_px, dtype=object)), errors="coerce")
        px_arr = px.to_numpy(dtype=np.float64, na_value=np.nan)
        given = np.isfinite(px_arr) & (px_arr > 0)
        out[given] = px_arr[given]
    return out
