"""The placement proposal table (点位建议表): CSV / XLSX with Chinese and English headers,
and the units and proposed cameras as GeoJSON.

One row per proposed action (a camera to repair or to add), units without a computed fix
once; rank order. Headers read "中文 / English". CSV is UTF-8 with a BOM (Excel opens it
with the Chinese intact).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gridcover.coverage.units.build import WorkUnits
from gridcover.coverage.units.levels import LEVEL_NAMES

__all__ = ["HEADERS", "proposal_table", "write_proposals"]

HEADERS = {
    "rank": "排名 / rank",
    "unit_id": "单元编号 / unit id",
    "kind": "类型 / kind",
    "name": "位置 / location",
    "street": "道路 / street",
    "grid_l1": "一级网格 / grid level 1",
    "grid_l2": "二级网格 / grid level 2",
    "grid_l3": "三级网格 / grid level 3",
    "chief_name": "网格长 / grid chief",
    "chief_phone": "联系电话 / phone",
    "weight": "优先权重 / priority weight",
    "area_m2": "面积(m²) / area (m²)",
    "required_level": "所需画面等级 / required detail level",
    "detail_level": "现有画面等级 / current detail level",
    "nearest_camera": "最近在用摄像机 / nearest counted camera",
    "nearest_camera_m": "在用摄像机距离(m) / its distance (m)",
    "nearest_offline_camera": "最近未在用摄像机 / nearest not-counted camera",
    "nearest_offline_camera_m": "未在用摄像机距离(m) / its distance (m)",
    "action": "建议措施 / action",
    "camera_id": "摄像机编号 / camera id",
    "type": "摄像机类型 / camera type",
    "model": "摄像机型号 / camera model",
    "price": "单价 / unit price",
    "mounting": "安装方式 / mounting",
    "azimuth_deg": "方位角(°) / azimuth (°)",
    "lon": "经度 / longitude",
    "lat": "纬度 / latitude",
    "cameras_needed": "所需摄像机 / cameras needed",
    "closes": "可消除盲区 / closes the unit",
    "closed_weight": "消除权重 / weight closed",
    "fix_cost": "措施费用 / fix cost",
    "fix_text": "说明 / suggested fix",
}
KIND_ZH = {"intersection": "路口", "road": "路段", "site": "重点部位", "area": "片区"}
ACTION_ZH = {"repair": "维修", "new": "新增"}
LEVEL_ZH = ("无", "探测", "观察", "识别", "辨认")  # IEC 62676-4 DORI, as in weights.toml


def proposal_table(units: WorkUnits) -> pd.DataFrame:
    """The 点位建议表 as a DataFrame with bilingual headers (see module doc)."""
    t = pd.DataFrame(units.table.drop(columns="geometry"))
    t = t.rename(columns={"lon": "unit_lon", "lat": "unit_lat"})
    p = pd.DataFrame(units.proposals.drop(columns="geometry", errors="ignore"))
    keep = [c for c in ("unit_id", "action", "camera_id", "type", "model", "price", "mounting",
                        "azimuth_deg", "lon", "lat") if c in p.columns]  # fmt: skip
    df = t.merge(p[keep], on="unit_id", how="left") if len(p) else t.assign(action=None)
    df["lon"] = df["lon"].fillna(df["unit_lon"]) if "lon" in df else df["unit_lon"]
    df["lat"] = df["lat"].fillna(df["unit_lat"]) if "lat" in df else df["unit_lat"]
    df["kind"] = [f"{KIND_ZH.get(k, k)} {k}" for k in df["kind"]]
    df["action"] = [f"{ACTION_ZH[a]} {a}" if isinstance(a, str) else "" for a in df["action"]]
    df["closes"] = ["是 yes" if c else "否 no" for c in df["closes"]]
    for col in ("required_level", "detail_level"):  # 3D runs: DORI levels 0-4 with names
        if col in df.columns:
            df[col] = [f"{int(v)} {LEVEL_ZH[int(v)]} {LEVEL_NAMES[int(v)]}" for v in df[col]]
    cols = [c for c in HEADERS if c in df.columns]
    return df[cols].rename(columns=HEADERS)


def write_proposals(units: WorkUnits, folder: str | Path) -> dict[str, Path]:
    """Write proposals.csv, proposals.xlsx (sheets 点位建议表 and 盲区单元), units.geojson
    and proposed_cameras.geojson into ``folder``; returns the paths by name."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    table = proposal_table(units)
    paths = {
        "csv": out / "proposals.csv",
        "xlsx": out / "proposals.xlsx",
        "units": out / "units.geojson",
        "cameras": out / "proposed_cameras.geojson",
    }
    table.to_csv(paths["csv"], index=False, encoding="utf-8-sig")
    with pd.ExcelWriter(paths["xlsx"], engine="openpyxl") as xl:
        table.to_excel(xl, sheet_name="点位建议表", index=False)
        units_df = pd.DataFrame(units.table.drop(columns="geometry"))
        units_df.to_excel(xl, sheet_name="盲区单元 units", index=False)
    units.table.to_file(paths["units"], driver="GeoJSON")
    cams = units.proposals
    if len(cams):
        cams.to_file(paths["cameras"], driver="GeoJSON")
    else:
        paths["cameras"].write_text('{"type": "FeatureCollection", "features": []}', "utf-8")
    return paths
