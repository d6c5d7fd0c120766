"""Map and report labels in Chinese (default) and English.

``label(key, lang)`` returns the text; ``value_label(value, lang)`` translates coded values
(camera status, QA severity, booleans). Keys are stable: tests and reports use them.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from gridcover.errors import InputError

Lang = Literal["zh", "en"]
LANGS: tuple[str, ...] = ("zh", "en")

_LABELS: dict[str, tuple[str, str]] = {
    # layers
    "layer.grids.1": ("一级网格（社区）", "Level-1 grids (communities)"),
    "layer.grids.2": ("二级网格", "Level-2 grids"),
    "layer.grids.3": ("三级网格", "Level-3 grids"),
    "layer.cells": ("覆盖单元（每单元摄像机数）", "Coverage cells (cameras per cell)"),
    "layer.blind_spots": ("盲区（按权重排序）", "Blind spots (ranked by weight)"),
    "layer.views": ("摄像机可视范围", "Camera views"),
    "layer.views_occluded": (
        "摄像机可视范围（含建筑遮挡）",
        "Camera views (occluded by buildings)",
    ),
    "layer.cameras": ("摄像机", "Cameras"),
    # report sections (meeting report)
    "report.worklist": ("盲区整改清单（前 {n} 项）", "Blind-spot work list (top {n})"),
    "report.patrol": ("巡逻区", "Patrol zones"),
    "report.siting": ("新增摄像机建议", "Proposed new cameras"),
    "report.detail": (
        "画面细节等级（IEC 62676-4 DORI，各等级及以上的覆盖率）",
        "Detail levels (IEC 62676-4 DORI; share seen at each level or better)",
    ),
    "field.detail": ("细节等级", "Detail level"),
    "field.day_pct": ("白天面积覆盖率(%)", "Day, area (%)"),
    "field.day_weighted_pct": ("白天重点加权(%)", "Day, priority-weighted (%)"),
    "field.night_pct": ("夜间面积覆盖率(%)", "Night, area (%)"),
    "field.night_weighted_pct": ("夜间重点加权(%)", "Night, priority-weighted (%)"),
    "report.compare": ("方案对比：{a} → {b}", "Scenario comparison: {a} -> {b}"),
    "report.chiefs": ("网格长及联系方式", "Grid chiefs and contacts"),
    "layer.changed_cells": ("覆盖变化单元", "Cells whose coverage changes"),
    "value.gained": ("新增覆盖", "gained"),
    "value.lost": ("失去覆盖", "lost"),
    "value.level_up": ("识别等级提高", "detail level up"),
    "value.level_down": ("识别等级降低", "detail level down"),
    "value.more_cameras": ("摄像机增多", "more cameras"),
    "value.fewer_cameras": ("摄像机减少", "fewer cameras"),
    "field.change": ("变化", "Change"),
    "target.covered_pct": ("覆盖率低于 {goal:g}%", "coverage below {goal:g} %"),
    "target.priority_weighted_pct": (
        "重点加权覆盖率低于 {goal:g}%",
        "priority-weighted coverage below {goal:g} %",
    ),
    "target.roads_pct": ("道路覆盖率低于 {goal:g}%", "road coverage below {goal:g} %"),
    "target.intersections_pct": (
        "路口覆盖率低于 {goal:g}%（路口无死角）",
        "intersection coverage below {goal:g} %",
    ),
    "target.sites_pct": ("重点部位覆盖率低于 {goal:g}%", "key-site coverage below {goal:g} %"),
    "target.incidents_pct": (
        "警情区域覆盖率低于 {goal:g}%",
        "incident-area coverage below {goal:g} %",
    ),
    "field.chief_name": ("网格长", "Grid chief"),
    "field.chief_phone": ("联系电话", "Phone"),
    "field.unit_id": ("单元编号", "Unit id"),
    "field.fix_text": ("建议措施", "Suggested fix"),
    "field.grid_l1": ("一级网格", "Level-1 grid"),
    "field.thumbnail": ("示意图", "Sketch"),
    "field.kpi": ("指标", "Indicator"),
    "field.a": ("方案A", "A"),
    "field.b": ("方案B", "B"),
    "field.delta": ("变化", "Change"),
    "field.model": ("型号", "Model"),
    "field.price": ("单价", "Price"),
    "field.resolution": ("分辨率", "Resolution"),
    "field.height_m": ("安装高度(米)", "Mounting height (m)"),
    "field.tilt_deg": ("俯角(度)", "Tilt (° below horizontal)"),
    "field.lens_fov_deg": ("镜头视场角(度)", "Lens field of view (°)"),
    "layer.bands": ("画面细节分带（三维遮挡）", "Detail bands (3D occlusion)"),
    "value.level0": ("不可见", "not seen"),
    "value.level1": ("探测 ≥25 px/m", "detect ≥ 25 px/m"),
    "value.level2": ("观察 ≥62.5 px/m", "observe ≥ 62.5 px/m"),
    "value.level3": ("识别 ≥125 px/m", "recognise ≥ 125 px/m"),
    "value.level4": ("辨认 ≥250 px/m", "identify ≥ 250 px/m"),
    "field.detail_level": ("画面细节等级", "Detail level"),
    "field.night_detail_level": ("夜间细节等级", "Night detail level"),
    "field.inner_m": ("起始距离(m)", "From (m)"),
    "field.outer_m": ("终止距离(m)", "To (m)"),
    "field.pct_l2": ("观察级覆盖率(%)", "Observe or better (%)"),
    "field.pct_l3": ("识别级覆盖率(%)", "Recognise or better (%)"),
    "field.night_pct_l1": ("夜间覆盖率(%)", "Night coverage (%)"),
    "summary.observe_pct": ("观察级及以上覆盖率(%)", "Observe or better (%)"),
    "summary.recognise_pct": ("识别级及以上覆盖率(%)", "Recognise or better (%)"),
    "summary.identify_pct": ("辨认级覆盖率(%)", "Identify (%)"),
    "summary.night_detect_pct": ("夜间覆盖率(%)", "Night coverage (%)"),
    "summary.recognise_weighted_pct": (
        "识别级重点加权覆盖率(%)",
        "Recognise, priority-weighted (%)",
    ),
    "summary.cells_below_required_level": (
        "低于要求等级的重点单元",
        "Priority cells below required level",
    ),
    "layer.posts": ("警务点位", "Police posts"),
    "layer.zones": ("巡逻区", "Patrol zones"),
    "layer.siting": ("新增摄像机建议点位", "Proposed new cameras"),
    "layer.siting_posts": ("新增警务点位建议", "Proposed new police posts"),
    "layer.qa": ("网格质检问题", "Grid QA issues"),
    "layer.basemap": ("底图", "Basemap"),
    # fields (tooltips, tables)
    "field.code": ("网格编码", "Grid code"),
    "field.name": ("名称", "Name"),
    "field.level": ("层级", "Level"),
    "field.covered_pct": ("覆盖率(%)", "Coverage (%)"),
    "field.open_covered_pct": ("室外覆盖率(%)", "Open-ground coverage (%)"),
    "field.priority_weighted_pct": ("重点加权覆盖率(%)", "Priority-weighted coverage (%)"),
    "field.cameras_online": ("在线摄像机", "Cameras online"),
    "field.cameras_offline": ("离线摄像机", "Cameras offline"),
    "field.cameras_unknown": ("状态未知摄像机", "Cameras of unknown status"),
    "field.cameras_total": ("摄像机总数", "Cameras (all)"),
    "field.blind_spots": ("盲区数", "Blind spots"),
    "field.blind_spot_area_m2": ("盲区面积(m²)", "Blind-spot area (m²)"),
    "field.area_m2": ("面积(m²)", "Area (m²)"),
    "field.targets_met": ("是否达标", "Targets met"),
    "field.targets_missed": ("未达标项", "Targets missed"),
    "field.parent_code": ("上级网格编码", "Parent code"),
    "field.h3": ("H3单元", "H3 cell"),
    "field.res": ("H3级别", "H3 resolution"),
    "field.cameras": ("摄像机数", "Cameras"),
    "field.cameras_mean": ("平均摄像机数", "Mean cameras per cell"),
    "field.covered_share": ("已覆盖比例(%)", "Covered share (%)"),
    "field.weight": ("权重", "Weight"),
    "field.grid_code": ("所在网格", "Grid"),
    "field.blind_spot": ("盲区排名", "Blind-spot rank"),
    "field.cells": ("单元数", "Cells"),
    "field.nearest_camera": ("最近在用摄像机", "Nearest working camera"),
    "field.nearest_camera_m": ("最近在用摄像机距离(m)", "Nearest working camera (m)"),
    "field.nearest_offline_camera": ("最近离线摄像机", "Nearest offline camera"),
    "field.nearest_offline_camera_m": ("最近离线摄像机距离(m)", "Nearest offline camera (m)"),
    "field.nearest_post": ("最近警务点位", "Nearest post"),
    "field.nearest_post_m": ("最近警务点位距离(m)", "Nearest post (m)"),
    "field.camera_id": ("设备编码", "Camera id"),
    "field.type": ("类型", "Type"),
    "field.status": ("状态", "Status"),
    "field.fov_deg": ("视场角(度)", "Field of view (°)"),
    "field.range_m": ("有效距离(m)", "Range (m)"),
    "field.view_area_m2": ("可视面积(m²)", "View area (m²)"),
    "field.post_id": ("编号", "Post id"),
    "field.kind": ("类别", "Kind"),
    "field.workload": ("工作量", "Workload"),
    "field.travel_max_min": ("最长到达时间(分钟)", "Max travel (min)"),
    "field.max_travel_min": ("最长到达时间(分钟)", "Max travel (min)"),
    "field.mean_travel_min": ("平均到达时间(分钟)", "Mean travel (min)"),
    "field.area_km2": ("面积(km²)", "Area (km²)"),
    "field.polsby_popper": ("紧凑度(Polsby-Popper)", "Compactness (Polsby-Popper)"),
    "field.contiguous": ("是否连通", "Contiguous"),
    "field.exclaves": ("飞地数", "Exclaves"),
    "field.removal_loss": ("移除后损失权重", "Weight lost if removed"),
    "field.rank": ("序号", "Rank"),
    "field.marginal_gain": ("新增覆盖权重", "Weight gained"),
    "field.site_id": ("候选点", "Candidate site"),
    "field.azimuth_deg": ("朝向(度)", "Azimuth (°)"),
    "field.severity": ("级别", "Severity"),
    "field.check": ("检查项", "Check"),
    "field.message": ("说明", "Message"),
    # legend and notes
    "legend.title": ("图例", "Legend"),
    "legend.cameras_per_cell": ("每单元摄像机数", "Cameras per cell"),
    "legend.detail_per_cell": (
        "单元画面细节等级（最佳摄像机）",
        "Detail level per cell (best camera)",
    ),
    "legend.none": ("无覆盖", "not covered"),
    "legend.blind_spot": ("盲区", "blind spot"),
    "legend.view": ("可视范围", "camera view"),
    "legend.camera_online": ("在线摄像机", "camera online"),
    "legend.camera_offline": ("离线/未计入摄像机", "camera offline / not counted"),
    "legend.post": ("警务点位", "police post"),
    "legend.siting": ("建议新增摄像机", "proposed camera"),
    "legend.siting_posts": ("建议新增警务点位", "proposed police post"),
    "legend.qa_error": ("质检错误", "QA error"),
    "legend.qa_warning": ("质检警告", "QA warning"),
    "legend.grid": ("网格边界（一/二/三级）", "grid outline (level 1/2/3)"),
    "legend.zone": ("巡逻区", "patrol zone"),
    "note.aggregated": (
        "{layer}：{n} 个单元超过每层 {budget} 个要素的上限，已聚合到 H3 第 {res} 级（{m} 个）",
        "{layer}: {n} cells exceed the budget of {budget} features per layer; "
        "aggregated to H3 resolution {res} ({m} cells)",
    ),
    "note.thinned": (
        "{layer}：共 {n} 个要素，仅显示排名前 {budget} 个",
        "{layer}: {n} features, only the first {budget} by rank are shown "
        "(grids: lowest coverage first)",
    ),
    "note.dissolved": (
        "{layer}：{n} 个要素超过上限 {budget}，已按状态合并为 {m} 个",
        "{layer}: {n} features exceed the budget of {budget}; merged by status into {m}",
    ),
    "note.gcj02": (
        "所有图层已转换为 GCJ-02 坐标以对齐高德底图",
        "All layers are shifted to GCJ-02 to line up with the AMap basemap",
    ),
    "note.budget": ("每层最多 {budget} 个要素", "At most {budget} features per layer"),
    # values
    "value.online": ("在线", "online"),
    "value.offline": ("离线", "offline"),
    "value.unknown": ("未知", "unknown"),
    "value.error": ("错误", "error"),
    "value.warning": ("警告", "warning"),
    "value.true": ("是", "yes"),
    "value.false": ("否", "no"),
    "value.bullet": ("枪机", "bullet"),
    "value.dome": ("球机(半球)", "dome"),
    "value.ptz": ("云台", "PTZ"),
    "value.other": ("其他", "other"),
    "value.station": ("派出所", "police station"),
    "value.office": ("警务室", "police office"),
    "value.mobile": ("移动警务室", "mobile post"),
    # report
    "report.title": ("视频监控覆盖分析报告", "Video coverage analysis report"),
    "map.title.patrol": ("巡逻区划分", "Patrol zones"),
    "map.title.siting": ("新增点位建议", "Siting proposals"),
    "map.title.qa": ("网格质检", "Grid map check"),
    "report.summary": ("总体情况", "Summary"),
    "report.grids": ("各网格统计", "Statistics per grid"),
    "report.blind_spots": ("重点盲区（前 {n} 个）", "Top {n} blind spots"),
    "report.map": ("覆盖示意图", "Coverage map"),
    "report.notes": ("说明", "Notes"),
    "report.files": ("文件", "Files"),
    "report.level3_note": (
        "三级网格共 {n} 个，完整数据见 XLSX/CSV 表格",
        "{n} level-3 grids: the full table is in the XLSX/CSV files",
    ),
    "report.key": ("字段", "Column"),
    "report.value": ("数值", "Value"),
    "report.columns": ("字段说明", "Columns"),
    "summary.cells": ("H3 单元数", "H3 cells"),
    "summary.res": ("H3 级别", "H3 resolution"),
    "summary.area_m2": ("总面积(m²)", "Total area (m²)"),
    "summary.covered_pct": ("覆盖率(%)", "Coverage (%)"),
    "summary.open_covered_pct": ("室外覆盖率(%)", "Open-ground coverage (%)"),
    "summary.priority_weighted_pct": ("重点加权覆盖率(%)", "Priority-weighted coverage (%)"),
    "summary.priority_cells": ("重点单元数", "Priority cells"),
    "summary.cameras": ("摄像机总数", "Cameras"),
    "summary.cameras_online": ("在线摄像机", "Cameras online"),
    "summary.cameras_offline": ("离线摄像机", "Cameras offline"),
    "summary.blind_spots": ("盲区数", "Blind spots"),
    "summary.blind_spot_area_m2": ("盲区面积(m²)", "Blind-spot area (m²)"),
    "summary.grids": ("网格数", "Grids"),
    "summary.grids_missing_targets": ("未达标网格数", "Grids missing targets"),
}


def check_lang(lang: str) -> Lang:
    """``lang`` if it is "zh" or "en", else an InputError naming the choices."""
    if lang not in LANGS:
        raise InputError(f"Unknown language {lang!r}; use 'zh' (Chinese, default) or 'en'.")
    return lang  # type: ignore[return-value]


def label(key: str, lang: str = "zh", **fmt: Any) -> str:
    """The label ``key`` in ``lang``, formatted with ``fmt``; the key itself if unknown."""
    pair = _LABELS.get(key)
    if pair is None:
        return key.split(".", 1)[-1]
    text = pair[0] if check_lang(lang) == "zh" else pair[1]
    return text.format(**fmt) if fmt else text


def field_label(column: str, lang: str = "zh") -> str:
    """Display name of a column (``field.<column>``), the column name when unknown."""
    return label(f"field.{column}", lang)


def value_label(value: Any, lang: str = "zh") -> str:
    """Translated coded value (status, severity, bool, camera type, post kind) or str(value)."""
    is_bool = isinstance(value, bool | np.bool_)
    key = f"value.{str(bool(value)).lower()}" if is_bool else f"value.{value}"
    return label(key, lang) if key in _LABELS else str(value)
