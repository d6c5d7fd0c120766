// Selecting a feature: its attributes; for editors a form, a draggable marker (move) and a
// direction handle (azimuth). Writes are single-feature PATCHes with If-Match when the server
// gave an ETag; 409/412 open the conflict dialog, 403 shows the server's refusal in words.
import { ApiError } from "./api.js";
import { t } from "./i18n.js";

const EDITABLE = new Set(["cameras", "sites"]);
const FORM_FIELDS = [["status", ["online", "offline", "unknown"]], ["type", ["bullet", "dome", "ptz", "other"]],
  ["height_m", null], ["tilt_deg", null], ["azimuth_deg", null]];

export function destination(lat, lng, bearingDeg, metres) {
  const R = 6371008.8;
  const d = metres / R;
  const b = (bearingDeg * Math.PI) / 180;
  const p1 = (lat * Math.PI) / 180;
  const l1 = (lng * Math.PI) / 180;
  const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(b));
  const l2 = l1 + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(p1), Math.cos(d) - Math.sin(p1) * Math.sin(p2));
  return [(p2 * 180) / Math.PI, (l2 * 180) / Math.PI];
}

export function bearing(a, b) {
  const p1 = (a.lat * Math.PI) / 180;
  const p2 = (b.lat * Math.PI) / 180;
  const dl = ((b.lng - a.lng) * Math.PI) / 180;
  const y = Math.sin(dl) * Math.cos(p2);
  const x = Math.cos(p1) * Math.sin(p2) - Math.sin(p1) * Math.cos(p2) * Math.cos(dl);
  return (((Math.atan2(y, x) * 180) / Math.PI) + 360) % 360;
}

function esc(v) {
  return String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

export class Editor {
  constructor(map, api, ui) {
    this.map = map;
    this.api = api;
    this.ui = ui; // { toast(msg, bad), refresh(), role(), whatif }
    this.layer = L.layerGroup().addTo(map);
    this.panel = document.getElementById("selected");
  }

  canEdit(cid) {
    return EDITABLE.has(cid) && ["admin", "planner", "grid_chief"].includes(this.ui.role());
  }

  async select(cid, feature) {
    this.layer.clearLayers();
    const url = `/collections/${encodeURIComponent(cid)}/items/${encodeURIComponent(feature.id)}`;
    let f = feature;
    if (this.canEdit(cid)) f = await this.api.get(url); // fresh copy (and its ETag)
    this.current = { cid, url, feature: f };
    this.render();
  }

  render() {
    const { cid, feature } = this.current;
    const p = feature.properties;
    const rows = Object.entries(p).filter(([, v]) => v !== null && v !== "").slice(0, 14)
      .map(([k, v]) => `<tr><th>${esc(t(k))}</th><td>${esc(v)}</td></tr>`).join("");
    let html = `<h3>${esc(feature.id)}</h3><table>${rows}</table>`;
    const wi = this.ui.whatif;
    if (cid === "cameras" && wi && wi.active()) {
      const off = wi.isDisabled(feature.id);
      html += `<div class="row"><button id="wi-toggle" data-testid="wi-toggle">${t(off ? "enable" : "disable")}</button></div><p>${t("reaim")}</p>`;
    }
    if (cid === "siting_proposals" && wi && wi.active()) {
      html += `<div class="row"><button id="wi-site">${t("wi_apply_site")}</button></div>`;
    }
    if (this.canEdit(cid)) {
      html += `<form id="edit-form"><fieldset><legend>${t("edit")}</legend>`;
      for (const [name, options] of FORM_FIELDS) {
        if (!(name in p)) continue;
        const input = options
          ? `<select name="${name}">${options.map((o) => `<option value="${o}"${p[name] === o ? " selected" : ""}>${esc(t(o))}</option>`).join("")}</select>`
          : `<input name="${name}" type="number" step="any" value="${p[name] ?? ""}">`;
        html += `<label>${esc(t(name))} ${input}</label>`;
      }
      html += `<button type="submit" data-testid="edit-save">${t("save")}</button></fieldset></form>`;
    }
    this.panel.innerHTML = html;
    const form = document.getElementById("edit-form");
    if (form) form.addEventListener("submit", (e) => { e.preventDefault(); this.saveForm(form); });
    const tog = document.getElementById("wi-toggle");
    if (tog) tog.addEventListener("click", () => { wi.toggle(feature.id); this.render(); });
    const site = document.getElementById("wi-site");
    if (site) site.addEventListener("click", () => wi.applySite(feature));
    this.handles();
  }

  handles() {
    const { cid, feature } = this.current;
    this.layer.clearLayers();
    if (!feature.geometry || feature.geometry.type !== "Point") return;
    const [lng, lat] = feature.geometry.coordinates;
    const wi = this.ui.whatif;
    const planning = cid === "cameras" && wi && wi.active();
    const movable = this.canEdit(cid) && !planning;
    const icon = L.divIcon({ className: "", html: '<div class="cam-edit" data-testid="edit-marker"></div>', iconSize: [16, 16] });
    const marker = L.marker([lat, lng], { icon, draggable: movable, zIndexOffset: 1000 }).addTo(this.layer);
    marker.on("dragend", () => this.move(marker, [lat, lng]));
    if (cid !== "cameras" || !(movable || planning)) return;
    const p = feature.properties;
    const reaim = planning ? wi.reaimOf(feature.id) : null;
    const az = reaim ?? p.azimuth_deg ?? 0;
    const range = p.range_m || 30;
    const line = L.polyline([[lat, lng], destination(lat, lng, az, range)], { color: "#f79009", weight: 2 }).addTo(this.layer);
    const hicon = L.divIcon({ className: "", html: '<div class="handle" data-testid="direction-handle"></div>', iconSize: [14, 14] });
    const handle = L.marker(destination(lat, lng, az, range), { icon: hicon, draggable: true, zIndexOffset: 1001 }).addTo(this.layer);
    handle.on("drag", () => line.setLatLngs([[lat, lng], handle.getLatLng()]));
    handle.on("dragend", () => {
      const b = Math.round(bearing(L.latLng(lat, lng), handle.getLatLng()) * 10) / 10;
      if (planning) wi.reaim(feature.id, b);
      else this.patch({ properties: { azimuth_deg: b } });
    });
  }

  async move(marker, old) {
    const ll = marker.getLatLng();
    const ok = await this.patch({ geometry: { type: "Point", coordinates: [Number(ll.lng.toFixed(7)), Number(ll.lat.toFixed(7))] } }, t("moved"));
    if (!ok) marker.setLatLng(old);
  }

  saveForm(form) {
    const props = {};
    for (const [name, options] of FORM_FIELDS) {
      const el = form.elements[name];
      if (!el) continue;
      props[name] = options ? el.value : (el.value === "" ? null : Number(el.value));
    }
    return this.patch({ properties: props });
  }

  async patch(body, done) {
    const { url } = this.current;
    try {
      const f = await this.api.write("PATCH", url, body);
      this.current.feature = f;
      this.current.sent = null;
      this.ui.toast(done || t("saved"));
      await this.api.get(url).then((fresh) => { this.current.feature = fresh; });
      this.render();
      this.ui.refresh();
      return true;
    } catch (err) {
      if (err instanceof ApiError && (err.status === 409 || err.status === 412)) {
        await this.conflict(body);
        return false;
      }
      this.ui.toast(`${t("refused")}: ${err.message}`, true);
      return false;
    }
  }

  // Someone else changed the feature: show theirs against mine and ask.
  async conflict(body) {
    const { url } = this.current;
    const theirs = await this.api.get(url); // also refreshes the ETag
    const dlg = document.getElementById("conflict");
    const mine = { ...(body.properties || {}) };
    if (body.geometry) mine.geometry = JSON.stringify(body.geometry.coordinates);
    const rows = Object.keys(mine).map((k) => {
      const cur = k === "geometry" ? JSON.stringify(theirs.geometry && theirs.geometry.coordinates) : theirs.properties[k];
      return `<tr><th>${esc(t(k))}</th><td data-testid="theirs-${esc(k)}">${esc(cur)}</td><td>${esc(mine[k])}</td></tr>`;
    }).join("");
    document.getElementById("conflict-table").innerHTML =
      `<tr><th>${t("field")}</th><th>${t("theirs")}</th><th>${t("mine")}</th></tr>${rows}`;
    dlg.showModal();
    const choice = await new Promise((resolve) => {
      document.getElementById("conflict-mine").onclick = () => resolve("mine");
      document.getElementById("conflict-theirs").onclick = () => resolve("theirs");
    });
    dlg.close();
    this.current.feature = theirs;
    if (choice === "mine") return this.patch(body);
    this.render();
    this.ui.refresh();
    return false;
  }
}
