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
    if (res && kind !== "grid-check") body.res = Number(res);
    if (k && kind === "siting") body.k = Number(k);
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
      await this.ui.reload();
    } else {
      this.ui.toast(`${doc.processID}: ${doc.error || doc.message}`, true);
    }
  }
}
