"""Value parsers for real-world attribute text: compass words, approach directions, lengths
with units, and the synonym tables of the categorical fields (camera type and status,
post kind, site kind).

Each parser takes one raw value and returns the canonical value, or raises ValueError with
a short reason. ``convert_series`` applies a parser to the distinct values of a column only
(vectorised over repeats) and reports the rows whose value could not be parsed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

# 16-point compass, in English and Chinese, degrees clockwise from north.
_COMPASS_POINTS = (
    ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE"),
    ("S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW"),
)
COMPASS: dict[str, float] = {
    name: i * 22.5 for i, name in enumerate(_COMPASS_POINTS[0] + _COMPASS_POINTS[1])
}
COMPASS.update(
    {
        "NORTH": 0.0,
        "NORTHEAST": 45.0,
        "EAST": 90.0,
        "SOUTHEAST": 135.0,
        "SOUTH": 180.0,
        "SOUTHWEST": 225.0,
        "WEST": 270.0,
        "NORTHWEST": 315.0,
        "北": 0.0,
        "正北": 0.0,
        "东北": 45.0,
        "东": 90.0,
        "正东": 90.0,
        "东南": 135.0,
        "南": 180.0,
        "正南": 180.0,
        "西南": 225.0,
        "西": 270.0,
        "正西": 270.0,
        "西北": 315.0,
    }
)

# Direction of travel of the monitored traffic (Chicago "approach" fields) -> its bearing.
# The camera faces the oncoming traffic, so it looks the opposite way (bearing + 180).
APPROACH_TRAVEL: dict[str, float] = {
    "NB": 0.0,
    "NEB": 45.0,
    "EB": 90.0,
    "SEB": 135.0,
    "SB": 180.0,
    "SWB": 225.0,
    "WB": 270.0,
    "NWB": 315.0,
}

CAMERA_TYPE_SYNONYMS: dict[str, str] = {
    "bullet": "bullet",
    "fixed": "bullet",
    "box": "bullet",
    "枪机": "bullet",
    "枪型": "bullet",
    "枪式": "bullet",
    "固定": "bullet",
    "筒机": "bullet",
    "dome": "dome",
    "半球": "dome",
    "半球机": "dome",
    "ptz": "ptz",
    "panning": "ptz",
    "speed dome": "ptz",
    "球机": "ptz",
    "快球": "ptz",
    "高速球": "ptz",
    "云台": "ptz",
    "other": "other",
    "其他": "other",
    "其它": "other",
    # GB/T 28181 PTZType codes and words: 1 球机, 2 半球, 3 固定枪机, 4 遥控枪机, 0 unknown
    "1": "ptz",
    "2": "dome",
    "3": "bullet",
    "4": "bullet",
    "0": "other",
    "固定枪机": "bullet",
    "遥控枪机": "bullet",
    "摄像机": "other",
}

CAMERA_STATUS_SYNONYMS: dict[str, str] = {
    "online": "online",
    "on": "online",
    "active": "online",
    "ok": "online",
    "在线": "online",
    "正常": "online",
    "offline": "offline",
    "off": "offline",
    "inactive": "offline",
    "broken": "offline",
    "离线": "offline",
    "故障": "offline",
    "损坏": "offline",
    "停用": "offline",
    "unknown": "unknown",
    "未知": "unknown",
}

POST_KIND_SYNONYMS: dict[str, str] = {
    "station": "station",
    "police station": "station",
    "police": "station",
    "派出所": "station",
    "office": "office",
    "警务室": "office",
    "社区警务室": "office",
    "mobile": "mobile",
    "移动警务室": "mobile",
    "警务车": "mobile",
}

SITE_KIND_SYNONYMS: dict[str, str] = {
    "school": "school",
    "学校": "school",
    "小学": "school",
    "中学": "school",
    "kindergarten": "kindergarten",
    "幼儿园": "kindergarten",
    "hospital": "hospital",
    "clinic": "hospital",
    "医院": "hospital",
    "bank": "bank",
    "银行": "bank",
    "market": "market",
    "marketplace": "market",
    "supermarket": "market",
    "mall": "market",
    "市场": "market",
    "菜市场": "market",
    "商场": "market",
    "station": "station",
    "bus_station": "station",
    "车站": "station",
    "地铁站": "station",
    "火车站": "station",
    "entrance": "entrance",
    "出入口": "entrance",
    "入口": "entrance",
    "other": "other",
    "其他": "other",
}

FEET = 0.3048
LEVEL_HEIGHT_M = 3.0  # metres per storey when only building:levels is known
_NUM = r"[-+]?\d+(?:[.,]\d+)?"
_LENGTH = re.compile(rf"^\s*({_NUM})\s*(m|meter|meters|metre|metres|米|ft|feet|'|)\s*$", re.I)
_FEET_INCHES = re.compile(r"^\s*(\d+)\s*'\s*(\d+(?:\.\d+)?)\s*\"\s*$")
_NUMBER = re.compile(rf"^\s*({_NUM})\s*(°|度|deg|degrees?)?\s*$", re.I)


def is_blank(value: Any) -> bool:
    """True for None, NaN and whitespace-only text."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def parse_float(value: Any) -> float:
    """A plain number (a decimal comma is accepted)."""
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    m = _NUMBER.match(str(value))
    if not m:
        raise ValueError(f"'{value}' is not a number")
    return _number(m.group(1))


def parse_int(value: Any) -> float:
    """A whole number (returned as float so a column can hold NaN)."""
    x = parse_float(value)
    if not math.isfinite(x) or x != int(x):
        raise ValueError(f"'{value}' is not a whole number")
    return x


def parse_length_m(value: Any) -> float:
    """A length in metres: '4', '4 m', '4.5m', '12 ft', "12'", '5'6"', '4米'."""
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    text = str(value)
    m = _FEET_INCHES.match(text)
    if m:
        return (float(m.group(1)) + float(m.group(2)) / 12.0) * FEET
    m = _LENGTH.match(text)
    if not m:
        raise ValueError(f"'{value}' is not a length (expected e.g. '4', '4 m' or '12 ft')")
    x = _number(m.group(1))
    return x * FEET if m.group(2).lower() in ("ft", "feet", "'") else x


def parse_degrees(value: Any) -> float:
    """An azimuth in degrees: a number ('45', '45°') or a compass word ('NE', 'north', '东北').

    Several values separated by ';' (OSM) keep the first one.
    """
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    text = str(value).split(";")[0].strip()
    key = text.upper().replace(" ", "").replace("-", "")
    if key in COMPASS:
        return COMPASS[key]
    m = _NUMBER.match(text)
    if not m:
        raise ValueError(f"'{value}' is not a direction (expected degrees or N, NE, E, ...)")
    return _number(m.group(1))


def parse_approach(value: Any) -> float:
    """Facing azimuth from a traffic approach code (NB, SB, EB, WB, NEB, ...).

    The code names the direction the monitored traffic travels; the camera faces that
    traffic, so it looks the opposite way: NB (northbound) -> 180 (looks south).
    """
    key = str(value).strip().upper()
    if key not in APPROACH_TRAVEL:
        raise ValueError(f"'{value}' is not an approach code ({', '.join(APPROACH_TRAVEL)})")
    return (APPROACH_TRAVEL[key] + 180.0) % 360.0


def parse_levels_height(value: Any) -> float:
    """Building height in metres from a storey count ('6' -> 18.0 at 3 m per storey)."""
    return parse_float(value) * LEVEL_HEIGHT_M


def synonym_parser(table: dict[str, str], what: str) -> Callable[[Any], str]:
    """A parser mapping text (case-insensitive, trimmed) through ``table``."""
    allowed = sorted(set(table.values()))

    def parse(value: Any) -> str:
        key = str(value).strip().lower()
        if key in table:
            return table[key]
        raise ValueError(f"'{value}' is not a known {what} (allowed: {', '.join(allowed)})")

    return parse


def convert_series(
    values: pd.Series, parse: Callable[[Any], Any]
) -> tuple[list[Any], dict[str, np.ndarray]]:
    """Apply ``parse`` to each distinct non-blank value; blanks become None.

    Returns the converted values (a list, aligned with ``values``) and, per failure reason,
    the positions of the rows that failed.
    """
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    results: list[Any] = []
    reasons: list[str | None] = []
    for u in uniques:
        if is_blank(u):
            results.append(None)
            reasons.append(None)
            continue
        try:
            results.append(parse(u))
            reasons.append(None)
        except ValueError as exc:
            results.append(None)
            reasons.append(str(exc))
    lookup = np.array([*results, None], dtype=object)  # code -1 (NaN) -> None
    out = lookup[codes].tolist()
    failures: dict[str, np.ndarray] = {}
    for k, reason in enumerate(reasons):
        if reason is not None:
            rows = np.flatnonzero(codes == k)
            failures[reason] = np.concatenate([failures.get(reason, rows[:0]), rows])
    return out, {k: np.sort(v) for k, v in failures.items()}
