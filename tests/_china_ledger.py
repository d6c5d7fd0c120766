"""Real layers moved to China, and camera ledgers made from them (GBK CSV, XLSX, GB/T 28181
catalogue XML, KML) with positions shifted to GCJ-02 by an independent formula.

The shapes are the bundled sample (central Helsinki, OSM: sample_geodata/, see its README):
grids, roads, buildings and 221 cameras, moved rigidly to Shenzhen Futian by an azimuthal
equidistant re-centring (distances and bearings within the 2 km sample change by < 0.1 %),
so that their true WGS84 positions lie in China where the GCJ-02 offset applies. The GCJ-02
shift below is the published public formula (the 'eviltransform' constants), written here
independently of gridcover.gis.chinese_offsets.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj

SAMPLE = Path(__file__).parents[1] / "sample_geodata"
FROM = (24.9410, 60.1699)  # Helsinki centre of the sample
TO = (114.0579, 22.5431)  # Shenzhen, Futian


def _aeqd(lon: float, lat: float) -> pyproj.CRS:
    return pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m")


def move(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The layer re-centred from Helsinki to Shenzhen (true WGS84 positions there)."""
    out = gdf.to_crs(_aeqd(*FROM)).set_crs(_aeqd(*TO), allow_override=True)
    return out.to_crs(4326)


def _lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * np.sin(y * math.pi) + 40.0 * np.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * np.sin(y / 12.0 * math.pi) + 320 * np.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * np.sin(x * math.pi) + 40.0 * np.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * np.sin(x / 12.0 * math.pi) + 300.0 * np.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 from WGS84 (Krasovsky ellipsoid constants of the public formula)."""
    a, ee = 6378245.0, 0.00669342162296594323
    dlat, dlon = _lat(lon - 105.0, lat - 35.0), _lon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - ee * np.sin(rad) ** 2
    sq = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * sq) * math.pi)
    dlon = (dlon * 180.0) / (a / sq * np.cos(rad) * math.pi)
    return lon + dlon, lat + dlat


def metres_apart(a: gpd.GeoSeries, b: gpd.GeoSeries) -> np.ndarray:
    """Geodesic distance (m) between paired points of two EPSG:4326 series."""
    geod = pyproj.Geod(ellps="WGS84")
    _, _, d = geod.inv(a.x.to_numpy(), a.y.to_numpy(), b.x.to_numpy(), b.y.to_numpy())
    return np.asarray(d)


def moved_layers(folder: Path) -> dict[str, Path]:
    """grids, roads, buildings of the sample moved to Shenzhen, written as GeoJSON."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for kind in ("grids", "roads", "buildings"):
        path = folder / f"{kind}.geojson"
        move(gpd.read_file(SAMPLE / f"{kind}.geojson")).to_file(path, driver="GeoJSON")
        out[kind] = path
    return out


PTZ_CODE = {"ptz": 1, "dome": 2, "bullet": 3, "other": 0}


def truth_cameras() -> gpd.GeoDataFrame:
    """The sample cameras moved to Shenzhen: the true WGS84 positions."""
    cams = gpd.read_file(SAMPLE / "cameras.geojson")
    return move(cams[["camera_id", "azimuth_deg", "fov_deg", "type", "status", "geometry"]])


def ledger_rows(cams: gpd.GeoDataFrame) -> list[dict[str, object]]:
    """Rows of a Chinese camera ledger: Chinese headers, GCJ-02 lon/lat, PTZType codes."""
    lon, lat = wgs84_to_gcj02(cams.geometry.x.to_numpy(), cams.geometry.y.to_numpy())
    rows = []
    for i, r in enumerate(cams.itertuples()):
        rows.append(
            {
                "设备编码": f"44030400001320{i:06d}",
                "点位名称": f"福田点位{i + 1}",
                "经度": f"{lon[i]:.7f}",
                "纬度": f"{lat[i]:.7f}",
                "方向角": "" if r.azimuth_deg != r.azimuth_deg else f"{r.azimuth_deg:g}",
                "视场角": "" if r.fov_deg != r.fov_deg else f"{r.fov_deg:g}",
                "摄像机结构类型": PTZ_CODE[r.type],
                "在线状态": {"online": "在线", "offline": "离线"}.get(r.status, "未知"),
                "建设单位": "福田公安分局" if i % 3 else "雪亮工程 福田街道",
                "安装高度": "6米",
                "分辨率": "1920*1080",
                "补光": "红外",
            }
        )
    return rows


def write_gbk_csv(path: Path, cams: gpd.GeoDataFrame) -> Path:
    rows = ledger_rows(cams)
    head = list(rows[0])
    text = ",".join(head) + "\n" + "".join(",".join(str(r[h]) for h in head) + "\n" for r in rows)
    path.write_bytes(text.encode("gbk"))
    return path


def write_xlsx(path: Path, cams: gpd.GeoDataFrame, sheet: str = "摄像机台账") -> Path:
    import openpyxl

    rows = ledger_rows(cams)
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(["福田区视频监控点位台账（2026年）"])  # a title row above the headers
    ws.append(list(rows[0]))
    for r in rows:  # numbers as numbers, as Excel users type them
        ws.append([float(v) if k in ("经度", "纬度") else v for k, v in r.items()])
    book.save(path)
    return path


DIRECTION_CODE = {90.0: 1, 270.0: 2, 180.0: 3, 0.0: 4, 135.0: 5, 45.0: 6, 225.0: 7, 315.0: 8}


def direction_code(azimuth: float) -> int | None:
    """GB/T 28181 DirectionType of an azimuth: the nearest of the 8 compass points."""
    if azimuth != azimuth:
        return None
    return DIRECTION_CODE[(round(azimuth / 45.0) * 45.0) % 360.0]


def catalog_items(cams: gpd.GeoDataFrame) -> list[dict[str, object]]:
    """GB/T 28181 Catalog items of the cameras (GCJ-02 lon/lat), with the extension codes."""
    lon, lat = wgs84_to_gcj02(cams.geometry.x.to_numpy(), cams.geometry.y.to_numpy())
    items = []
    for i, r in enumerate(cams.itertuples()):
        info = {
            "PTZType": PTZ_CODE[r.type],
            "PositionType": (8, 9, 10)[i % 3],
            "RoomType": 2 if i % 10 == 0 else 1,
            "UseType": (1, 2, 3)[i % 3],
            "SupplyLightType": (1, 2, 3)[i % 3],
            "DirectionType": direction_code(r.azimuth_deg),
            "Resolution": ("6/4", "2560*1440", "5")[i % 3],
        }
        items.append(
            {
                "DeviceID": f"44030400001320{i:06d}",
                "Name": f"福田点位{i + 1}",
                "Manufacturer": "Hikvision",
                "Owner": "福田公安分局" if i % 2 else "社会面接入",
                "CivilCode": "440304",
                "Address": f"福田区{i + 1}号",
                "Parental": 0,
                "Status": "ON" if r.status == "online" else "OFF",
                "Longitude": f"{lon[i]:.7f}",
                "Latitude": f"{lat[i]:.7f}",
                "Info": {k: v for k, v in info.items() if v is not None},
            }
        )
    return items


def write_catalog_xml(path: Path, cams: gpd.GeoDataFrame, per_message: int = 100) -> Path:
    """A platform's answer to a Catalog query: several <Response> messages (GB2312), each
    with a share of the items; the first also lists the platform itself (type code 200)."""
    from xml.sax.saxutils import escape

    items = catalog_items(cams)
    platform = {"DeviceID": "44030400002000000001", "Name": "福田区视频平台", "Status": "ON"}
    chunks = [items[k : k + per_message] for k in range(0, len(items), per_message)]
    chunks[0] = [platform, *chunks[0]]
    out = ['<?xml version="1.0" encoding="GB2312"?>']
    for sn, chunk in enumerate(chunks, start=1):
        out.append("<Response>\n<CmdType>Catalog</CmdType>")
        out.append(f"<SN>{sn}</SN>\n<DeviceID>44030400002000000001</DeviceID>")
        out.append(f'<SumNum>{len(items) + 1}</SumNum>\n<DeviceList Num="{len(chunk)}">')
        for item in chunk:
            out.append("<Item>")
            for k, v in item.items():
                if isinstance(v, dict):
                    out.append("<Info>" + "".join(f"<{a}>{b}</{a}>" for a, b in v.items()))
                    out.append("</Info>")
                else:
                    out.append(f"<{k}>{escape(str(v))}</{k}>")
            out.append("</Item>")
        out.append("</DeviceList>\n</Response>")
    path.write_bytes("\n".join(out).encode("gb2312"))
    return path


def write_kml(path: Path, cams: gpd.GeoDataFrame) -> Path:
    """Placemarks as a Chinese map app exports them: GCJ-02 lon/lat, ExtendedData fields."""
    lon, lat = wgs84_to_gcj02(cams.geometry.x.to_numpy(), cams.geometry.y.to_numpy())
    marks = []
    for i, r in enumerate(cams.itertuples()):
        data = {"设备编码": f"44030400001320{i:06d}", "类型": r.type, "状态": r.status}
        ext = "".join(f'<Data name="{k}"><value>{v}</value></Data>' for k, v in data.items())
        marks.append(
            f"<Placemark><name>点位{i + 1}</name><ExtendedData>{ext}</ExtendedData>"
            f"<Point><coordinates>{lon[i]:.7f},{lat[i]:.7f},0</coordinates></Point></Placemark>"
        )
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'
        f"<Document>{''.join(marks)}</Document></kml>"
    )
    path.write_text(doc, encoding="utf-8")
    return path
