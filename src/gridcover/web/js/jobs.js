// Planners start coverage / patrol / siting / grid-check runs and follow them (GET /jobs/{id}).
import { t } from "./i18n.js";

export class Jobs {
  constructor(api, ui) {
    this.api = api;
    this.ui = ui; // { toast, reload() }
    document.getElementById("job-form").addEventListener("submit", (e) => { e.preventDefault(); this.start(e.target); });
  }

  async start(form) {
    const kind = form.elements.kind.value;
    const body = {};
    const res = form.elements.res.value;
    const k = form.elements.k.value;
    const budget = form.elements.budget.value;
    if (res && kind !== "grid-check") body.res = Number(res);
    if (k && kind === "siting") body.k = Number(k);
    // a budget alone buys as many cameras as it allows; with K both limits hold
    if (budget && kind === "siting") body.budget = Number(budget);
    try {
      const job = await this.api.request("POST", `/analysis/${kind}`, body);
      this.follow(job);
    } catch (err) {
      this.ui.toast(`${t("refused")}: ${err.message}`, true);
    }
  }

  async follow(job) {
    const list = document.getElementById("job-list");
    const row = document.createElement("div");
    row.dataset.job = job.jobID;
    list.prepend(row);
    let doc = job;
    for (;;) {
      row.innerHTML = `<p>${doc.processID} · ${doc.status} · ${doc.progress}% · ${doc.message || ""}</p>`
        + `<div class="progress"><div style="width:${doc.progress}%"></div></div>`;
      if (doc.status === "successful" || doc.status === "failed") break;
      await new Promise((r) => setTimeout(r, 700));
      doc = await this.api.get(`/jobs/${encodeURIComponent(job.jobID)}`);
    }
    if (doc.status === "successful") {
      this.ui.toast(`${doc.processID}: ${t("job_done")}`);
      if (doc.processID === "siting") await this.showSiting(doc);
      await this.ui.reload();
    } else {
      this.ui.toast(`${doc.processID}: ${doc.error || doc.message}`, true);
    }
  }

  // The chosen cameras of a siting job: rank, model, price, and the total cost (summed from
  // the proposals; the budget beside it when the job had one).
  async showSiting(doc) {
    const box = document.getElementById("job-result");
    const cid = (doc.collections || []).find((c) => c === "siting_proposals");
    if (!cid) { box.innerHTML = ""; return; }
    const got = await this.api.get(`/collections/${cid}/items?limit=1000`);
    const rows = (got.features || []).map((f) => f.properties)
      .sort((a, b) => (a.rank ?? 0) - (b.rank ?? 0));
    const esc = (v) => String(v ?? "").replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
    const money = (v) => Number(v).toLocaleString("en-US", { maximumFractionDigits: 2 });
    const priced = rows.every((r) => r.price !== undefined && r.price !== null);
    const total = rows.reduce((s, r) => s + (Number(r.price) || 0), 0);
    const budget = doc.parameters ? doc.parameters.budget : null;
    const body = rows.map((r) => `<tr data-camera="${esc(r.camera_id)}"><td>${esc(r.rank)}</td>`
      + `<td data-col="model">${esc(r.model ?? r.type)}</td>`
      + `<td data-col="price" data-value="${priced ? Number(r.price) : ""}">${priced ? money(r.price) : "—"}</td></tr>`).join("");
    const foot = priced
      ? `<tr data-testid="siting-total"><th colspan="2">${t("job_total")}`
        + (budget ? ` (${t("job_budget_of")} ${money(budget)})` : "")
        + `</th><td data-total="${total}">${money(total)}</td></tr>`
      : "";
    box.innerHTML = `<table class="siting-result" data-job="${esc(doc.jobID)}"><thead><tr>`
      + `<th>${t("job_rank")}</th><th>${t("job_model")}</th><th>${t("job_price")}</th></tr></thead>`
      + `<tbody>${body}</tbody><tfoot>${foot}</tfoot></table>`;
  }
}
