// The grid chief's view: zoom to my grid, its coverage figures, its QA issues with
// confirm / dispute + comment (POST /app/qa-reviews, audited), its blind spots.
import { t } from "./i18n.js";

function esc(v) {
  return String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function boundsOf(features) {
  const b = L.latLngBounds([]);
  for (const f of features) if (f.geometry) b.extend(L.geoJSON(f).getBounds());
  return b;
}

export class GridView {
  constructor(map, api, ui) {
    this.map = map;
    this.api = api;
    this.ui = ui; // { toast, session(), collections() }
    this.outline = L.featureGroup().addTo(map);
    document.getElementById("my-grid").onclick = () => this.open();
  }

  async find(code, kind) {
    for (const c of this.ui.collections().filter((x) => x["gridcover:kind"] === kind)) {
      const doc = await this.api.get(`/collections/${encodeURIComponent(c.id)}/items?code=${encodeURIComponent(code)}&limit=10`);
      if (doc.features.length) return doc.features;
    }
    return [];
  }

  async open() {
    const code = this.ui.session().grid_code;
    if (!code) return;
    const grids = await this.find(code, "grids");
    if (!grids.length) { this.ui.toast(`${t("not_found")}: ${code}`, true); return; }
    this.outline.clearLayers();
    L.geoJSON({ type: "FeatureCollection", features: grids }, { style: { color: "#f79009", weight: 4, fill: false } }).addTo(this.outline);
    const b = boundsOf(grids);
    this.map.fitBounds(b, { padding: [20, 20] });
    this.bounds = b;
    await Promise.all([this.figures(code), this.issues(b), this.blind(b)]);
  }

  async figures(code) {
    const box = document.getElementById("grid-figures");
    const stats = await this.find(code, "grid_stats");
    if (!stats.length) { box.innerHTML = ""; return; }
    const p = stats[0].properties;
    const row = (k, v) => `<tr><th>${t(k)}</th><td class="num">${esc(v)}</td></tr>`;
    box.innerHTML = `<table data-testid="grid-figures">${row("area", `${(p.area_m2 / 1e6).toFixed(3)} km²`)}`
      + `${row("coverage", `${Number(p.covered_pct).toFixed(1)} %`)}${row("weighted", `${Number(p.priority_weighted_pct).toFixed(1)} %`)}`
      + `${row("cameras", (p.cameras_online || 0) + (p.cameras_offline || 0) + (p.cameras_unknown || 0))}</table>`;
  }

  bboxOf(b) { return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(","); }

  async issues(b) {
    const box = document.getElementById("qa-list");
    if (!this.api.features.collections.has("grid_issues")) { box.textContent = t("no_issues"); return; }
    const code = this.ui.session().grid_code;
    const [all, rev, mine] = await Promise.all([
      this.api.get(`/collections/grid_issues/items?bbox=${this.bboxOf(b)}&limit=500`),
      this.api.get("/app/qa-reviews"),
      this.api.get(`/app/qa-issues?grid=${encodeURIComponent(code)}`),
    ]);
    const touching = new Set(mine.issues); // the issues whose shape touches my grid
    const doc = { features: all.features.filter((f) => touching.has(String(f.id))) };
    if (!doc.features.length) { box.textContent = t("no_issues"); return; }
    box.innerHTML = doc.features.map((f) => {
      const p = f.properties;
      const r = rev.reviews[String(f.id)];
      const verdict = r ? `<span class="verdict">${t(`verdict_${r.verdict}`)}</span> ${esc(r.actor)}: ${esc(r.comment)}` : "";
      return `<div class="qa" data-issue="${esc(f.id)}"><b>${esc(p.check)}</b> ${esc(p.severity)} · ${esc(p.code)}${p.other_code ? " / " + esc(p.other_code) : ""}`
        + `<br><small>${esc(p.message)}</small><div class="state">${verdict}</div>`
        + `<input class="comment" placeholder="${t("comment")}"> <button data-v="confirmed">${t("confirm")}</button> <button data-v="disputed">${t("dispute")}</button></div>`;
    }).join("");
    box.querySelectorAll(".qa button").forEach((btn) => btn.addEventListener("click", () => this.review(btn)));
    box.querySelectorAll(".qa").forEach((el) => el.addEventListener("mouseenter", () => {
      const f = doc.features.find((x) => String(x.id) === el.dataset.issue);
      if (f) { this.outline.eachLayer((l) => { if (l.options && l.options.issue) this.outline.removeLayer(l); });
        L.geoJSON(f, { issue: true, style: { color: "#f04438", weight: 4 } }).addTo(this.outline); }
    }));
  }

  async review(btn) {
    const el = btn.closest(".qa");
    const body = { issue_id: el.dataset.issue, verdict: btn.dataset.v, comment: el.querySelector(".comment").value };
    try {
      const r = await this.api.request("POST", "/app/qa-reviews", body);
      el.querySelector(".state").innerHTML = `<span class="verdict">${t(`verdict_${r.verdict}`)}</span> ${esc(r.actor)}: ${esc(r.comment)}`;
      this.ui.toast(t("saved"));
    } catch (err) {
      this.ui.toast(`${t("refused")}: ${err.message}`, true);
    }
  }

  async blind(b) {
    const box = document.getElementById("blind-list");
    const cid = this.ui.unitsId() || (this.api.features.collections.has("blind_spots") ? "blind_spots" : null);
    if (!cid) { box.textContent = ""; return; }
    const doc = await this.api.get(`/collections/${cid}/items?bbox=${this.bboxOf(b)}&limit=100`);
    box.innerHTML = `<table>${doc.features.slice(0, 30).map((f) => `<tr><td>${esc(f.id)}</td><td class="num">${Math.round(f.properties.area_m2 || 0)} m²</td>`
      + `<td>${esc(f.properties.nearest_camera || "")}</td></tr>`).join("")}</table>`;
  }
}
