// Basemaps: offline graticule or blank (default), or online OSM / Tianditu / AMap tiles.
// AMap tiles are in GCJ-02: the tile layer is shifted by the local WGS84 -> GCJ-02 offset at
// the map centre so that our WGS84 overlays line up (the offset varies by metres per km).
import { t } from "./i18n.js";

const A = 6378245.0;
const EE = 0.00669342162296594323;

function outOfChina(lng, lat) { return lng < 72.004 || lng > 137.8347 || lat < 0.8293 || lat > 55.8271; }

function tLat(x, y) {
  let r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(y * Math.PI) + 40 * Math.sin((y / 3) * Math.PI)) * 2) / 3;
  r += ((160 * Math.sin((y / 12) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30)) * 2) / 3;
  return r;
}

function tLng(x, y) {
  let r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(x * Math.PI) + 40 * Math.sin((x / 3) * Math.PI)) * 2) / 3;
  r += ((150 * Math.sin((x / 12) * Math.PI) + 300 * Math.sin((x / 30) * Math.PI)) * 2) / 3;
  return r;
}

// WGS84 -> GCJ-02 (degrees); unchanged outside China.
export function wgs84ToGcj02(lng, lat) {
  if (outOfChina(lng, lat)) return [lng, lat];
  let dLat = tLat(lng - 105, lat - 35);
  let dLng = tLng(lng - 105, lat - 35);
  const rad = (lat / 180) * Math.PI;
  let magic = Math.sin(rad);
  magic = 1 - EE * magic * magic;
  const sq = Math.sqrt(magic);
  dLat = (dLat * 180) / (((A * (1 - EE)) / (magic * sq)) * Math.PI);
  dLng = (dLng * 180) / ((A / sq) * Math.cos(rad) * Math.PI);
  return [lng + dLng, lat + dLat];
}

// A graticule drawn as vector lines with a spacing fitted to the zoom (no request).
class Graticule {
  constructor(map) { this.map = map; this.group = L.layerGroup(); this.draw = () => this.redraw(); }
  addTo() { this.group.addTo(this.map); this.map.on("moveend", this.draw); this.redraw(); }
  remove() { this.map.off("moveend", this.draw); this.group.remove(); }
  redraw() {
    this.group.clearLayers();
    const b = this.map.getBounds();
    const span = Math.max(b.getEast() - b.getWest(), 1e-6);
    const steps = [10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005];
    const step = steps.find((s) => span / s >= 4 && span / s <= 16) || steps[steps.length - 1];
    const style = { color: "#b9b3a6", weight: 1, interactive: false };
    const x0 = Math.floor(b.getWest() / step) * step;
    const y0 = Math.floor(b.getSouth() / step) * step;
    for (let x = x0; x <= b.getEast(); x += step) {
      this.group.addLayer(L.polyline([[b.getSouth(), x], [b.getNorth(), x]], style));
    }
    for (let y = y0; y <= b.getNorth(); y += step) {
      this.group.addLayer(L.polyline([[y, b.getWest()], [y, b.getEast()]], style));
    }
  }
}

export class Basemaps {
  constructor(map) {
    this.map = map;
    this.current = null;
    this.shift = () => this.alignGcj();
  }

  use(name) {
    if (this.current) this.current.remove();
    this.map.off("moveend zoomend", this.shift);
    this.current = null;
    this.tiles = null;
    document.getElementById("map").classList.toggle("blank", name === "blank");
    if (name === "graticule") {
      this.current = new Graticule(this.map);
      this.current.addTo();
    } else if (name === "osm") {
      this.tiles = L.tileLayer("https:/" + "/tile.openstreetmap.org/{z}/{x}/{y}.png",
        { attribution: "© OpenStreetMap contributors", maxZoom: 19 });
    } else if (name === "tianditu") {
      const key = sessionStorage.getItem("gridcover.tianditu") || window.prompt(t("tianditu_key")) || "";
      sessionStorage.setItem("gridcover.tianditu", key);
      const url = "https:/" + "/t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
        + "&VERSION=1.0.0&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
        + "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=" + encodeURIComponent(key);
      this.tiles = L.tileLayer(url, { subdomains: "01234567", maxZoom: 18, attribution: "天地图 Tianditu" });
    } else if (name === "amap") {
      const url = "https:/" + "/webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}";
      this.tiles = L.tileLayer(url, { subdomains: "1234", maxZoom: 18, attribution: "高德地图 AMap (GCJ-02)" });
      this.map.on("moveend zoomend", this.shift);
    }
    if (this.tiles) {
      this.tiles.addTo(this.map);
      this.current = this.tiles;
      if (name === "amap") this.alignGcj();
    }
  }

  // Shift the GCJ-02 tiles so that the place under the map centre lines up with WGS84 data.
  alignGcj() {
    if (!this.tiles || !this.tiles.getContainer()) return;
    const c = this.map.getCenter();
    const [gx, gy] = wgs84ToGcj02(c.lng, c.lat);
    const p0 = this.map.latLngToLayerPoint(c);
    const p1 = this.map.latLngToLayerPoint(L.latLng(gy, gx));
    const el = this.tiles.getContainer();
    el.style.marginLeft = `${Math.round(p0.x - p1.x)}px`;
    el.style.marginTop = `${Math.round(p0.y - p1.y)}px`;
  }
}
