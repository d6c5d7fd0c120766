// Every request of the app: the API key header, JSON errors as sentences, ETag / If-Match.
export class ApiError extends Error {
  constructor(status, description, body) {
    super(description);
    this.status = status;
    this.body = body;
  }
}

export class Api {
  constructor() {
    this.key = sessionStorage.getItem("gridcover.key") || "";
    this.etags = new Map(); // feature URL -> ETag the server gave (sent back as If-Match)
    this.features = { paths: new Set(), collections: new Set(), etag: false };
  }

  setKey(key) {
    this.key = key || "";
    if (this.key) sessionStorage.setItem("gridcover.key", this.key);
    else sessionStorage.removeItem("gridcover.key");
  }

  headers(extra) {
    const h = { Accept: "application/json", ...(extra || {}) };
    if (this.key) h["X-API-Key"] = this.key;
    return h;
  }

  async request(method, path, body, extra) {
    const init = { method, headers: this.headers(extra) };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    const resp = await fetch(path, init);
    const etag = resp.headers.get("ETag");
    if (etag) {
      this.etags.set(path.split("?")[0], etag);
      this.features.etag = true;
    }
    const text = resp.status === 204 ? "" : await resp.text();
    let doc = null;
    try { doc = text ? JSON.parse(text) : null; } catch (e) { doc = { description: text }; }
    if (!resp.ok) {
      const why = (doc && (doc.description || doc.detail)) || resp.statusText;
      throw new ApiError(resp.status, String(why), doc);
    }
    return doc;
  }

  get(path) { return this.request("GET", path); }

  // A write on one feature: If-Match when the server gave an ETag for it.
  write(method, path, body) {
    const tag = this.etags.get(path);
    return this.request(method, path, body, tag ? { "If-Match": tag } : {});
  }

  // The collections (`pending`: a /collections request already under way, e.g. started
  // beside the session check). The OpenAPI paths (feature detection: /scenarios, ...) are
  // asked for on first use of `apiPaths`, which the page starts after its first paint.
  async discover(pending) {
    const cols = await (pending || this.get("/collections"));
    this.collections = cols.collections;
    this.features.collections = new Set(cols.collections.map((c) => c.id));
    return this.collections;
  }

  get apiPaths() {
    if (!this.pathsPromise) {
      this.pathsPromise = this.get("/api").then((doc) => {
        this.features.paths = new Set(Object.keys((doc && doc.paths) || {}));
      }).catch(() => {});
    }
    return this.pathsPromise;
  }

  has(path) { return this.features.paths.has(path); }
}
