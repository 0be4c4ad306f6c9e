// The dashboard's page: a hash route per view, one server-sent event
// stream per view (the server sends the whole view again when it
// changes), and the actions as POSTs that show the API's answer.
// Plain DOM, no framework and no build step: the binary embeds this file
// as it is.

const main = document.getElementById("main");
const live = document.querySelector("[data-test=live]");
const result = document.querySelector("[data-test=action-result]");
const dialog = document.querySelector("[data-test=confirm]");
const namespaceInput = document.getElementById("namespace");

// When the page was loaded; it stays while the page moves from view to
// view and from update to update, which shows nothing reloaded it.
window.__loadedAt = performance.now();

let defaultNamespace = "default";
let stream = null;
// Whether the next sync of an Application prunes, by Application.
const pruneChoice = new Map();

// h makes an element: h("a", {href: "#"}, "text", child...). Text is set as
// text, never parsed as HTML, so names and messages from the cluster cannot
// inject markup.
function h(tag, attrs, ...children) {
  const svg = ["svg", "circle", "line", "polyline", "text", "title", "g", "rect"].includes(tag);
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// route reads the hash: #/ns/NS/rollouts[/NAME] or #/ns/NS/applications[/NAME].
function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] !== "ns" || !parts[1] || !["rollouts", "applications"].includes(parts[2])) return null;
  return { namespace: parts[1], kind: parts[2], name: parts[3] || "" };
}

function href(namespace, kind, name) {
  return "#/ns/" + encodeURIComponent(namespace) + "/" + kind + (name ? "/" + encodeURIComponent(name) : "");
}

function api(r, action) {
  let path = "/api/namespaces/" + encodeURIComponent(r.namespace) + "/" + r.kind;
  if (r.name) path += "/" + encodeURIComponent(r.name);
  if (action) path += "/" + action;
  return path;
}

// show opens the stream of the route's view and draws each message.
function show() {
  const r = route();
  if (!r) {
    location.replace(href(defaultNamespace, "rollouts"));
    return;
  }
  namespaceInput.value = r.namespace;
  document.getElementById("nav-rollouts").href = href(r.namespace, "rollouts");
  document.getElementById("nav-applications").href = href(r.namespace, "applications");
  for (const kind of ["rollouts", "applications"]) {
    const link = document.getElementById("nav-" + kind);
    if (kind === r.kind) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = (r.name || r.kind) + " · " + r.namespace + " · Sluice";
  if (stream) stream.close();
  main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  setLive("connecting");
  stream = new EventSource(api(r) + "?watch=1");
  stream.onopen = () => setLive("open");
  stream.onerror = () => setLive(stream.readyState === EventSource.CLOSED ? "closed" : "connecting");
  stream.onmessage = (event) => draw(r, JSON.parse(event.data));
}

function setLive(state) {
  live.dataset.state = state;
  live.textContent = { open: "live", connecting: "connecting…", closed: "disconnected" }[state];
}

// draw replaces the view, keeping the keyboard focus on the control that
// had it.
function draw(r, data) {
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.focusKey : undefined;
  let view;
  try {
    view = viewOf(r, data);
  } catch (e) {
    // A page that cannot be drawn says so, rather than keep showing an
    // old state as if it were live.
    view = h("div", { class: "error", role: "alert" }, h("h1", {}, r.name || r.kind), h("p", {}, "This page could not be drawn: " + e.message));
  }
  main.replaceChildren(view);
  if (focused) {
    const again = main.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
}

function viewOf(r, data) {
  let view;
  if (data && data.error) {
    view = h("div", { class: "error", role: "alert" }, h("h1", {}, r.name || r.kind), h("p", {}, data.error));
  } else if (r.kind === "rollouts" && !r.name) view = rolloutList(r, data);
  else if (r.kind === "rollouts") view = rolloutPage(r, data);
  else if (!r.name) view = applicationList(r, data);
  else view = applicationPage(r, data);
  return view;
}

function badge(text, test) {
  return h("span", { class: "badge " + String(text).toLowerCase(), "data-test": test }, text);
}

function time(value) {
  if (!value) return "–";
  const d = new Date(value);
  return h("time", { datetime: d.toISOString(), title: d.toISOString() }, ago(d));
}

function ago(d) {
  const s = Math.max(0, Math.round((Date.now() - d.getTime()) / 1000));
  if (s < 60) return s + "s ago";
  if (s < 3600) return Math.round(s / 60) + "m ago";
  if (s < 86400) return Math.round(s / 3600) + "h ago";
  return Math.round(s / 86400) + "d ago";
}

function warnings(list) {
  if (!list || !list.length) return null;
  return h("ul", { class: "warnings", "aria-label": "Warnings" }, list.map((w) => h("li", {}, w)));
}

function table(caption, headers, rows, empty) {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h("div", { class: "scroll" },
    h("table", {},
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows)));
}

// ---- Rollouts

function rolloutList(r, list) {
  const rows = list.map((ro) => h("tr", { "data-test": "rollout-row", "data-name": ro.name },
    h("th", { scope: "row" }, h("a", { href: href(r.namespace, "rollouts", ro.name) }, ro.name)),
    h("td", {}, badge(ro.phase, "phase")),
    h("td", {}, ro.strategy),
    h("td", {}, ro.step),
    h("td", {}, ro.weight === undefined ? "–" : ro.weight + "%"),
    h("td", {}, `${ro.ready}/${ro.desired}`),
    h("td", { class: "image" }, ro.images.join(", ")),
    h("td", { class: "message" }, ro.message || "")));
  return h("section", {},
    h("h1", {}, "Rollouts"),
    table("Rollouts of " + r.namespace, ["Name", "Phase", "Strategy", "Step", "Canary weight", "Ready", "Images", "Message"],
      rows, "No Rollouts in namespace " + r.namespace + "."));
}

const destructive = {
  abort: "Abort sends all traffic back to the stable version and scales the new one down.",
  "promote-full": "Promote fully skips every remaining step and analysis.",
  restart: "Restart replaces every pod of the rollout.",
  undo: "Undo rolls the rollout back to the revision before the current one.",
};

function rolloutActions(r) {
  const button = (action, label, cls) => h("button", {
    "data-action": action, "data-focus-key": "action-" + action, class: cls,
    onclick: () => act(api(r, action), null, destructive[action], label),
  }, label);
  return h("div", { class: "actions", role: "group", "aria-label": "Rollout actions" },
    button("promote", "Promote", "primary"),
    button("promote-full", "Promote full"),
    button("pause", "Pause"),
    button("resume", "Resume"),
    button("retry", "Retry"),
    button("restart", "Restart"),
    button("undo", "Undo"),
    button("abort", "Abort", "danger"));
}

function rolloutPage(r, ro) {
  const header = h("div", { class: "title" },
    h("h1", {}, ro.name),
    h("span", { class: "badge " + ro.phase.toLowerCase(), "data-test": "rollout-phase" }, ro.phase),
    ro.message ? h("span", { class: "message" }, ro.message) : null);
  const facts = h("dl", { class: "facts" },
    h("dt", {}, "Strategy"), h("dd", {}, ro.strategy),
    // A blue-green Rollout has no steps and no canary weight to show.
    ro.strategy === "BlueGreen" ? null : [
      h("dt", {}, "Step"), h("dd", { "data-test": "current-step" }, ro.step),
      h("dt", {}, "Canary weight"), h("dd", {}, ro.weight === undefined ? "–" : ro.weight + "%")],
    h("dt", {}, "Replicas"), h("dd", {}, `${ro.ready} ready of ${ro.desired}, ${ro.updated} updated`),
    h("dt", {}, "Images"), h("dd", { class: "image" }, ro.images.join(", ")),
    ro.blueGreen ? [h("dt", {}, "Active"), h("dd", {}, `${ro.blueGreen.activeService} → revision ${ro.blueGreen.activeRevision || "–"}`)] : null,
    ro.blueGreen && ro.blueGreen.previewService ? [h("dt", {}, "Preview"), h("dd", {}, `${ro.blueGreen.previewService} → revision ${ro.blueGreen.previewRevision || "–"}`)] : null);
  return h("section", {},
    h("p", { class: "crumbs" }, h("a", { href: href(r.namespace, "rollouts") }, "Rollouts"), " / ", ro.name),
    header, rolloutActions(r), warnings(ro.warnings), facts,
    steps(ro), routes(ro.routes), revisions(ro.revisions), analysis(ro.analysisRuns));
}

function steps(ro) {
  if (!ro.steps || !ro.steps.length) return null;
  return h("section", { "aria-labelledby": "steps-h" },
    h("h2", { id: "steps-h" }, "Steps"),
    h("ol", { class: "steps" }, ro.steps.map((step, i) => {
      const state = i < ro.currentStep ? "done" : i === ro.currentStep ? "current" : "todo";
      return h("li", {
        "data-test": "step", "data-current": i === ro.currentStep ? "true" : "false", class: state,
        "aria-current": i === ro.currentStep ? "step" : null,
      }, step.text, state === "current" ? h("span", { class: "visually-hidden" }, " (current)") : null);
    })));
}

function routes(list) {
  if (!list || !list.length) return null;
  return h("section", { "aria-labelledby": "routes-h" },
    h("h2", { id: "routes-h" }, "Traffic"),
    list.map((route) => h("div", { class: "route" },
      h("h3", {}, `${route.kind} ${route.name}`),
      route.error ? h("p", { class: "error" }, route.error) : null,
      (route.rules || []).map((rule) => {
        const backends = rule.backends || [];
        const total = backends.reduce((sum, b) => sum + b.weight, 0) || 1;
        return h("div", { class: "split" }, backends.map((b) => h("div", {
          class: "share", "data-test": "route-weight", "data-route": route.name,
          "data-service": b.service, "data-weight": b.weight,
        }, h("span", { class: "bar", "aria-hidden": "true" }, fill((100 * b.weight) / total)),
        `${b.service} ${b.weight}%`)));
      }))));
}

// fill is a bar's filled part; its width is set through the DOM, which
// the page's content security policy allows where a style attribute is not.
function fill(percent) {
  const el = h("span", { class: "fill" });
  el.style.width = percent + "%";
  return el;
}

function revisions(list) {
  return h("section", { "aria-labelledby": "revisions-h" },
    h("h2", { id: "revisions-h" }, "Revisions"),
    list.length ? list.map((rev) => h("div", { class: "revision", "data-test": "replicaset", "data-revision": rev.revision },
      h("h3", {}, `Revision ${rev.revision} `, rev.roles ? rev.roles.map((role) => badge(role)) : null),
      h("p", { class: "muted" }, `${rev.name} · ${rev.ready}/${rev.desired} ready · ${rev.images.join(", ")}`),
      h("ul", { class: "pods" }, (rev.pods || []).map((pod) => h("li", {
        "data-test": "pod", class: "pod " + (pod.ready ? "ready" : "not-ready"),
        title: `${pod.name}: ${pod.phase}${pod.ready ? ", ready" : ""}, ${pod.restarts} restarts`,
      }, h("span", { class: "dot", "aria-hidden": "true" }), pod.name, h("span", { class: "muted" }, " " + pod.phase)))))) :
      h("p", { class: "muted" }, "No ReplicaSets yet."));
}

function analysis(runs) {
  if (!runs || !runs.length) return null;
  return h("section", { "aria-labelledby": "analysis-h" },
    h("h2", { id: "analysis-h" }, "Analysis"),
    runs.map((run) => h("div", { class: "run", "data-test": "analysis-run", "data-name": run.name },
      h("h3", {}, run.name + " ", badge(run.phase)),
      run.message ? h("p", { class: "message" }, run.message) : null,
      run.metrics.map((m) => h("figure", { class: "metric" },
        chart(m),
        h("figcaption", {}, h("strong", {}, m.name), " ", badge(m.phase),
          ` ${m.successful} successful, ${m.failed} failed, ${m.errors} errors`,
          m.successCondition ? h("span", { class: "condition" }, " success when ", h("code", {}, m.successCondition)) : null,
          m.failureCondition ? h("span", { class: "condition" }, " failure when ", h("code", {}, m.failureCondition)) : null))))));
}

// chart plots a metric's measurements over time, each point coloured by
// its verdict, with the success condition's threshold as a dashed line
// when the condition is a plain comparison.
function chart(m) {
  const W = 560, H = 180, L = 48, R = 12, T = 12, B = 28;
  const points = m.measurements.filter((x) => x.at);
  const values = points.filter((x) => x.value !== undefined).map((x) => x.value);
  if (m.threshold !== undefined) values.push(m.threshold);
  let lo = Math.min(0, ...values), hi = Math.max(1e-9, ...values);
  if (hi === lo) hi = lo + 1;
  hi += (hi - lo) * 0.1;
  const times = points.map((x) => Date.parse(x.at));
  const t0 = Math.min(...times), t1 = Math.max(...times);
  const x = (t) => L + (t1 === t0 ? (W - L - R) / 2 : ((t - t0) / (t1 - t0)) * (W - L - R));
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  const label = `${m.name}: ${points.length} measurements` + (m.successCondition ? `, success when ${m.successCondition}` : "");
  return h("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label, "data-test": "metric-chart", "data-metric": m.name, class: "chart" },
    h("line", { x1: L, x2: W - R, y1: y(lo), y2: y(lo), class: "axis" }),
    h("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }),
    h("text", { x: L - 6, y: y(hi) + 4, class: "tick", "text-anchor": "end" }, fmt(hi)),
    h("text", { x: L - 6, y: y(lo) + 4, class: "tick", "text-anchor": "end" }, fmt(lo)),
    points.length ? h("text", { x: L, y: H - 8, class: "tick" }, new Date(t0).toLocaleTimeString()) : null,
    points.length > 1 ? h("text", { x: W - R, y: H - 8, class: "tick", "text-anchor": "end" }, new Date(t1).toLocaleTimeString()) : null,
    m.threshold !== undefined ? h("g", {},
      h("line", { x1: L, x2: W - R, y1: y(m.threshold), y2: y(m.threshold), class: "threshold" }),
      h("text", { x: W - R, y: y(m.threshold) - 4, class: "tick", "text-anchor": "end" }, m.successCondition)) : null,
    h("polyline", { class: "trend", points: points.filter((p) => p.value !== undefined).map((p) => `${x(Date.parse(p.at))},${y(p.value)}`).join(" ") }),
    points.map((p) => h("circle", {
      "data-test": "measurement", "data-phase": p.phase, class: "point " + p.phase.toLowerCase(),
      cx: x(Date.parse(p.at)), cy: p.value === undefined ? y(lo) : y(p.value), r: 5,
    }, h("title", {}, `${new Date(p.at).toLocaleTimeString()}: ${p.raw || "no value"} (${p.phase})${p.message ? " " + p.message : ""}`))));
}

function fmt(v) {
  return Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : String(Math.round(v * 100) / 100);
}

// ---- Applications

function applicationList(r, list) {
  const rows = list.map((a) => h("tr", { "data-test": "app-row", "data-name": a.name },
    h("th", { scope: "row" }, h("a", { href: href(r.namespace, "applications", a.name) }, a.name)),
    h("td", {}, badge(a.sync, "app-sync")),
    h("td", {}, badge(a.health, "app-health")),
    h("td", {}, h("code", { title: a.revision || "" }, (a.revision || "–").slice(0, 10)), a.commitSubject ? h("span", { class: "message" }, " " + a.commitSubject) : null),
    h("td", {}, time(a.lastSynced)),
    h("td", { class: "message" }, `${a.repoURL} ${a.path || ""}`)));
  return h("section", {},
    h("h1", {}, "Applications"),
    table("Applications of " + r.namespace, ["Name", "Sync", "Health", "Revision", "Last sync", "Source"], rows,
      "No Applications in namespace " + r.namespace + "."));
}

function applicationActions(r, a) {
  const key = r.namespace + "/" + r.name;
  const prune = pruneChoice.get(key) || false;
  return h("div", { class: "actions", role: "group", "aria-label": "Application actions" },
    h("button", {
      "data-action": "sync", "data-focus-key": "action-sync", class: "primary",
      onclick: () => act(api(r, "sync"), { prune: pruneChoice.get(key) || false },
        pruneChoice.get(key) ? "Sync with prune deletes every object of this Application that is no longer in Git." : null, "Sync"),
    }, "Sync"),
    h("label", { class: "check" }, h("input", {
      type: "checkbox", "data-test": "prune", "data-focus-key": "prune", checked: prune,
      onchange: (e) => pruneChoice.set(key, e.target.checked),
    }), " prune"),
    h("button", { "data-action": "refresh", "data-focus-key": "action-refresh", onclick: () => act(api(r, "refresh"), {}, null, "Refresh") }, "Refresh"),
    h("button", {
      "data-action": "rollback", "data-focus-key": "action-rollback", class: "danger",
      onclick: () => act(api(r, "rollback"), { revision: "" },
        "Rollback syncs the last successful commit before the current one and turns automated sync off.", "Rollback"),
    }, "Rollback"));
}

function applicationPage(r, a) {
  const facts = h("dl", { class: "facts" },
    h("dt", {}, "Revision"), h("dd", {}, h("code", { "data-test": "app-revision" }, a.revision || "–")),
    h("dt", {}, "Commit"), h("dd", { "data-test": "app-message" }, a.commitSubject || "–", a.commitAuthor ? h("span", { class: "muted" }, " by " + a.commitAuthor) : null,
      a.commitDate ? h("span", { class: "muted" }, ", ", time(a.commitDate)) : null),
    h("dt", {}, "Source"), h("dd", {}, `${a.repoURL} ${a.path || ""} @ ${a.targetRevision || "HEAD"}`),
    h("dt", {}, "Destination"), h("dd", {}, a.destination),
    h("dt", {}, "Automated sync"), h("dd", {}, a.automated ? "on" : "off"),
    h("dt", {}, "Last sync"), h("dd", {}, time(a.lastSynced), a.operation ? " · " + a.operation : ""));
  return h("section", {},
    h("p", { class: "crumbs" }, h("a", { href: href(r.namespace, "applications") }, "Applications"), " / ", a.name),
    h("div", { class: "title" }, h("h1", {}, a.name), badge(a.sync, "app-sync"), badge(a.health, "app-health"),
      a.healthMessage ? h("span", { class: "message" }, a.healthMessage) : null),
    applicationActions(r, a), warnings(a.warnings), facts,
    conditions(a.conditions), tree(r, a.tree), history(a.history));
}

function conditions(list) {
  if (!list || !list.length) return null;
  return h("section", { "aria-labelledby": "conditions-h" }, h("h2", { id: "conditions-h" }, "Conditions"),
    h("ul", { class: "conditions" }, list.map((c) => h("li", {}, h("strong", {}, c.type), ` ${c.status}`,
      c.reason ? ` (${c.reason})` : "", c.message ? h("span", { class: "message" }, " " + c.message) : null))));
}

// tree nests each object under its parent, as a list of lists: the
// Application, what Git holds, and each workload's ReplicaSets and pods.
function tree(r, nodes) {
  const children = new Map();
  for (const n of nodes) {
    if (!children.has(n.parent || "")) children.set(n.parent || "", []);
    children.get(n.parent || "").push(n);
  }
  const item = (n) => h("li", {},
    h("div", { class: "node", "data-test": "tree-node", "data-kind": n.kind, "data-name": n.name, "data-sync": n.sync || null },
      h("span", { class: "kind" }, n.kind), " ",
      n.kind === "Rollout" && n.namespace ? h("a", { href: href(n.namespace, "rollouts", n.name) }, n.name) : h("span", {}, n.name),
      n.sync ? badge(n.sync) : null, n.health ? badge(n.health) : null,
      n.info ? h("span", { class: "muted" }, " " + n.info) : null,
      n.healthMessage ? h("span", { class: "message" }, " " + n.healthMessage) : null),
    children.has(n.id) ? h("ul", {}, children.get(n.id).map(item)) : null);
  return h("section", { "aria-labelledby": "tree-h" }, h("h2", { id: "tree-h" }, "Objects"),
    h("ul", { class: "tree" }, (children.get("") || []).map(item)));
}

function history(list) {
  const rows = list.map((e) => h("tr", { "data-test": "history-row" },
    h("td", {}, e.id), h("td", {}, time(e.deployedAt)), h("td", {}, h("code", {}, e.revision.slice(0, 10))),
    h("td", {}, badge(e.result)), h("td", { class: "message" }, e.message || "")));
  return h("section", { "aria-labelledby": "history-h" }, h("h2", { id: "history-h" }, "History"),
    table("Sync history", ["ID", "Deployed", "Revision", "Result", "Message"], rows, "No syncs yet."));
}

// ---- Actions

// confirm asks before a destructive action; it resolves true for yes.
function confirm(text, label) {
  if (!text) return Promise.resolve(true);
  document.getElementById("confirm-title").textContent = label + "?";
  document.getElementById("confirm-text").textContent = text;
  dialog.querySelector("[data-test=confirm-yes]").textContent = label;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true }));
}

// act sends an action and shows the API's answer, refusals included.
async function act(url, body, confirmText, label) {
  if (!(await confirm(confirmText, label))) return;
  let ok = false, text;
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "X-Sluice-Dashboard": "1", "Content-Type": "application/json" },
      body: body ? JSON.stringify(body) : "",
    });
    const answer = await res.json().catch(() => ({ error: res.status + " " + res.statusText }));
    ok = res.ok;
    text = ok ? answer.message : answer.error;
  } catch (e) {
    text = "The dashboard did not answer: " + e.message;
  }
  result.hidden = false;
  result.dataset.ok = String(ok);
  result.className = "result " + (ok ? "ok" : "failed");
  result.replaceChildren(h("strong", {}, label + (ok ? ": " : " refused: ")), text,
    h("button", { class: "close", "aria-label": "Dismiss", onclick: () => { result.hidden = true; } }, "×"));
}

namespaceInput.form.addEventListener("submit", (e) => {
  e.preventDefault();
  const r = route() || { kind: "rollouts" };
  const ns = namespaceInput.value.trim();
  if (ns) location.hash = href(ns, r.kind);
});

addEventListener("hashchange", show);

fetch("/api/config").then((res) => res.json()).then((config) => {
  defaultNamespace = config.namespace || "default";
}).catch(() => {}).finally(show);
