// The planner's what-if: disable / re-aim / add cameras (or take a siting proposal), KPI
// deltas per grid from POST /analysis/whatif after each change, saved scenarios (server
// routes when /scenarios exists, else this browser), side-by-side comparison and CSV export.
import { KINDS, KIND_COLOR } from "./changes.js";
import { t } from "./i18n.js";

const KPIS = ["covered_pct", "priority_weighted_pct", "cameras_counted", "blind_spots", "blind_spot_area_m2"];
const GRID_COLS = ["d_covered_pct", "d_priority_weighted_pct", "d_blind_spots"];

function fmt(v) {
  if (v === null || v === undefined) return "";
  return typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v);
}

function csv(rows) {
  return rows.map((r) => r.map((v) => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }).join(",")).join("\n");
}

function download(name, text) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob(["\ufeff" + text], { type: "text/csv" }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

export class WhatIf {
  constructor(map, api, ui) {
    this.map = map;
    this.api = api;
    this.ui = ui; // { toast, refreshCameras }
    this.layer = L.layerGroup().addTo(map);
    this.reset();
    this.adding = false;
    this.timer = null;
    this.seq = 0;
    map.on("click", (e) => { if (this.adding) this.add(e.latlng); });
    document.getElementById("wi-add").onclick = () => { this.adding = !this.adding; this.ui.toast(t("wi_add")); };
    document.getElementById("wi-reset").onclick = () => { this.reset(); this.changed(); };
    document.getElementById("wi-save").onclick = () => this.save();
  }

  active() { return document.getElementById("tab-whatif").classList.contains("on"); }

  reset() {
    this.state = { disabled: [], added: [], reaimed: {} };
    this.result = null;
    if (this.layer) this.layer.clearLayers();
    const out = document.getElementById("wi-result");
    if (out) out.innerHTML = "";
  }

  isDisabled(id) { return this.state.disabled.includes(String(id)); }
  reaimOf(id) { const r = this.state.reaimed[String(id)]; return r ? r.azimuth_deg : null; }

  toggle(id) {
    const s = String(id);
    this.state.disabled = this.isDisabled(s) ? this.state.disabled.filter((x) => x !== s) : [...this.state.disabled, s];
    this.changed();
  }

  reaim(id, az) { this.state.reaimed[String(id)] = { azimuth_deg: az }; this.changed(); }

  add(latlng, extra) {
    this.adding = false;
    const cam = { camera_id: `new-${this.state.added.length + 1}`, lon: Number(latlng.lng.toFixed(7)),
      lat: Number(latlng.lat.toFixed(7)), type: "dome", status: "online", ...(extra || {}) };
    this.state.added.push(cam);
    this.changed();
  }

  applySite(f) {
    const p = f.properties;
    const [lng, lat] = f.geometry.coordinates;
    const extra = { camera_id: String(f.id).slice(0, 64), type: ["bullet", "dome", "ptz", "other"].includes(p.type) ? p.type : "dome" };
    if (p.azimuth_deg !== null && p.azimuth_deg !== undefined) extra.azimuth_deg = p.azimuth_deg;
    this.add(L.latLng(lat, lng), extra);
  }

  style(feature) {
    if (!this.active() || !this.isDisabled(feature.id)) return null;
    return { fillColor: "#ffffff", color: "#d92d20", dashArray: "2" };
  }

  changed() {
    this.drawChanges();
    this.ui.refreshCameras();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.evaluate(), 60);
  }

  drawChanges() {
    this.layer.clearLayers();
    for (const a of this.state.added) {
      L.circleMarker([a.lat, a.lon], { radius: 7, color: "#7a5af8", weight: 3, fillColor: "#12b76a", fillOpacity: 1 })
        .bindTooltip(`${a.camera_id} (${t("wi_added")})`).addTo(this.layer);
    }
    const s = this.state;
    document.getElementById("wi-changes").innerHTML =
      `<p>${t("wi_disabled")}: ${s.disabled.length} · ${t("wi_reaimed")}: ${Object.keys(s.reaimed).length} · ${t("wi_added")}: ${s.added.length}</p>`;
  }

  body(name, state) { return { name: name || "scenario", ...(state || this.state) }; }

  async evaluate() {
    const seq = ++this.seq;
    const out = document.getElementById("wi-result");
    const t0 = performance.now();
    try {
      const res = await this.api.request("POST", "/analysis/whatif", this.body());
      if (seq !== this.seq) return;
      const ms = Math.round(performance.now() - t0);
      this.result = res;
      out.innerHTML = this.table(res, ms);
      document.getElementById("wi-export-sites").onclick = () => this.exportSites();
      out.dataset.seq = String(seq);
      document.body.dataset.whatif = String(seq);
    } catch (err) {
      this.ui.toast(`${t("refused")}: ${err.message}`, true);
    }
  }

  table(res, ms) {
    const kpi = KPIS.map((k) => `<tr><th>${t(k)}</th><td class="num">${fmt(res.baseline[k])}</td><td class="num">${fmt(res.scenario[k])}</td>`
      + `<td class="num ${res.deltas[k] > 0 ? "pos" : res.deltas[k] < 0 ? "neg" : ""}" data-kpi="${k}" data-value="${res.deltas[k]}">${fmt(res.deltas[k])}</td></tr>`).join("");
    const grids = res.grid_deltas.slice(0, 60).map((g) => `<tr data-grid="${g.code}"><td>${g.code}</td><td>${g.level}</td>`
      + GRID_COLS.map((c) => `<td class="num" data-col="${c}" data-value="${g[c]}">${fmt(g[c])}</td>`).join("") + "</tr>").join("");
    return `<p>${t("wi_took")} ${ms} ms</p><table><tr><th>${t("wi_kpi")}</th><th>${t("wi_base")}</th><th>${t("wi_scen")}</th><th>${t("wi_delta")}</th></tr>${kpi}</table>`
      + `<table><tr><th>${t("wi_grid")}</th><th>L</th>${GRID_COLS.map((c) => `<th>${t(c)}</th>`).join("")}</tr>${grids}</table>`
      + `<div class="row"><button id="wi-export-sites">${t("wi_export_sites")}</button></div>`;
  }

  saved() { return JSON.parse(localStorage.getItem("gridcover.scenarios") || "{}"); }

  async save() {
    const name = document.getElementById("wi-name").value.trim() || `scenario-${Date.now()}`;
    const all = this.saved();
    all[name] = JSON.parse(JSON.stringify(this.state));
    localStorage.setItem("gridcover.scenarios", JSON.stringify(all));
    await this.api.apiPaths;
    if (this.api.has("/scenarios")) {
      try {
        await this.api.request("POST", "/scenarios", { ...this.body(name), replace: true });
      } catch (err) {
        this.ui.toast(`${t("refused")}: ${err.message}`, true);
      }
    } else {
      this.ui.toast(t("wi_server_scen"));
    }
    this.listSaved();
  }

  listSaved() {
    const all = this.saved();
    const box = document.getElementById("wi-saved");
    box.innerHTML = Object.keys(all).map((n) => `<label><input type="checkbox" value="${n.replace(/"/g, "&quot;")}"> ${n.replace(/</g, "&lt;")}</label><br>`).join("")
      + (Object.keys(all).length >= 2 ? `<button id="wi-compare-go">${t("wi_compare")}</button>` : "");
    const go = document.getElementById("wi-compare-go");
    if (go) go.onclick = () => this.compare([...box.querySelectorAll("input:checked")].map((i) => i.value).slice(0, 2));
  }

  async compare(names) {
    if (names.length !== 2) return;
    const all = this.saved();
    const [a, b] = await Promise.all(names.map((n) => this.api.request("POST", "/analysis/whatif", this.body(n, all[n]))));
    const rows = [[t("wi_kpi"), t("wi_base"), names[0], names[1]]];
    for (const k of KPIS) rows.push([t(k), a.baseline[k], a.scenario[k], b.scenario[k]]);
    const grids = new Map();
    for (const g of a.grid_deltas) grids.set(g.code, [g.d_covered_pct, null]);
    for (const g of b.grid_deltas) grids.set(g.code, [(grids.get(g.code) || [null])[0], g.d_covered_pct]);
    const gridRows = [...grids.entries()].map(([code, [da, db]]) => [code, da, db]);
    const box = document.getElementById("wi-compare");
    box.innerHTML = `<table>${rows.map((r, i) => `<tr>${r.map((v) => (i ? `<td class="num">${fmt(v)}</td>` : `<th>${v}</th>`)).join("")}</tr>`).join("")}</table>`
      + `<table><tr><th>${t("wi_grid")}</th><th>d_covered_pct ${names[0]}</th><th>${names[1]}</th></tr>`
      + gridRows.slice(0, 80).map((r) => `<tr><td>${r[0]}</td><td class="num">${fmt(r[1])}</td><td class="num">${fmt(r[2])}</td></tr>`).join("")
      + `</table><button id="wi-export">${t("wi_export")}</button>`;
    document.getElementById("wi-export").onclick = () => download("scenario-comparison.csv",
      csv([...rows, [], ["grid", `d_covered_pct ${names[0]}`, `d_covered_pct ${names[1]}`], ...gridRows]));
    await this.api.apiPaths;
    if (this.api.has("/scenarios/{name}/compare/cells")) await this.compareCells(names, box);
  }

  // The server's comparison of the two stored scenarios: changed cells on the map, counts
  // per kind, GeoJSON export.
  async compareCells([a, b], box) {
    try {
      const c = await this.api.get(`/scenarios/${encodeURIComponent(a)}/compare?with=${encodeURIComponent(b)}`);
      const n = c.changed_cells;
      box.insertAdjacentHTML("beforeend", `<h3>${t("l_changes")}</h3><table data-testid="changed-summary">`
        + KINDS.filter((k) => n[k] || !k.startsWith("level")).map((k) => `<tr><th><span class="sw" style="background:${KIND_COLOR[k]}"></span> `
          + `${t(`ch_${k}`)}</th><td class="num" data-kind="${k}">${n[k]}</td></tr>`).join("")
        + `</table><button id="wi-export-cells">${t("wi_export_cells")}</button>`);
      document.getElementById("wi-export-cells").onclick = () => this.ui.changes().exportGeojson()
        .catch((e) => this.ui.toast(e.message, true));
      this.ui.showChanges(c);
    } catch (err) {
      this.ui.toast(`${t("refused")}: ${err.message}`, true);
    }
  }

  exportSites() {
    const rows = [["camera_id", "lon", "lat", "type", "status", "azimuth_deg"]];
    for (const a of this.state.added) rows.push([a.camera_id, a.lon, a.lat, a.type, a.status, a.azimuth_deg ?? ""]);
    download("placements.csv", csv(rows));
  }
}
