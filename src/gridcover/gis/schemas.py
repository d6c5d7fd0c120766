"""Canonical layer schemas: the columns every validated GeoDataFrame carries.

``read_layer`` maps real-world columns (OSM tags, Chicago open data, Chinese headers) onto
these names, checks types and ranges, and returns a GeoDataFrame in EPSG:4326 whose
columns are exactly the canonical ones (in this order) followed by any extra attributes
the file had (kept unchanged, never renamed). docs/DATA.md documents the same table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Dtype = Literal["str", "int", "float"]
GeomKind = Literal["point", "polygon", "line", "point_or_polygon"]


@dataclass(frozen=True)
class Field:
    """One canonical column: name, type, whether required, bilingual label, allowed values."""

    name: str
    dtype: Dtype
    required: bool
    zh: str
    en: str
    allowed: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class LayerSchema:
    """A layer kind: its geometry kind, its id column and its fields."""

    kind: str
    zh: str
    geometry: GeomKind
    id_field: str | None
    fields: tuple[Field, ...] = field(default_factory=tuple)

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    def get(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


CAMERA_TYPES = ("bullet", "dome", "ptz", "other")
CAMERA_STATUS = ("online", "offline", "unknown")
CAMERA_OWNERS = ("public_security", "community", "social", "other")  # 天网, 雪亮, 社会面, 其他
SUPPLY_LIGHTS = ("none", "infrared", "white")
ROOM_TYPES = ("outdoor", "indoor")
USE_TYPES = ("public_order", "traffic", "key_site")  # GB/T 28181 UseType 1 治安, 2 交通, 3 重点
POST_KINDS = ("station", "office", "mobile")  # 派出所, 警务室, 移动警务室
POST_KIND_ZH = {"station": "派出所", "office": "警务室", "mobile": "移动警务室"}
SITE_KINDS = (
    "school",
    "kindergarten",
    "hospital",
    "bank",
    "market",
    "station",
    "entrance",
    "other",
)

GRIDS = LayerSchema(
    kind="grids",
    zh="网格",
    geometry="polygon",
    id_field="code",
    fields=(
        Field("code", "str", True, "网格编码", "grid code"),
        Field("parent_code", "str", False, "上级网格编码", "parent grid code"),
        Field(
            "level",
            "int",
            True,
            "网格层级",
            "level (1 community, 2 block, 3 lane)",
            minimum=1,
            maximum=3,
        ),
        Field("name", "str", False, "网格名称", "grid name"),
        Field("chief_name", "str", False, "网格长", "grid chief (optional contact)"),
        Field("chief_phone", "str", False, "联系电话", "grid chief phone (optional contact)"),
        Field("households", "int", False, "户数", "households", minimum=0),
        Field("population", "int", False, "人口数", "population (aggregate count)", minimum=0),
    ),
)

CAMERAS = LayerSchema(
    kind="cameras",
    zh="摄像机",
    geometry="point",
    id_field="camera_id",
    fields=(
        Field("camera_id", "str", True, "设备编码", "camera id"),
        Field(
            "azimuth_deg",
            "float",
            False,
            "朝向角(度)",
            "azimuth, degrees clockwise from north; empty = 360°",
            minimum=0,
            maximum=360,
        ),
        Field(
            "fov_deg",
            "float",
            False,
            "水平视场角(度)",
            "horizontal field of view, degrees",
            minimum=0,
            maximum=360,
        ),
        Field("range_m", "float", False, "有效距离(米)", "useful range, metres", minimum=0),
        Field("height_m", "float", False, "安装高度(米)", "mounting height, metres", minimum=0),
        Field("type", "str", True, "类型", "type", allowed=CAMERA_TYPES),
        Field("status", "str", True, "状态", "status", allowed=CAMERA_STATUS),
        Field("owner", "str", False, "归属", "owner class", allowed=CAMERA_OWNERS),
        Field(
            "tilt_deg",
            "float",
            False,
            "俯角(度)",
            "tilt, degrees below horizontal",
            minimum=-90,
            maximum=90,
        ),
        Field(
            "vfov_deg",
            "float",
            False,
            "垂直视场角(度)",
            "vertical field of view, degrees",
            minimum=0,
            maximum=180,
        ),
        Field(
            "lens_fov_deg",
            "float",
            False,
            "镜头视场角(度)",
            "lens field of view, degrees",
            minimum=0,
            maximum=360,
        ),
        Field("focal_mm", "float", False, "焦距(毫米)", "focal length, millimetres", minimum=0),
        Field("resolution", "str", False, "分辨率", "resolution (text as given)"),
        Field("resolution_px", "int", False, "水平像素", "horizontal pixels", minimum=1),
        Field("supply_light", "str", False, "补光", "supply light", allowed=SUPPLY_LIGHTS),
        Field("ir_range_m", "float", False, "补光距离(米)", "light/IR range, metres", minimum=0),
        Field("owner_name", "str", False, "建设单位", "owner name (text)"),
        Field("room_type", "str", False, "室内外", "outdoor or indoor", allowed=ROOM_TYPES),
        Field("use_type", "str", False, "用途", "use (GB/T 28181 UseType)", allowed=USE_TYPES),
        Field(
            "position_type",
            "int",
            False,
            "位置类型",
            "GB/T 28181 PositionType",
            minimum=1,
            maximum=10,
        ),
        Field(
            "ptz_type",
            "int",
            False,
            "摄像机结构类型",
            "GB/T 28181 PTZType 0-4",
            minimum=0,
            maximum=4,
        ),
        Field("civil_code", "str", False, "行政区划代码", "civil (administrative) code"),
        Field("name", "str", False, "点位名称", "site name or address"),
    ),
)

POSTS = LayerSchema(
    kind="posts",
    zh="警务点位",
    geometry="point",
    id_field="post_id",
    fields=(
        Field("post_id", "str", True, "编号", "post id"),
        Field("name", "str", False, "名称", "name"),
        Field(
            "kind",
            "str",
            True,
            "类别",
            "kind (station 派出所, office 警务室, mobile 移动警务室)",
            allowed=POST_KINDS,
        ),
    ),
)

BUILDINGS = LayerSchema(
    kind="buildings",
    zh="建筑物",
    geometry="polygon",
    id_field="building_id",
    fields=(
        Field("building_id", "str", True, "建筑编号", "building id"),
        Field("height_m", "float", False, "高度(米)", "height, metres", minimum=0),
        Field("levels", "int", False, "层数", "storeys above ground", minimum=0),
    ),
)

ROADS = LayerSchema(
    kind="roads",
    zh="道路",
    geometry="line",
    id_field="road_id",
    fields=(
        Field("road_id", "str", True, "道路编号", "road id"),
        Field("class", "str", True, "道路等级", "class (OSM highway value or other)"),
        Field("name", "str", False, "道路名称", "name"),
    ),
)

SITES = LayerSchema(
    kind="sites",
    zh="重点部位",
    geometry="point_or_polygon",
    id_field="site_id",
    fields=(
        Field("site_id", "str", True, "编号", "site id"),
        Field("kind", "str", True, "类别", "kind", allowed=SITE_KINDS),
        Field("name", "str", False, "名称", "name"),
        Field(
            "weight",
            "float",
            False,
            "权重",
            "priority weight (empty = default for kind)",
            minimum=0,
        ),
    ),
)

INCIDENTS = LayerSchema(
    kind="incidents",
    zh="警情统计",
    geometry="point_or_polygon",
    id_field=None,
    fields=(
        Field("count", "int", True, "警情数", "incident count (aggregate only)", minimum=0),
        Field("period", "str", False, "统计时段", "period"),
        Field("category", "str", False, "类别", "category"),
    ),
)

SCHEMAS: dict[str, LayerSchema] = {
    s.kind: s for s in (GRIDS, CAMERAS, POSTS, BUILDINGS, ROADS, SITES, INCIDENTS)
}
KINDS: tuple[str, ...] = tuple(SCHEMAS)
