// The "look": every layer is read by bbox (and zoom) from the API, never whole. Budgets per
// request are in LIMITS; coverage cells and camera clusters come pre-aggregated from
// /app/zoom/{collection}. A view's requests and features are counted in `lastView`.
import { t } from "./i18n.js";

export const LIMITS = { grids: 1000, cameras: 1500, views: 1500, bands: 1500, posts: 500, sites: 500,
  blind: 500, zones: 200, siting: 500, issues: 500, units: 500, cells: 3000 };
export const VIEW_BUDGET = 10000; // features per view, all layers together (docs/APP.md)
const STATUS_COLOR = { online: "#12b76a", offline: "#d92d20", unknown: "#98a2b3" };
const OWNER_COLOR = { public_security: "#1f3b57", community: "#7a5af8", social: "#f79009", other: "#667085" };
const TYPE_RADIUS = { ptz: 7, dome: 5, bullet: 5, other: 4 };

function pctColor(p) {
  if (p === null || p === undefined || Number.isNaN(p)) return "#d0d5dd";
  const stops = [[0, "#d92d20"], [25, "#f79009"], [50, "#fdb022"], [75, "#66c61c"], [100, "#12b76a"]];
  for (let i = stops.length - 1; i >= 0; i -= 1) if (p >= stops[i][0]) return stops[i][1];
  return stops[0][1];
}

export class Look {
  constructor(map, api, hooks) {
    this.map = map;
    this.api = api;
    this.hooks = hooks; // { select(collection, feature), style(feature) }
    this.groups = {};
    this.aborts = {};
    this.lastView = { requests: 0, features: 0, perLayer: {} };
    this.renderer = L.canvas({ padding: 0.2 });
    this.timer = null;
    this.pending = Promise.resolve();
    this.changes = null; // the scenario comparison's changed cells (changes.js), when shown
  }

  setup(collections) {
    const ids = new Set(collections.map((c) => c.id));
    const kind = (k) => collections.filter((c) => c["gridcover:kind"] === k);
    this.gridLevels = kind("grids").map((c) => c.id).sort();
    this.statsLevels = kind("grid_stats").map((c) => c.id).sort();
    const units = collections.find((c) => /unit/.test(c.id) && /blind/.test(c.id));
    const defs = [
      ["grids", "l_grids", this.gridLevels.length > 0, true],
      ["cells", "l_cells", ids.has("coverage_cells"), true],
      ["blind", "l_blind", ids.has("blind_spots"), true],
      ["units", "l_units", Boolean(units), false],
      ["zones", "l_zones", ids.has("patrol_zones"), false],
      ["siting", "l_siting", ids.has("siting_proposals"), false],
      ["issues", "l_issues", ids.has("grid_issues"), false],
      ["views", "l_views", ids.has("camera_views"), true],
      ["bands", "l_bands", ids.has("camera_view_bands"), false],
      ["sites", "l_sites", ids.has("sites"), false],
      ["posts", "l_posts", ids.has("posts"), true],
      ["cameras", "l_cameras", ids.has("cameras"), true],
    ];
    this.unitsId = units ? units.id : null;
    if (this.control) this.control.remove();
    const overlays = {};
    for (const [name, label, present, on] of defs) {
      if (!present) continue;
      if (!this.groups[name]) this.groups[name] = L.featureGroup();
      overlays[t(label)] = this.groups[name];
      if (on && !this.map.hasLayer(this.groups[name])) this.groups[name].addTo(this.map);
    }
    if (this.changes && this.changes.current) overlays[t("l_changes")] = this.changes.group;
    this.control = L.control.layers(null, overlays, { collapsed: false }).addTo(this.map);
    if (!this.scale) this.scale = L.control.scale({ imperial: false }).addTo(this.map);
    if (this.onMove) this.map.off("moveend overlayadd", this.onMove);
    this.onMove = () => this.schedule();
    this.map.on("moveend overlayadd", this.onMove);
    this.legend();
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.pending = this.refresh(); }, 120);
  }

  bbox() {
    const b = this.map.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
  }

  async fetchInto(name, path, draw) {
    if (this.aborts[name]) this.aborts[name].abort();
    const ctl = new AbortController();
    this.aborts[name] = ctl;
    const resp = await fetch(path, { headers: this.api.headers(), signal: ctl.signal });
    if (!resp.ok) throw new Error(`${path}: HTTP ${resp.status}`);
    const doc = await resp.json();
    if (ctl.signal.aborted) return null;
    this.view.requests += 1;
    this.view.features += doc.features ? doc.features.length : 0;
    this.view.perLayer[name] = (this.view.perLayer[name] || 0) + (doc.features ? doc.features.length : 0);
    draw(doc);
    return doc;
  }

  visible(name) { return this.groups[name] && this.map.hasLayer(this.groups[name]); }

  async refresh() {
    const z = this.map.getZoom();
    const box = this.bbox();
    this.view = { requests: 0, features: 0, perLayer: {}, zoom: z, bbox: box };
    const jobs = [];
    const items = (cid, limit) => `/collections/${encodeURIComponent(cid)}/items?bbox=${box}&limit=${limit}`;
    if (this.visible("grids")) {
      const idx = z < 14 ? 0 : z < 16 ? 1 : 2;
      const cid = this.gridLevels[Math.min(idx, this.gridLevels.length - 1)];
      jobs.push(this.fetchInto("grids", items(cid, LIMITS.grids), (d) => this.drawGrids(d, z)));
    }
    if (this.visible("cells")) {
      jobs.push(this.fetchInto("cells", `/app/zoom/coverage_cells?bbox=${box}&zoom=${z}&max=${LIMITS.cells}`,
        (d) => this.drawCells(d)));
    }
    if (this.visible("cameras")) jobs.push(this.refreshCameras(box, z));
    if (this.visible("views") && z >= 17) {
      jobs.push(this.fetchInto("views", items("camera_views", LIMITS.views), (d) => this.drawPolys("views", d,
        () => ({ color: "#1570ef", weight: 1, fillOpacity: 0.12 }))));
    } else if (this.groups.views) this.groups.views.clearLayers();
    if (this.visible("bands") && z >= 17) {
      // detail levels of a 3D run: 1 detect .. 4 identify, darker = more detail
      const shade = ["#d1e9ff", "#84caff", "#2e90fa", "#1849a9"];
      jobs.push(this.fetchInto("bands", items("camera_view_bands", LIMITS.bands), (d) => this.drawPolys("bands", d,
        (f) => ({ color: shade[(f.properties.level || 1) - 1], weight: 0.5, fillOpacity: 0.3 }))));
    } else if (this.groups.bands) this.groups.bands.clearLayers();
    const simple = [["blind", "blind_spots", { color: "#b42318", weight: 2, fillOpacity: 0.25, dashArray: "4" }],
      ["zones", "patrol_zones", { color: "#7a5af8", weight: 2, fillOpacity: 0.08 }],
      ["issues", "grid_issues", { color: "#f04438", weight: 3, fillOpacity: 0.3 }]];
    if (this.unitsId) simple.push(["units", this.unitsId, { color: "#c4320a", weight: 2, fillOpacity: 0.2 }]);
    for (const [name, cid, style] of simple) {
      if (!this.visible(name)) continue;
      if (name === "issues") jobs.push(this.refreshIssues(items(cid, LIMITS.issues), style));
      else jobs.push(this.fetchInto(name, items(cid, LIMITS[name]), (d) => this.drawPolys(name, d, () => style, cid)));
    }
    for (const [name, cid, color] of [["posts", "posts", "#1f3b57"], ["sites", "sites", "#dc6803"], ["siting", "siting_proposals", "#7a5af8"]]) {
      if (this.visible(name)) jobs.push(this.fetchInto(name, items(cid, LIMITS[name]), (d) => this.drawPoints(name, cid, d, color)));
    }
    if (this.changes) {
      const job = this.changes.refresh(this, box, z);
      if (job) jobs.push(job);
    }
    const results = await Promise.allSettled(jobs);
    for (const r of results) {
      if (r.status === "rejected" && r.reason && r.reason.name !== "AbortError") this.hooks.error(r.reason);
    }
    this.lastView = this.view;
    document.body.dataset.view = String(Number(document.body.dataset.view || 0) + 1);
    return this.view;
  }

  // QA issues with the grid chiefs' verdicts (GET /app/qa-reviews) in their tooltips.
  async refreshIssues(path, style) {
    const reviews = await this.api.get("/app/qa-reviews").catch(() => ({ reviews: {} }));
    await this.fetchInto("issues", path, (d) => {
      this.drawPolys("issues", d, () => style, "grid_issues");
      this.groups.issues.eachLayer((gj) => gj.eachLayer((l) => {
        const f = l.feature;
        const r = reviews.reviews[String(f.id)];
        const verdict = r ? ` · ${t(`verdict_${r.verdict}`)} (${r.actor}: ${r.comment})` : "";
        l.bindTooltip(`${f.properties.check} ${f.properties.code}${verdict}`);
      }));
    });
  }

  async refreshCameras(box, z) {
    const agg = await this.fetchInto("cameras", `/app/zoom/cameras?bbox=${box}&zoom=${z}&max=${LIMITS.cells}`, () => {});
    if (!agg) return;
    if (agg["gridcover:aggregated"] === false) {
      await this.fetchInto("cameras", `/collections/cameras/items?bbox=${box}&limit=${LIMITS.cameras}`,
        (d) => this.drawCameras(d));
    } else {
      this.drawClusters(agg);
    }
  }

  drawGrids(doc, z) {
    const g = this.groups.grids;
    g.clearLayers();
    const permanent = z >= 16 && doc.features.length <= 40;
    for (const f of doc.features) {
      const lyr = L.geoJSON(f, { renderer: this.renderer, style: { color: "#1f3b57", weight: z < 14 ? 2.5 : 1.5, fill: false } });
      lyr.bindTooltip(permanent ? String(f.properties.code) : `${f.properties.code}${f.properties.name ? " " + f.properties.name : ""}`,
        { permanent, direction: "center", className: permanent ? "grid-label" : "" });
      g.addLayer(lyr);
    }
  }

  drawCells(doc) {
    const g = this.groups.cells;
    g.clearLayers();
    g.addLayer(L.geoJSON(doc, { renderer: this.renderer, style: (f) => ({
      color: pctColor(f.properties.covered_pct), weight: 0.5, fillOpacity: 0.35 }),
    onEachFeature: (f, l) => l.bindTooltip(`${t("covered_pct")} ${f.properties.covered_pct}% (${f.properties.n})`) }));
  }

  drawClusters(doc) {
    const g = this.groups.cameras;
    g.clearLayers();
    for (const f of doc.features) {
      const ring = f.geometry.coordinates[0];
      let x = 0; let y = 0;
      for (const p of ring.slice(0, -1)) { x += p[0]; y += p[1]; }
      const n = ring.length - 1;
      const icon = L.divIcon({ className: "", html: `<div class="cluster">${f.properties.n}</div>`, iconSize: [26, 26] });
      const m = L.marker([y / n, x / n], { icon, keyboard: false });
      m.bindTooltip(`${t("online")} ${f.properties.online || 0} · ${t("offline")} ${f.properties.offline || 0}`);
      m.on("click", () => this.map.setView(m.getLatLng(), Math.min(this.map.getZoom() + 2, 19)));
      g.addLayer(m);
    }
  }

  drawCameras(doc) {
    const g = this.groups.cameras;
    g.clearLayers();
    this.cameraIndex = new Map();
    for (const f of doc.features) {
      const p = f.properties;
      const [x, y] = f.geometry.coordinates;
      const extra = this.hooks.style(f) || {};
      const m = L.circleMarker([y, x], { renderer: this.renderer, radius: TYPE_RADIUS[p.type] || 5,
        color: OWNER_COLOR[p.owner] || "#344054", weight: 2, fillColor: STATUS_COLOR[p.status] || "#98a2b3",
        fillOpacity: 0.9, ...extra });
      m.bindTooltip(`${f.id} · ${p.type || ""} · ${t(p.status || "unknown")}`);
      m.on("click", () => this.hooks.select("cameras", f));
      this.cameraIndex.set(String(f.id), f);
      g.addLayer(m);
    }
  }

  drawPoints(name, cid, doc, color) {
    const g = this.groups[name];
    g.clearLayers();
    for (const f of doc.features) {
      const [x, y] = f.geometry.coordinates;
      const m = L.circleMarker([y, x], { renderer: this.renderer, radius: 5, color, weight: 2, fillOpacity: 0.6 });
      m.bindTooltip(`${f.id}${f.properties.name ? " " + f.properties.name : ""}`);
      m.on("click", () => this.hooks.select(cid, f));
      g.addLayer(m);
    }
  }

  drawPolys(name, doc, style, cid) {
    const g = this.groups[name];
    g.clearLayers();
    g.addLayer(L.geoJSON(doc, { renderer: this.renderer, style,
      onEachFeature: (f, l) => { if (cid) l.on("click", () => this.hooks.select(cid, f)); } }));
  }

  legend() {
    const rows = [];
    const sw = (c, round, border) => `<span class="sw${round ? " round" : ""}" style="background:${c};${border ? `border-color:${border}` : ""}"></span>`;
    rows.push(`<h3>${t("legend")}</h3>`);
    for (const s of ["online", "offline", "unknown"]) rows.push(`<div class="legend-item">${sw(STATUS_COLOR[s], true)} ${t("l_cameras")} ${t(s)}</div>`);
    rows.push(`<div class="legend-item"><span class="cluster" style="display:inline-block;transform:scale(.7)">9</span> ${t("cluster")}</div>`);
    for (const p of [0, 25, 50, 75, 100]) rows.push(`<div class="legend-item">${sw(pctColor(p))} ${t("covered_pct")} ≥ ${p}%</div>`);
    rows.push(`<div class="legend-item">${sw("#fff", true, "#7a5af8")} ${t("l_cameras")} (${t("ptz")} ●, ${t("dome")}/${t("bullet")} •)</div>`);
    for (const [o, c] of Object.entries(OWNER_COLOR)) rows.push(`<div class="legend-item">${sw("#fff", true, c)} ${t(`owner_${o}`)}</div>`);
    for (const [c, k] of [["#1f3b57", "l_posts"], ["#dc6803", "l_sites"], ["#7a5af8", "l_siting"]]) rows.push(`<div class="legend-item">${sw(c, true)} ${t(k)}</div>`);
    rows.push(`<div class="legend-item">${sw("rgba(21,112,239,.15)", false, "#1570ef")} ${t("l_views")}</div>`);
    rows.push(`<div class="legend-item">${sw("transparent", false, "#1f3b57")} ${t("l_grids")}</div>`);
    rows.push(`<div class="legend-item">${sw("rgba(180,35,24,.3)", false, "#b42318")} ${t("l_blind")}</div>`);
    rows.push(`<div class="legend-item">${sw("rgba(122,90,248,.1)", false, "#7a5af8")} ${t("l_zones")}</div>`);
    rows.push(`<div class="legend-item">${sw("rgba(240,68,56,.3)", false, "#f04438")} ${t("l_issues")}</div>`);
    document.getElementById("legend").innerHTML = rows.join("");
  }
}
