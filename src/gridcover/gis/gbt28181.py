"""Codes of the national video-networking standard GB/T 28181 (device catalogue) and of
Chinese camera ledgers (台账), as tables, with the parsers that read them.

Each parser takes one raw value (a code such as ``3`` or the words a ledger writes, such as
``固定枪机``) and returns the canonical value, or raises ValueError with a short reason.
docs/DATA.md lists the same tables with their meaning.
"""

from __future__ import annotations

import re
from typing import Any

from gridcover.gis.values import parse_float, parse_int

# PTZType: camera structure. The code itself is kept in ptz_type; it also gives type.
PTZ_TYPES: dict[int, tuple[str, str]] = {
    0: ("other", "未知"),
    1: ("ptz", "球机"),
    2: ("dome", "半球"),
    3: ("bullet", "固定枪机"),
    4: ("bullet", "遥控枪机"),
}
PTZ_TYPE_WORDS: dict[str, int] = {
    "未知": 0,
    "球机": 1,
    "快球": 1,
    "半球": 2,
    "固定枪机": 3,
    "枪机": 3,
    "遥控枪机": 4,
}

# DirectionType: 8 compass points -> azimuth, degrees clockwise from north (±22.5°).
DIRECTION_TYPES: dict[int, tuple[float, str]] = {
    1: (90.0, "东"),
    2: (270.0, "西"),
    3: (180.0, "南"),
    4: (0.0, "北"),
    5: (135.0, "东南"),
    6: (45.0, "东北"),
    7: (225.0, "西南"),
    8: (315.0, "西北"),
}

ROOM_TYPES: dict[str, str] = {
    "1": "outdoor",
    "2": "indoor",
    "室外": "outdoor",
    "室内": "indoor",
    "outdoor": "outdoor",
    "indoor": "indoor",
}
USE_TYPES: dict[str, str] = {
    "1": "public_order",
    "2": "traffic",
    "3": "key_site",
    "治安": "public_order",
    "交通": "traffic",
    "重点": "key_site",
    "public_order": "public_order",
    "traffic": "traffic",
    "key_site": "key_site",
}
SUPPLY_LIGHT_TYPES: dict[str, str] = {
    "1": "none",
    "2": "infrared",
    "3": "white",
    "无": "none",
    "无补光": "none",
    "否": "none",
    "none": "none",
    "红外": "infrared",
    "红外补光": "infrared",
    "是": "infrared",
    "infrared": "infrared",
    "ir": "infrared",
    "白光": "white",
    "白光补光": "white",
    "white": "white",
}
POSITION_TYPES: dict[int, str] = {
    1: "省际检查站",
    2: "党政机关",
    3: "车站码头",
    4: "中心广场",
    5: "体育场馆",
    6: "商业中心",
    7: "宗教场所",
    8: "校园周边",
    9: "治安复杂区域",
    10: "交通干线",
}
# Resolution codes (GB/T 28181-2016) and common ledger words -> horizontal pixels.
RESOLUTION_PX: dict[str, int] = {
    "1": 176,
    "2": 352,
    "3": 704,
    "4": 720,
    "5": 1280,
    "6": 1920,
    "qcif": 176,
    "cif": 352,
    "4cif": 704,
    "d1": 720,
    "720p": 1280,
    "960p": 1280,
    "1080p": 1920,
    "1080i": 1920,
    "4k": 3840,
    "130万": 1280,
    "200万": 1920,
    "300万": 2048,
    "400万": 2560,
    "500万": 2592,
    "800万": 3840,
    # megapixels as catalogues and spec sheets write them (widths as views.resolution)
    "1.3mp": 1280,
    "2mp": 1920,
    "3mp": 2048,
    "4mp": 2560,
    "5mp": 2592,
    "6mp": 3072,
    "8mp": 3840,
    "12mp": 4000,
}
# Owner class: words contained in the text, in order; anything else is 'other'.
OWNER_WORDS: tuple[tuple[str, str], ...] = (
    ("public_security", "public_security"),
    ("天网", "public_security"),
    ("公安", "public_security"),
    ("派出所", "public_security"),
    ("雪亮", "community"),
    ("community", "community"),
    ("社区", "community"),
    ("村", "community"),
    ("社会面", "social"),
    ("social", "social"),
    ("社会", "social"),
    ("企业", "social"),
    ("商户", "social"),
)

_PIXELS = re.compile(r"(\d{3,5})\s*[x×*]\s*(\d{3,5})", re.I)


def _key(value: Any) -> str:
    text = str(value).strip().lower()
    return text[:-2] if text.endswith(".0") else text


def _table(table: dict[str, str], what: str, value: Any) -> str:
    key = _key(value)
    if key in table:
        return table[key]
    raise ValueError(
        f"'{value}' is not a known {what} (allowed: {', '.join(sorted(set(table.values())))}; "
        f"codes {', '.join(k for k in table if k.isdigit())})"
    )


def parse_ptz_code(value: Any) -> float:
    """GB/T 28181 PTZType: a code 0-4 or its words (球机 1, 半球 2, 固定枪机 3, ...)."""
    key = _key(value)
    if key in PTZ_TYPE_WORDS:
        return float(PTZ_TYPE_WORDS[key])
    code = parse_int(value)
    if int(code) not in PTZ_TYPES:
        raise ValueError(f"'{value}' is not a PTZType code (0 unknown, 1 球机, 2 半球, 3, 4 枪机)")
    return code


def ptz_camera_type(value: Any) -> str:
    """The camera type (bullet/dome/ptz/other) of a PTZType code."""
    return PTZ_TYPES[int(parse_ptz_code(value))][0]


def parse_direction_code(value: Any) -> float:
    """GB/T 28181 DirectionType 1-8 (东, 西, 南, 北, 东南, 东北, 西南, 西北) -> azimuth."""
    code = int(parse_int(value))
    if code not in DIRECTION_TYPES:
        raise ValueError(f"'{value}' is not a DirectionType code (1 东 ... 8 西北)")
    return DIRECTION_TYPES[code][0]


def parse_room(value: Any) -> str:
    """RoomType: 1 outdoor, 2 indoor (or 室外 / 室内)."""
    return _table(ROOM_TYPES, "RoomType", value)


def parse_use(value: Any) -> str:
    """UseType: 1 治安 public_order, 2 交通 traffic, 3 重点 key_site."""
    return _table(USE_TYPES, "UseType", value)


def parse_light(value: Any) -> str:
    """SupplyLightType: 1 none, 2 infrared, 3 white light (or 无 / 红外 / 白光)."""
    return _table(SUPPLY_LIGHT_TYPES, "SupplyLightType", value)


def parse_owner(value: Any) -> str:
    """Owner class from 归属/建设单位 text: 天网/公安 public_security, 雪亮/社区 community,
    社会面 social; any other text is 'other' (the text itself is kept in owner_name)."""
    text = _key(value)
    return next((cls for word, cls in OWNER_WORDS if word in text), "other")


def parse_resolution_px(value: Any) -> float:
    """Horizontal pixels from a Resolution code (1-6), a name (D1, 1080P, 200万) or a pixel
    size ('1920*1080', '2560x1440'; several separated by '/' keep the largest)."""
    text = _key(value).replace(" ", "")
    parts = [p for p in re.split(r"[/,;、]", text) if p]
    found = [RESOLUTION_PX[p] for p in parts if p in RESOLUTION_PX]
    found += [int(m.group(1)) for m in _PIXELS.finditer(text)]
    if not found:
        raise ValueError(
            f"'{value}' is not a resolution (expected a code 1-6, QCIF/CIF/4CIF/D1/720P/1080P, "
            "200万, 4MP or a pixel size such as 1920*1080)"
        )
    return float(max(found))


def parse_millimetres(value: Any) -> float:
    """A focal length in mm: '4', '4mm', '2.8-12mm' (a zoom range keeps its short end)."""
    text = str(value).strip().lower().replace("毫米", "").replace("mm", "")
    return parse_float(re.split(r"\s*[-~～]\s*", text)[0])


def parse_storeys(value: Any) -> float:
    """A storey count; '3.5' (a half storey) rounds to the nearest whole storey."""
    return float(round(parse_float(value)))
