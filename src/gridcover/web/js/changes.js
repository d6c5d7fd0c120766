// The changed cells of a scenario comparison (A -> B) as a map layer: read by bbox and zoom
// from GET /scenarios/{a}/compare/cells (the server folds them into coarser H3 cells when
// zoomed out), coloured by the kind most of a hexagon's cells changed by, with a legend on
// the map and a GeoJSON export (GET /scenarios/{a}/compare/cells.geojson).
import { t } from "./i18n.js";

export const KINDS = ["gained", "lost", "level_up", "level_down", "more_cameras", "fewer_cameras"];
export const KIND_COLOR = { gained: "#12b76a", lost: "#d92d20", level_up: "#2e90fa", level_down: "#f79009",
  more_cameras: "#a6ef67", fewer_cameras: "#fda29b" };
export const CHANGES_MAX = 1500; // hexagons per request (docs/APP.md feature budget)

function dominant(p) {
  let best = KINDS[0];
  for (const k of KINDS) if ((p[k] || 0) > (p[best] || 0)) best = k;
  return best;
}

export class ChangedCells {
  constructor(map, api) {
    this.map = map;
    this.api = api;
    this.group = L.featureGroup();
    this.current = null; // { a, b, counts, bbox }
    map.createPane("changes").style.zIndex = 450;
    this.renderer = L.canvas({ pane: "changes", padding: 0.2 });
    this.legendControl = null;
    this.drawn = 0;
  }

  url(path) {
    const c = this.current;
    return `/scenarios/${encodeURIComponent(c.a)}/compare/${path}?with=${encodeURIComponent(c.b)}`;
  }

  // Show the comparison `c` (from GET /scenarios/{a}/compare?with=b): layer on, map on its cells.
  show(c) {
    this.current = { a: c.a, b: c.b, counts: c.changed_cells, bbox: c.changed_bbox };
    if (!this.map.hasLayer(this.group)) this.group.addTo(this.map);
    this.legend();
    if (c.changed_bbox) {
      const [x0, y0, x1, y1] = c.changed_bbox;
      this.map.fitBounds([[y0, x0], [y1, x1]], { maxZoom: 18, padding: [40, 40], animate: false });
    }
  }

  clear() {
    this.current = null;
    this.group.clearLayers();
    if (this.legendControl) this.legendControl.remove();
    this.legendControl = null;
  }

  // One request of the look's refresh (`look.fetchInto` counts it in the view's budget).
  refresh(look, box, z) {
    if (!this.current || !this.map.hasLayer(this.group)) return null;
    return look.fetchInto("changes", `${this.url("cells")}&bbox=${box}&zoom=${z}&max=${CHANGES_MAX}`,
      (d) => this.draw(d));
  }

  draw(doc) {
    this.group.clearLayers();
    this.group.addLayer(L.geoJSON(doc, { renderer: this.renderer,
      style: (f) => ({ color: "#101828", weight: 1.5, fillColor: KIND_COLOR[dominant(f.properties)], fillOpacity: 0.9 }),
      onEachFeature: (f, l) => {
        const p = f.properties;
        const parts = KINDS.filter((k) => p[k]).map((k) => `${t(`ch_${k}`)} ${p[k]}`);
        l.bindTooltip(`${f.id}: ${parts.join(" · ")}`);
      } }));
    this.last = doc;
    this.drawn += 1;
    document.body.dataset.changes = String(this.drawn);
  }

  // Ids and kinds of the hexagons drawn now (for the tests and the table).
  features() {
    const out = [];
    this.group.eachLayer((gj) => gj.eachLayer((l) => out.push({ id: l.feature.id, kind: dominant(l.feature.properties),
      n: l.feature.properties.n })));
    return out;
  }

  legend() {
    if (this.legendControl) this.legendControl.remove();
    const c = this.current.counts || {};
    const levels = (c.level_up || 0) + (c.level_down || 0) > 0;
    const kinds = KINDS.filter((k) => levels || !k.startsWith("level"));
    const ctl = L.control({ position: "bottomright" });
    ctl.onAdd = () => {
      const div = L.DomUtil.create("div", "changes-legend");
      div.dataset.testid = "changes-legend";
      div.innerHTML = `<strong>${t("l_changes")}: ${this.current.a} → ${this.current.b}</strong>`
        + kinds.map((k) => `<div class="legend-item" data-kind="${k}"><span class="sw" style="background:${KIND_COLOR[k]}"></span>`
          + ` ${t(`ch_${k}`)} <span class="num">${c[k] || 0}</span></div>`).join("");
      return div;
    };
    ctl.addTo(this.map);
    this.legendControl = ctl;
  }

  async exportGeojson() {
    const resp = await fetch(this.url("cells.geojson"), { headers: this.api.headers() });
    if (!resp.ok) throw new Error(`${t("wi_export_cells")}: HTTP ${resp.status}`);
    const a = document.createElement("a");
    a.href = URL.createObjectURL(await resp.blob());
    a.download = `changed-cells_${this.current.a}_${this.current.b}.geojson`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }
}
