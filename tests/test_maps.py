"""Map builder: offline HTML, asset handling, AMap GCJ-02 shift, feature budget, labels.

Independent checks: URLs are found with our own regex here; the GCJ-02 position is computed
with the published GCJ-02 formula written out in this file (not gridcover's converter);
H3 parents are checked against h3.cell_to_parent; aggregated figures against a pandas
group-by on h3 strings; tooltip values against the grid statistics table.
"""

from __future__ import annotations

import json
import math
import re

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from gridcover.errors import InputError, SchemaError
from gridcover.gis.maps import asset_files, build_map, resolve_basemap
from gridcover.gis.maps.assets import inline_head, linked_head
from gridcover.gis.maps.budget import aggregate_cells, parent_cells
from gridcover.gis.maps.i18n import label
from sample_analysis import sample_layers, sample_result

URL = re.compile(r"(?:https?|ftp|wss?)://|(?:src|href)\s*=\s*[\"']?//", re.IGNORECASE)
DATA_LINE = re.compile(r"var (\w+)_data = (\{.*\});\n")
GEOD = pyproj.Geod(ellps="WGS84")


def layers_in(html: str) -> dict[str, dict]:
    """The embedded GeoJSON of every overlay, keyed by the overlay's JS name."""
    return {m.group(1): json.loads(m.group(2)) for m in DATA_LINE.finditer(html)}


@pytest.fixture(scope="module")
def result():
    return sample_result()


@pytest.fixture(scope="module")
def full_map(result):
    lay = sample_layers()
    return build_map(
        grids=result.grid_stats,
        cells=result.cells,
        blind_spots=result.blind_spots,
        views=result.views,
        cameras=lay["cameras"],
        posts=lay["posts"],
    )


def test_offline_html_has_no_absolute_url_and_inlines_leaflet(full_map) -> None:
    html = full_map.html()
    assert URL.findall(html) == []
    assert "<script src" not in html and '<link rel="stylesheet"' not in html
    assert "Leaflet 1.9.3" in html  # the licence header stays
    assert "url(images/" not in html  # CSS images became data: URIs
    assert "sourceMappingURL" not in html
    # the folium defaults are gone
    for cdn in ("jquery", "bootstrap", "font-awesome", "fontawesome", "awesome-markers", "d3"):
        assert f"{cdn}.min.js" not in html and f"{cdn}.js" not in html


def test_inlined_leaflet_is_the_package_file_up_to_url_escapes() -> None:
    js = asset_files()["leaflet.js"].read_text(encoding="utf-8")
    head = inline_head()
    body = head[head.index('leaflet.js">') + len('leaflet.js">') : head.rindex("</script>")]
    restored = body.replace(":\\/\\/", "://").strip()
    original = re.sub(r"\n//# sourceMappingURL=.*$", "", js).strip()
    assert restored == original


def test_linked_mode_references_only_asset_base(full_map) -> None:
    html = full_map.html(asset_base="/static/maps")
    srcs = re.findall(r"(?:src|href)=\"([^\"]+)\"", html)
    assert "/static/maps/leaflet.js" in srcs and "/static/maps/leaflet.css" in srcs
    assert all(s.startswith("/static/maps/") or s.startswith("data:") for s in srcs)
    assert URL.findall(html) == []
    assert len(html) < len(full_map.html()) - 100_000  # Leaflet is not inlined
    files = asset_files()
    for rel in ("leaflet.js", "leaflet.css", "images/layers.png", "images/marker-icon.png"):
        assert files[rel].is_file()
    # every image the CSS names is served
    css = files["leaflet.css"].read_text(encoding="utf-8")
    assert set(re.findall(r"url\((images/[^)]+)\)", css)) <= set(files)
    assert linked_head("maps/") == linked_head("maps")


def test_save_folder_mode_copies_assets(full_map, tmp_path) -> None:
    out = full_map.save(tmp_path / "m.html", assets="folder")
    html = out.read_text(encoding="utf-8")
    for rel in re.findall(r"(?:src|href)=\"(gridcover-map-assets/[^\"]+)\"", html):
        assert (tmp_path / rel).is_file()
    assert URL.findall(html) == []


def _gcj02(lon: float, lat: float) -> tuple[float, float]:
    """The published GCJ-02 forward formula (Krasovsky ellipsoid constants)."""
    a, ee = 6378245.0, 0.00669342162296594323
    x, y = lon - 105.0, lat - 35.0
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * math.sqrt(abs(x))
        + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
        + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
        + (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2 / 3
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * math.sqrt(abs(x))
        + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
        + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
        + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    )
    rad = lat / 180.0 * math.pi
    magic = 1 - ee * math.sin(rad) ** 2
    sq = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * sq) * math.pi)
    dlon = (dlon * 180.0) / (a / sq * math.cos(rad) * math.pi)
    return lon + dlon, lat + dlat


def test_amap_basemap_places_wgs84_point_at_its_gcj02_position() -> None:
    # Tiananmen flagpole (WGS84) and a block around it
    lon, lat = 116.391263, 39.906217
    posts = gpd.GeoDataFrame(
        {"post_id": ["p1"], "name": ["天安门"], "kind": ["station"]},
        geometry=[shapely.Point(lon, lat)],
        crs="EPSG:4326",
    )
    grids = gpd.GeoDataFrame(
        {"code": ["110101001001"], "level": [1]},
        geometry=[shapely.Point(lon, lat).buffer(0.003)],
        crs="EPSG:4326",
    )
    m = build_map(posts=posts, grids=grids, basemap="amap")
    html = m.html()
    data = [
        d
        for d in layers_in(html).values()
        if d["features"] and d["features"][0]["properties"].get("post_id") == "p1"
    ]
    assert len(data) == 1
    x, y = data[0]["features"][0]["geometry"]["coordinates"]
    ex, ey = _gcj02(lon, lat)
    _, _, err = GEOD.inv(x, y, ex, ey)
    _, _, shift = GEOD.inv(lon, lat, ex, ey)
    assert err < 0.5
    assert shift > 100  # the offset is real (hundreds of metres), so the check can fail
    assert "autonavi.com" in html  # the user chose an online basemap: its URL is allowed
    # without AMap the point stays in WGS84
    plain = layers_in(build_map(posts=posts).html())
    (only,) = plain.values()
    px, py = only["features"][0]["geometry"]["coordinates"]
    assert GEOD.inv(px, py, lon, lat)[2] < 0.1


def test_basemap_choices() -> None:
    assert resolve_basemap("none").tiles == ()
    assert resolve_basemap(None).name == "none"
    with pytest.raises(InputError, match="Tianditu basemap needs a key"):
        resolve_basemap("tianditu")
    t = resolve_basemap("tianditu", key="abc123")
    assert t.coord_sys == "wgs84" and all("tk=abc123" in s.url for s in t.tiles)
    assert resolve_basemap("amap").coord_sys == "gcj02"
    local = resolve_basemap("tiles/{z}/{x}/{y}.png")
    assert not local.online and local.tiles[0].url == "tiles/{z}/{x}/{y}.png"
    assert resolve_basemap("http://10.1.2.3/t/{z}/{x}/{y}.png").online
    with pytest.raises(InputError, match="Unknown basemap"):
        resolve_basemap("googlemaps")
    lay = sample_layers()
    html = build_map(grids=lay["grids"], basemap="tiles/{z}/{x}/{y}.png").html()
    assert "tiles/{z}/{x}/{y}.png" in html and URL.findall(html) == []


def test_parent_cells_matches_h3(result) -> None:
    ids = result.cells["cell"].to_numpy()[::7]
    for res in (0, 6, 9, 11):
        expected = [h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(c)), res)) for c in ids]
        assert np.array_equal(parent_cells(ids, res), np.array(expected, dtype=np.int64))


def test_aggregation_keeps_totals_and_picks_finest_fitting_res(result) -> None:
    cells = result.cells
    budget = 2000
    agg = aggregate_cells(cells, budget)
    assert agg.aggregated and len(agg.frame) <= budget
    # the next finer resolution would not fit
    finer = {h3.cell_to_parent(h, agg.res + 1) for h in cells["h3"]}
    assert len(finer) > budget
    # independent group-by on hex strings
    df = pd.DataFrame(
        {
            "p": [h3.cell_to_parent(h, agg.res) for h in cells["h3"]],
            "a": cells["area_m2"],
            "ca": cells["cameras"] * cells["area_m2"],
            "cov": cells["covered"] * cells["area_m2"],
            "w": cells["weight"],
        }
    )
    g = df.groupby("p").sum()
    f = agg.frame.set_index("h3").loc[g.index]
    assert np.allclose(f["cameras_mean"], g["ca"] / g["a"])
    assert np.allclose(f["covered_share"], 100 * g["cov"] / g["a"])
    assert np.allclose(f["weight"], g["w"])
    assert f["cells"].sum() == len(cells)
    # outlines are the exact union of the children: same total area
    metric = "EPSG:32635"
    assert np.isclose(
        agg.frame.to_crs(metric).area.sum(), cells.to_crs(metric).area.sum(), rtol=1e-6
    )
    # within budget nothing changes
    same = aggregate_cells(cells, len(cells))
    assert not same.aggregated and same.frame is cells


def test_map_layers_respect_budget_and_say_so(result) -> None:
    budget = 100
    lay = sample_layers()
    m = build_map(
        cells=result.cells,
        blind_spots=result.blind_spots,
        views=result.views,
        cameras=lay["cameras"],
        budget=budget,
        lang="en",
    )
    data = layers_in(m.html())
    for ov in m.overlays:
        assert ov.n_features <= budget, ov.layer_name
        assert len(data[ov.get_name()]["features"]) == ov.n_features
    text = " ".join(m.notes)
    assert "aggregated to H3 resolution" in text
    assert "only the first 100 by rank" in text  # blind spots (133) and cameras (221)
    assert "merged by status" in text  # views (221)
    grids = build_map(grids=result.grid_stats, budget=budget, lang="en")
    lv3 = next(ov for ov in grids.overlays if ov.key == "grids.3")
    stats3 = result.grid_stats[result.grid_stats["level"] == 3]
    lowest = np.sort(stats3["covered_pct"].to_numpy(float))[:budget]
    shown = [float(f["properties"]["covered_pct"]) for f in lv3.data["features"]]
    assert len(shown) == budget and np.allclose(shown, lowest, atol=0.051)
    assert any("Level-3 grids" in n for n in grids.notes)
    spots = next(ov for ov in m.overlays if ov.key == "blind_spots")
    ranks = [int(f["properties"]["blind_spot"]) for f in spots.data["features"]]
    assert ranks == list(range(1, budget + 1))


def test_grid_tooltips_carry_code_and_coverage(full_map, result) -> None:
    stats = result.grid_stats.set_index("code")
    for ov in full_map.overlays:
        if not ov.key.startswith("grids."):
            continue
        level = int(ov.key.split(".")[1])
        feats = ov.data["features"]
        assert len(feats) == int((stats["level"] == level).sum())
        for f in feats[:50]:
            p = f["properties"]
            v = stats.loc[p["code"], "covered_pct"]
            assert p["covered_pct"] == ("—" if not np.isfinite(v) else f"{v:,.1f}")
        assert ov.aliases[:2] == ["网格编码", "名称"]


def test_labels_chinese_by_default_english_on_request(result) -> None:
    def has(page: str, text: str) -> bool:  # labels sit in JSON strings (\\uXXXX escapes)
        return json.dumps(text)[1:-1] in page

    zh = build_map(grids=result.grid_stats, cells=result.cells).html()
    en = build_map(grids=result.grid_stats, cells=result.cells, lang="en").html()
    assert has(zh, label("layer.cells", "zh")) and has(zh, "每单元摄像机数")
    assert has(zh, "网格编码") and not has(zh, "Grid code")
    assert has(en, "Coverage cells (cameras per cell)") and has(en, "Cameras per cell")
    assert has(en, "Grid code") and not has(en, "每单元摄像机数")
    with pytest.raises(InputError):
        build_map(grids=result.grid_stats, lang="fr")


def test_every_layer_kind_and_missing_columns(result) -> None:
    lay = sample_layers()
    qa = gpd.GeoDataFrame(
        {
            "severity": ["error", "warning"],
            "check": ["overlap", "gap"],
            "code": ["a", "b"],
            "message": ["x", "y"],
        },
        geometry=[shapely.box(24.94, 60.17, 24.941, 60.171), shapely.Point(24.945, 60.172)],
        crs="EPSG:4326",
    )
    zones = gpd.GeoDataFrame(
        {"post_id": ["p1"], "name": ["z"]},
        geometry=[shapely.box(24.94, 60.17, 24.95, 60.175)],
        crs="EPSG:4326",
    )
    siting = gpd.GeoDataFrame(
        {"rank": [2, 1], "camera_id": ["n2", "n1"]},
        geometry=[shapely.Point(24.942, 60.171), shapely.Point(24.943, 60.172)],
        crs="EPSG:4326",
    )
    m = build_map(
        grids=result.grid_stats,
        cells=result.cells,
        blind_spots=result.blind_spots,
        views=result.views,
        cameras=lay["cameras"],
        posts=lay["posts"],
        zones=zones,
        siting=siting,
        qa_issues=qa,
        lang="en",
    )
    keys = [ov.key for ov in m.overlays]
    assert keys == [
        "cells",
        "zones",
        "grids.3",
        "grids.2",
        "grids.1",
        "views",
        "blind_spots",
        "qa",
        "cameras",
        "posts",
        "siting",
    ]
    site = next(ov for ov in m.overlays if ov.key == "siting")
    assert [f["properties"]["rank"] for f in site.data["features"]] == ["1", "2"]
    with pytest.raises(SchemaError, match="'camera_id'"):
        build_map(cameras=lay["posts"])
