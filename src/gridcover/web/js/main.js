// Boot: language, sign-in (API key in sessionStorage only), discovery of what the server
// offers (/collections, /api), then the map, the layers and the role's tools.
import { Api, ApiError } from "./api.js";
import { Basemaps } from "./basemap.js";
import { ChangedCells } from "./changes.js";
import { Editor } from "./edit.js";
import { GridView } from "./grid.js";
import { apply, getLang, setLang, t } from "./i18n.js";
import { Jobs } from "./jobs.js";
import { Look } from "./layers.js";
import { WhatIf } from "./whatif.js";

const api = new Api();
const app = { api, session: null };
window.gridcover = app;

function toast(msg, bad) {
  const el = document.getElementById("toast");
  el.textContent = msg;
  el.className = bad ? "bad" : "";
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, bad ? 10000 : 3000);
}
app.toast = toast;

function showRole(s) {
  const who = document.getElementById("who");
  who.textContent = `${s.name} · ${t(`role_${s.role}`)}${s.grid_code ? ` · ${s.grid_code}` : ""}`;
  who.dataset.role = s.role;
  document.getElementById("sign-out").hidden = !s.signed_in;
  const may = { grid_chief: ["grid_chief"], planner: ["planner", "admin"] };
  document.querySelectorAll("#tabs [data-role]").forEach((b) => { b.hidden = !may[b.dataset.role].includes(s.role); });
}

function tabs() {
  document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => {
    document.querySelectorAll("#tabs button").forEach((x) => x.classList.toggle("on", x === b));
    document.querySelectorAll(".tab").forEach((x) => x.classList.toggle("on", x.id === `tab-${b.dataset.tab}`));
    if (app.look) app.look.schedule();
    if (b.dataset.tab === "grid" && app.grid) app.grid.open();
    if (b.dataset.tab === "whatif" && app.whatif) app.whatif.listSaved();
  }));
}

function signIn() {
  const dlg = document.getElementById("signin");
  const err = document.getElementById("signin-error");
  return new Promise((resolve) => {
    document.getElementById("signin-form").onsubmit = async (e) => {
      e.preventDefault();
      const anon = e.submitter && e.submitter.value === "anon";
      api.setKey(anon ? "" : document.getElementById("key").value.trim());
      try {
        const s = await api.get("/app/session");
        dlg.close();
        resolve(s);
      } catch (ex) {
        api.setKey("");
        err.textContent = ex instanceof ApiError ? ex.message : String(ex);
      }
    };
    dlg.showModal();
  });
}

function extent(collections) {
  const b = L.latLngBounds([]);
  const pick = collections.filter((c) => c["gridcover:kind"] === "grids");
  for (const c of (pick.length ? pick : collections)) {
    const bb = c.extent && c.extent.spatial && c.extent.spatial.bbox[0];
    if (bb) b.extend([[bb[1], bb[0]], [bb[3], bb[2]]]);
  }
  return b;
}

async function search(text) {
  const q = text.trim();
  if (!q) return;
  const hit = (f, zoom) => {
    const g = L.geoJSON(f);
    const b = g.getBounds();
    if (f.geometry.type === "Point") app.map.setView(b.getCenter(), zoom || 18);
    else app.map.fitBounds(b);
  };
  if (api.features.collections.has("cameras")) {
    try {
      const f = await api.get(`/collections/cameras/items/${encodeURIComponent(q)}`);
      hit(f);
      app.editor.select("cameras", f);
      return;
    } catch (e) { /* not a camera id */ }
  }
  for (const c of api.collections.filter((x) => x["gridcover:kind"] === "grids")) {
    for (const field of ["code", "name"]) {
      const doc = await api.get(`/collections/${encodeURIComponent(c.id)}/items?${field}=${encodeURIComponent(q)}&limit=5`);
      if (doc.features.length) { hit(doc.features[0]); return; }
    }
  }
  toast(`${t("not_found")}: ${q}`, true);
}

async function reload() {
  await api.discover();
  app.look.setup(api.collections);
  app.look.schedule();
}

async function boot() {
  setLang(getLang());
  const langSel = document.getElementById("lang");
  langSel.value = getLang();
  langSel.addEventListener("change", () => {
    setLang(langSel.value);
    if (app.session) showRole(app.session);
    if (app.look) app.look.setup(api.collections);
  });
  tabs();
  document.getElementById("sign-out").onclick = () => { api.setKey(""); window.location.reload(); };
  let s = null;
  let cols = null;
  if (api.key) { // the session check and the collections at once (one round trip, not two)
    cols = api.get("/collections");
    cols.catch(() => {});
    try { s = await api.get("/app/session"); } catch (e) { api.setKey(""); cols = null; }
  }
  if (!s) s = await signIn();
  app.session = s;
  showRole(s);
  await api.discover(cols);
  const map = L.map("map", { zoomControl: true, preferCanvas: true });
  app.map = map;
  const base = new Basemaps(map);
  const bmSel = document.getElementById("basemap");
  bmSel.addEventListener("change", () => base.use(bmSel.value));
  const ui = {
    toast, role: () => app.session.role, session: () => app.session, collections: () => api.collections,
    refresh: () => app.look.schedule(), refreshCameras: () => app.look.schedule(), reload,
    unitsId: () => app.look.unitsId, error: (e) => toast(String(e.message || e), true),
    showChanges: (c) => { app.changes.show(c); app.look.setup(api.collections); app.look.schedule(); },
    changes: () => app.changes,
  };
  app.whatif = new WhatIf(map, api, ui);
  ui.whatif = app.whatif;
  app.editor = new Editor(map, api, ui);
  app.look = new Look(map, api, {
    select: (cid, f) => app.editor.select(cid, f).catch((e) => toast(e.message, true)),
    style: (f) => app.whatif.style(f),
    error: ui.error,
  });
  app.changes = new ChangedCells(map, api);
  app.look.changes = app.changes;
  app.grid = new GridView(map, api, ui);
  app.jobs = new Jobs(api, ui);
  app.look.setup(api.collections);
  const b = extent(api.collections);
  if (b.isValid()) map.fitBounds(b); else map.setView([35, 105], 4);
  base.use("graticule");
  document.getElementById("search-go").onclick = () => search(document.getElementById("search").value).catch((e) => toast(e.message, true));
  document.getElementById("search").addEventListener("keydown", (e) => { if (e.key === "Enter") document.getElementById("search-go").click(); });
  apply(document);
  clearTimeout(app.look.timer); // draw the first view now, not after the move debounce
  app.look.pending = app.look.refresh();
  await app.look.pending;
  document.body.dataset.ready = "1";
  void api.apiPaths; // feature detection after the first paint: it does not delay it
}

app.ready = boot().catch((e) => { toast(String(e.message || e), true); throw e; });
