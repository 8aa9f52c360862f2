// The hotswap console: deployments (live, from the control plane's event
// stream), modules and nodes, with the actions the session's roles allow.
// Plain ES module, no dependencies; every value from the API is set as
// text, never as markup.

const API = "/api/v1/wasm";
let session = null;
let stop = () => {};

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
  }
}

async function call(path, { method = "GET", body } = {}) {
  const headers = {};
  if (method !== "GET") headers["x-csrf-token"] = session?.csrf ?? "";
  if (body !== undefined) headers["content-type"] = "application/json";
  const resp = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = resp.status === 204 ? null : await resp.json().catch(() => null);
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

// Items per list request: the API's most, unless `?page=N` asks for fewer.
const PAGE = Math.min(Number(new URLSearchParams(location.search).get("page")) || 1000, 1000);

// Every item of a paged list, following its cursors.
async function all(path) {
  const items = [];
  let cursor = null;
  do {
    const page = await call(`${path}?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

// h("td", {class: "x"}, "text", child): an element with attributes and
// children (strings become text nodes).
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    // Through the CSSOM: the page's policy forbids style attributes.
    else if (k === "style") el.style.cssText = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function table(headers, rows) {
  return h("div", { class: "scroll" },
    h("table", {},
      h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c)))))));
}

const badge = (kind, value) => h("span", { class: `badge ${kind}-${value}` }, value.replace("_", " "));
const short = (digest) => digest.slice(0, 12);
const time = (at) => new Date(at).toLocaleTimeString();
const ago = (at) => (at ? `${Math.max(0, Math.round((Date.now() - Date.parse(at)) / 1000))} s ago` : "never");

function show(...nodes) {
  const view = document.getElementById("view");
  view.replaceChildren(...nodes);
}

function failure(e) {
  if (e.status === 401) return signedOut();
  show(h("p", { class: "error", role: "alert" }, e.message));
}

// Roles: viewer < developer < admin. Production needs admin to promote
// or resume (the server checks every action again).
function may(role) {
  const order = ["viewer", "developer", "admin"];
  return session.roles.some((r) => order.indexOf(r) >= order.indexOf(role) && order.includes(r));
}

function actionsFor(d) {
  const drive = d.environment === "production" ? "admin" : "developer";
  const open = ["pending", "progressing", "paused"].includes(d.phase);
  const started = d.phase === "progressing" || d.phase === "paused";
  return [
    { op: "promote", label: "Promote", role: drive, when: started },
    { op: "pause", label: "Pause", role: "developer", when: d.phase === "progressing" },
    { op: "resume", label: "Resume", role: drive, when: d.phase === "paused" },
    { op: "rollback", label: "Roll back", role: "developer", when: open && d.from_version },
    { op: "abort", label: "Abort", role: "developer", when: open, danger: true },
  ].filter((a) => a.when && may(a.role));
}

// Deployments -------------------------------------------------------------

async function deployments() {
  const render = async () => {
    const rows = (await all(`${API}/deployments`)).reverse().map((d) => [
      h("a", { href: `#/deployments/${d.id}` }, d.module),
      `${d.from_version ?? "—"} → ${d.to_version}`,
      d.strategy.type.replace("_", " "),
      d.environment,
      badge("phase", d.phase),
      `${d.progress.traffic_percent} %`,
    ]);
    show(h("h1", {}, "Deployments"),
      rows.length ? table(["Module", "Versions", "Strategy", "Environment", "Phase", "Traffic"], rows)
        : h("p", { class: "muted" }, "No deployment yet."));
  };
  await render();
  const timer = setInterval(() => render().catch(failure), 3000);
  return () => clearInterval(timer);
}

function deployment(id) {
  show(h("p", { class: "muted" }, "Loading…"));
  const stream = new EventSource(`${API}/deployments/${id}/stream`);
  stream.addEventListener("view", (e) => renderDeployment(JSON.parse(e.data)));
  let retry = null;
  stream.addEventListener("error", (e) => {
    if (e.data) {
      stream.close();
      show(h("p", { class: "error", role: "alert" }, JSON.parse(e.data).detail));
    } else if (stream.readyState === EventSource.CLOSED) {
      // Refused rather than dropped (the browser retries drops itself):
      // an ended session signs out; anything else is tried again.
      call("/ui/session").then(() => { retry = setTimeout(route, 2000); }, failure);
    }
  });
  return () => { clearTimeout(retry); stream.close(); };
}

// The step a deployment is at, counted from 1 as the CLI shows it.
function stepOf(d) {
  const total = Math.max(d.progress.total_steps, 1);
  return d.phase === "succeeded" ? total : Math.min(d.progress.step + 1, total);
}

function renderDeployment(view) {
  const d = view.deployment;
  const p = d.progress;
  if (["succeeded", "rolled_back", "failed", "aborted"].includes(d.phase)) stop();
  const traffic = p.traffic_percent;
  const split = h("div", { class: "split", id: "traffic", "data-percent": traffic,
      role: "img", "aria-label": `${100 - traffic} % on ${d.from_version ?? "nothing"}, ${traffic} % on ${d.to_version}` },
    traffic < 100 ? h("div", { class: "old", style: `width:${100 - traffic}%` }, `${d.from_version ?? "—"} · ${100 - traffic} %`) : null,
    traffic > 0 ? h("div", { class: "new", style: `width:${traffic}%` }, `${d.to_version} · ${traffic} %`) : null);
  const buttons = actionsFor(d).map((a) => h("button", {
    type: "button", class: a.danger ? "danger" : "", "data-op": a.op,
    onclick: async (e) => {
      e.target.disabled = true;
      try {
        renderDeployment(await call(`${API}/deployments/${d.id}/${a.op}`, { method: "POST", body: a.op === "promote" ? {} : undefined }));
      } catch (err) {
        document.getElementById("action-error").textContent = err.message;
        e.target.disabled = false;
      }
    },
  }, a.label));
  const start = Date.parse(view.events[0]?.at ?? d.created_at ?? Date.now());
  const milestones = view.events
    .filter((e) => ["phase_changed", "step_started", "traffic_shifted"].includes(e.kind))
    .filter((e, i, all) => i === 0 || e.message !== all[i - 1].message);
  const focused = document.activeElement?.dataset?.op;
  show(
    h("h1", {}, `${d.module} ${d.from_version ?? "—"} → ${d.to_version} `, badge("phase", d.phase)),
    h("dl", { class: "facts" },
      h("dt", {}, "Strategy"), h("dd", {}, `${d.strategy.type.replace("_", " ")} in ${d.environment}`),
      h("dt", {}, "Step"), h("dd", { id: "step" }, `${stepOf(d)} of ${Math.max(p.total_steps, 1)}`),
      h("dt", {}, "Nodes updated"), h("dd", {}, `${p.nodes_updated} of ${p.nodes_targeted}`),
      d.reason?.message ? [h("dt", {}, "Why"), h("dd", { id: "reason" }, d.reason.message)] : null),
    h("div", { "aria-live": "polite", id: "live" }, `Traffic on ${d.to_version}: ${traffic} %. Rollout ${view.percent} % done.`),
    split,
    h("div", { class: "actions", id: "actions" }, buttons),
    h("p", { id: "action-error", class: "error", role: "alert" }),
    h("h2", {}, "Nodes"),
    table(["Node", "Region", "Status", `Has ${d.to_version}`, `Has ${d.from_version ?? "old"}`],
      view.nodes.map((n) => [n.name, n.region, badge("status", n.status), n.has_new ? "yes" : "no", n.has_old ? "yes" : "no"])),
    h("h2", {}, "Timeline"),
    h("ol", { class: "timeline" }, milestones.map((e) => h("li", {},
      h("span", { class: "at" }, `+${((Date.parse(e.at) - start) / 1000).toFixed(1)} s`), e.message))),
    h("h2", {}, "Events"),
    table(["#", "At", "Kind", "Phase", "Message"],
      view.events.map((e) => [String(e.seq), time(e.at), e.kind.replace("_", " "), e.phase, e.message])),
  );
  // Keep the keyboard where it was across live updates.
  if (focused) document.querySelector(`[data-op="${focused}"]`)?.focus();
}

// Modules and nodes ------------------------------------------------------

async function modules() {
  const rows = (await all(`${API}/modules`)).map((m) => [
    m.name, m.version, m.kind, h("code", { title: m.digest }, short(m.digest)),
    m.wit_world ?? (m.exports.map((e) => e.name).join(", ") || "—"),
    `${m.size_bytes} B`,
  ]);
  show(h("h1", {}, "Modules"),
    table(["Name", "Version", "Kind", "Digest", "Interface", "Size"], rows));
  return () => {};
}

async function nodes() {
  const render = async () => {
    const regions = new Map();
    for (const n of await all(`${API}/nodes`)) {
      if (!regions.has(n.region)) regions.set(n.region, []);
      regions.get(n.region).push(n);
    }
    const sections = [...regions.keys()].sort().map((region) => h("section", { class: "region" },
      h("h2", {}, `${region} (${regions.get(region).length})`),
      table(["Node", "Status", "Heartbeat", "Loaded", "In flight"], regions.get(region).map((n) => [
        n.name, badge("status", n.status), ago(n.last_heartbeat),
        n.loaded.map((l) => `${l.module}@${l.version}`).join(", ") || "—",
        String(n.metrics.in_flight),
      ]))));
    show(h("h1", {}, "Nodes"), ...(sections.length ? sections : [h("p", { class: "muted" }, "No node has registered.")]));
  };
  await render();
  const timer = setInterval(() => render().catch(failure), 3000);
  return () => clearInterval(timer);
}

// Session and routing ------------------------------------------------------

async function route() {
  stop();
  stop = () => {};
  const hash = location.hash || "#/deployments";
  for (const a of document.querySelectorAll("nav a")) {
    a.toggleAttribute("aria-current", hash.startsWith(a.getAttribute("href")));
    if (a.hasAttribute("aria-current")) a.setAttribute("aria-current", "page");
  }
  try {
    const [, section, id] = hash.split("/");
    if (section === "deployments" && id) stop = deployment(id);
    else if (section === "modules") stop = await modules();
    else if (section === "nodes") stop = await nodes();
    else stop = await deployments();
  } catch (e) {
    failure(e);
  }
}

function signedIn(s) {
  session = s;
  document.getElementById("signin").hidden = true;
  document.getElementById("nav").hidden = false;
  const out = h("button", { type: "button", class: "secondary", id: "signout", onclick: async () => {
    await call("/ui/session", { method: "DELETE" }).catch(() => {});
    signedOut();
  } }, "Sign out");
  document.getElementById("who").replaceChildren(
    h("span", { id: "subject" }, `${s.subject} (${s.roles.join(", ") || "no role"})`), out);
  route();
}

function signedOut() {
  stop();
  session = null;
  document.getElementById("view").replaceChildren();
  document.getElementById("nav").hidden = true;
  document.getElementById("who").replaceChildren();
  document.getElementById("signin").hidden = false;
  document.getElementById("token").focus();
}

document.getElementById("signin-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = document.getElementById("token");
  try {
    const s = await call("/ui/session", { method: "POST", body: { token: input.value.trim() } });
    input.value = "";
    document.getElementById("signin-error").textContent = "";
    signedIn(s);
  } catch (err) {
    document.getElementById("signin-error").textContent = err.message;
  }
});

window.addEventListener("hashchange", () => session && route());
call("/ui/session").then(signedIn, signedOut);
