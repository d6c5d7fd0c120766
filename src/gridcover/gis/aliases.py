"""The alias tables: which real-world column names fill which canonical column, and how.

Data, not code: ``ALIASES[kind]`` is a tuple of ``Rule`` values, tried in order; the first
present column of a rule fills its target (further present columns fill its blanks). A rule
with ``share=True`` reads a column without consuming it, so a later rule can read the same
column too (GB/T 28181 ``PTZType`` gives both ``ptz_type`` and ``type``). Names are matched
after normalisation (lower case, no spaces or ``_ - : . / ( )``). docs/DATA.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """Fill canonical column ``target`` from the first present column of ``names``."""

    target: str
    names: tuple[str, ...]
    parse: str = "auto"
    share: bool = False


def _r(target: str, names: str, parse: str = "auto", share: bool = False) -> Rule:
    return Rule(target, tuple(n.strip() for n in names.split("|")), parse, share)


# Camera ledgers (台账) as Chinese units keep them, and the GB/T 28181 catalogue field names.
_CAMERAS = (
    _r(
        "camera_id",
        "camera_id|设备编码|设备编号|国标编码|国标编号|摄像机编号|点位编号|DeviceID|device_id|id",
    ),
    _r(
        "azimuth_deg",
        "azimuth_deg|azimuth_de|azimuth|camera:direction|direction|朝向|朝向角|方位角|方向角|"
        "方向|水平角|监视方位|方位|拍摄方向",
        "degrees",
    ),
    _r("azimuth_deg", "first approach|approach", "approach"),
    _r("azimuth_deg", "DirectionType|方向类型|监视方位类型", "direction_code"),
    _r("fov_deg", "fov_deg|fov|hfov|水平视场角|视场角|可视角度|视角|水平视角", "float"),
    _r("range_m", "range_m|range|有效距离|监控距离|可视距离|监视距离", "length"),
    _r("height_m", "height_m|height|安装高度|杆高|立杆高度|高度|est_height", "length"),
    _r("ptz_type", "ptz_type|PTZType|摄像机结构类型", "ptz_code", share=True),
    _r(
        "type",
        "type|camera:type|camera_type|摄像机类型|设备类型|类型|PTZType|摄像机结构类型",
        "camera_type",
    ),
    _r("status", "status|在线状态|设备状态|状态", "camera_status"),
    _r(
        "owner",
        "owner_class|归属|权属|建设类型|建设性质|owner|建设单位|权属单位|管理单位|operator",
        "owner",
        share=True,
    ),
    _r("owner_name", "owner_name|建设单位|权属单位|管理单位|operator|owner|归属|权属"),
    _r("tilt_deg", "tilt_deg|tilt|俯角|俯仰角|倾角|倾斜角", "degrees"),
    _r("vfov_deg", "vfov_deg|vfov|垂直视场角|垂直视角", "float"),
    _r("lens_fov_deg", "lens_fov_deg|镜头视场角|镜头视角", "float"),
    _r("focal_mm", "focal_mm|focal|焦距|镜头焦距", "millimetres"),
    _r("resolution_px", "resolution_px|Resolution|分辨率|像素", "resolution_px", share=True),
    _r("resolution", "resolution|Resolution|分辨率|像素"),
    _r("supply_light", "supply_light|SupplyLightType|补光|补光类型|红外|补光方式", "light"),
    _r("ir_range_m", "ir_range_m|补光距离|红外距离|红外照射距离", "length"),
    _r("room_type", "room_type|RoomType|室内外|室内室外|安装位置类型", "room"),
    _r("use_type", "use_type|UseType|用途|摄像机用途|用途类型", "use"),
    _r("position_type", "position_type|PositionType|位置类型|点位类型|摄像机位置类型", "int"),
    _r("civil_code", "civil_code|CivilCode|行政区划|行政区划代码|区划代码"),
    _r("name", "name|Name|点位名称|设备名称|安装地址|安装位置"),
)

ALIASES: dict[str, tuple[Rule, ...]] = {
    "grids": (
        _r("code", "code|grid_code|gridcode|网格编码|网格代码|网格编号|编码|代码"),
        _r(
            "parent_code",
            "parent_code|parent_cod|parent|上级网格编码|上级编码|上级网格代码|父级编码",
        ),
        _r("level", "level|grid_level|层级|网格层级|级别"),
        _r("name", "name|grid_name|网格名称|名称|网格名"),
        _r("chief_name", "chief_name|chief|网格长|网格员|负责人"),
        _r("chief_phone", "chief_phone|chief_phon|phone|联系电话|电话"),
        _r("households", "households|户数"),
        _r("population", "population|人口数|人口"),
    ),
    "cameras": _CAMERAS,
    "posts": (
        _r("post_id", "post_id|编号|编码|id"),
        _r("name", "name|名称"),
        _r("kind", "kind|类别|类型|type|amenity", "post_kind"),
    ),
    "buildings": (
        _r("building_id", "building_id|building_i|建筑编号|id|uid|objectid|fid|gid"),
        _r("levels", "levels|building:levels|floors|层数|楼层数", "storeys", share=True),
        _r("height_m", "height_m|height|建筑高度|高度", "length"),
        _r("height_m", "building:levels|levels|floors|层数|楼层数", "levels"),
    ),
    "roads": (
        _r("road_id", "road_id|道路编号|id|objectid|fid|gid"),
        _r("class", "class|highway|fclass|道路等级|等级"),
        _r(
            "name",
            "name|道路名称|名称|路名|街道名称|fullname|full_name|street_name|street_nam|st_name",
        ),
    ),
    "sites": (
        _r("site_id", "site_id|编号|id|objectid|fid"),
        _r("kind", "kind|类别|类型|amenity|type", "site_kind"),
        _r("name", "name|名称"),
        _r("weight", "weight|权重", "float"),
    ),
    "incidents": (
        _r("count", "count|警情数|数量|incidents|n", "int"),
        _r("period", "period|统计时段|时段"),
        _r("category", "category|类别"),
    ),
}

PARSE_NOTES: dict[str, str] = {
    "direction_code": "GB/T 28181 DirectionType codes (1 东 ... 8 西北) give the azimuth only "
    "to the nearest of 8 compass points (±22.5°, a 45° uncertainty)",
}
"""A note added to the read report whenever a column is read with that parser."""


def shared_targets(kind: str) -> frozenset[str]:
    """Canonical columns of ``kind`` whose source column stays free for later rules (an
    explicit mapping to one of them does not take the column away from the others)."""
    return frozenset(r.target for r in ALIASES.get(kind, ()) if r.share)
