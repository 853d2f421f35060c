// infercast web page: reads the inputs, keeps them in the URL, fetches /api/results (debounced) and hands the
// answer to render.js. The shape is the planner's choice unless "fixed shape" is picked (then tp, pp, ep, ...).
"use strict";

const NUM_FIELDS = ["input_len", "output_len", "tp", "pp", "ep", "gpus", "concurrency", "min_tps_user", "max_ttft",
  "max_tpot", "spec_tokens", "spec_acceptance"];
const SHAPE_FIELDS = ["tp", "pp", "ep", "gpus", "concurrency"];  // a fixed shape's inputs (the planner's otherwise)
const SPEC_FIELDS = ["spec_tokens", "spec_acceptance"];
const SELECT_FIELDS = ["model", "weights", "kv", "engine", "max_gpus", "percentile", "spec_method", "spec_draft"];
// query parameters renamed since links were first shared: old name -> current name
const RENAMED = { min_tps: "min_tps_user" };
// form fields whose errors are shown beside another input
const SHOWN_BESIDE = { file: "model" };
const REQUIRED = { input_len: "enter the prompt length in tokens", output_len: "enter the output length in tokens" };

const state = { chips: [], chipById: {}, uploadedChips: [], models: [], meta: null, defaults: {}, timer: null, ctrl: null,
  renders: 0, failures: 0, last: null };
const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------ inputs <-> URL
function selectedChips() {
  return [...document.querySelectorAll("#chip-list input:checked")].map((x) => x.value);
}
function fixedShape() { return $("shape-fixed").checked; }
function readInputs() {
  const q = {};
  for (const f of SELECT_FIELDS) q[f] = $(f).value;
  for (const f of NUM_FIELDS) q[f] = $(f).value.trim();
  if (!fixedShape()) for (const f of SHAPE_FIELDS) q[f] = "";
  if (!q.spec_method) for (const f of SPEC_FIELDS) q[f] = "";
  if (q.spec_method !== "draft") q.spec_draft = "";
  q.disaggregated = $("disaggregated").checked;
  q.chip = selectedChips();
  return q;
}
function toQuery(q) {
  const p = new URLSearchParams();
  p.set("model", q.model);
  for (const c of q.chip) p.append("chip", c);
  for (const f of ["weights", "kv", "engine", "spec_method", "spec_draft"]) if (q[f]) p.set(f, q[f]);
  for (const f of NUM_FIELDS) if (q[f] !== "") p.set(f, q[f]);
  if (q.percentile && Number(q.percentile) !== 50) p.set("percentile", q.percentile);
  if (q.disaggregated) p.set("disaggregated", "true");
  p.set("max_gpus", q.max_gpus);
  return p;
}
function setSelect(id, v) {
  if (v && ![...$(id).options].some((o) => o.value === v)) $(id).add(new Option(v, v));
  $(id).value = v;
}
function applyQuery(params) {
  const d = state.defaults;
  for (const [old, now] of Object.entries(RENAMED)) {
    if (params.has(old) && !params.has(now)) params.set(now, params.get(old));
    params.delete(old);
  }
  const get = (k, dflt) => (params.has(k) ? params.get(k) : dflt);
  const model = get("model", d.model);
  if (![...$("model").options].some((o) => o.value === model)) addModelOption(model, `${model} (not loaded)`);
  $("model").value = model;
  for (const f of ["weights", "kv", "engine", "spec_method"]) setSelect(f, get(f, "") || "");
  if (params.get("spec_draft")) setSelect("spec_draft", params.get("spec_draft"));  // else the default draft model
  for (const f of NUM_FIELDS) {
    const dv = d[f] === null || d[f] === undefined ? "" : String(d[f]);
    $(f).value = get(f, dv);
  }
  setSelect("percentile", String(Number(get("percentile", d.percentile))));
  setSelect("max_gpus", get("max_gpus", String(d.max_gpus)));
  $("disaggregated").checked = ["true", "1", "on", "yes"].includes(String(get("disaggregated", "")).toLowerCase());
  setMode(params.has("tp"));
  let chips = params.getAll("chip").flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean);
  if (!chips.length && !params.has("chip")) chips = d.chip;
  const byAlias = {};
  for (const c of state.chips) { byAlias[c.id] = c.id; for (const a of c.aliases || []) byAlias[a.toLowerCase()] = c.id; }
  for (const u of state.uploadedChips) byAlias[u.token] = u.token;
  const unknown = [];
  for (const box of document.querySelectorAll("#chip-list input")) box.checked = false;
  for (const name of chips) {
    const id = byAlias[name.toLowerCase()];
    const box = id && document.querySelector(`#chip-list input[value="${CSS.escape(id)}"]`);
    if (box) box.checked = true; else unknown.push(name);
  }
  $("logscale").checked = params.get("log") === "1";
  updateChipCount();
  updateSpec();
  return unknown;
}
function syncURL(q) {
  const p = toQuery(q);
  if ($("logscale").checked) p.set("log", "1");
  history.replaceState(null, "", "?" + p.toString());
  const api = toQuery(q).toString();
  $("dl-json").href = "/api/results?" + api;
  $("dl-csv").href = "/api/results.csv?" + api;
  $("dl-csv-frontier").href = "/api/results.csv?table=frontier&" + api;
}

// ------------------------------------------------------------------ the shape: the planner's or fixed
function setMode(fixed) {
  $(fixed ? "shape-fixed" : "shape-planner").checked = true;
  document.body.classList.toggle("planner-shape", !fixed);
  for (const f of SHAPE_FIELDS) $(f).disabled = !fixed;
}
// Switching to a fixed shape starts from the planner's choice for the first chip that has one.
function startFixed() {
  const p = state.last && (state.last.estimate.find((it) => it.point) || {}).point;
  if (!$("tp").value) $("tp").value = p ? p.tp : 1;
  if (!$("pp").value) $("pp").value = p ? p.pp : 1;
  if (!$("ep").value) $("ep").value = p ? p.ep : 1;
  if (p && !$("weights").value) setSelect("weights", p.precision);
  setMode(true);
}
// A new model: the previous shape rarely suits it; back to the planner's choice.
function resetShape() {
  for (const f of SHAPE_FIELDS) $(f).value = "";
  setMode(false);
}
// In planner mode the (disabled) shape inputs show what the planner chose for the first chip.
function showChosenShape(d) {
  const pts = d.estimate.filter((it) => it.point);
  if (!pts.length) { $("shape-chosen").textContent = ""; return; }
  const fixed = fixedShape();
  if (!fixed) {
    const p = pts[0].point;
    $("tp").value = p.tp; $("pp").value = p.pp; $("ep").value = p.ep; $("gpus").value = ""; $("concurrency").value = "";
  }
  $("shape-chosen").textContent = (fixed ? "Per chip: " : "The planner chose: ") + pts.map((it) => {
    const p = it.point;
    return `${it.chip} ${shapeText(p)}${p.ep > 1 ? ` × EP ${p.ep}` : ""} (${p.gpus} GPUs, ${p.precision}, ` +
      `${num(p.concurrency, { digits: 0 })} in flight)`;
  }).join("; ");
}
function updateSpec() {
  const m = $("spec_method").value;
  const info = m && state.meta.spec_methods[m];
  for (const el of document.querySelectorAll(".spec-only")) el.classList.toggle("hidden", !info);
  for (const el of document.querySelectorAll(".draft-only")) el.classList.toggle("hidden", m !== "draft");
  $("spec_tokens").placeholder = info ? `${info.tokens} (default)` : "";
  $("spec_acceptance").placeholder = info ? `${info.acceptance} then ${info.later_acceptance}` : "";
  $("spec-source").textContent = info ? `${info.draft}. Defaults: ${info.source}` : "";
}

// ------------------------------------------------------------------ errors beside fields
function clearErrors() {
  for (const f of document.querySelectorAll(".field.invalid")) f.classList.remove("invalid");
  for (const e of document.querySelectorAll(".field-error")) e.textContent = "";
  $("banner").classList.add("hidden");
}
function showError(field, message) {
  field = SHOWN_BESIDE[field] || field;
  const box = field && document.querySelector(`.field[data-field="${CSS.escape(field)}"]`);
  if (box) {
    box.classList.add("invalid");
    box.querySelector(".field-error").textContent = message;
  } else {
    showBanner(message);
  }
}
function showBanner(message) {
  $("banner").textContent = message;
  $("banner").classList.remove("hidden");
}
function setStatus(text, kind) {
  const s = $("status");
  s.textContent = text;
  s.className = "status " + (kind || "");
}

// ------------------------------------------------------------------ fetching
function schedule(delay = 250) {
  clearTimeout(state.timer);
  state.timer = setTimeout(update, delay);
}
async function update() {
  const q = readInputs();
  syncURL(q);
  clearErrors();
  let bad = false;
  for (const [f, msg] of Object.entries(REQUIRED)) if (q[f] === "") { showError(f, msg); bad = true; }
  if (fixedShape() && q.tp === "") { showError("tp", "enter the tensor-parallel degree (1, 2, 4, 8, ...)"); bad = true; }
  if (!q.chip.length) { showError("chip", "pick at least one chip"); bad = true; }
  if (bad) { clearResults(); setStatus("check the inputs", "bad"); return; }
  if (state.ctrl) state.ctrl.abort();
  const ctrl = new AbortController();
  state.ctrl = ctrl;
  setStatus("computing…", "busy");
  $("results").classList.add("busy");
  let r, body;
  try {
    r = await fetch("/api/results?" + toQuery(q).toString(), { signal: ctrl.signal });
    body = await r.json();
  } catch (e) {
    if (e.name === "AbortError") return;
    $("results").classList.remove("busy");
    clearResults();
    setStatus("server unreachable", "bad");
    showBanner("Could not reach the infercast server: is `infercast serve` still running?");
    return;
  }
  if (ctrl !== state.ctrl) return;
  $("results").classList.remove("busy");
  if (r.status === 429) {  // the server's work queue is full: keep the inputs, ask again when it says
    const wait = Math.min(60, Math.max(1, Number(r.headers.get("Retry-After")) || 1));
    setStatus(`server busy: retrying in ${wait} s`, "busy");
    schedule(wait * 1000);
    return;
  }
  if (!r.ok) {  // never stale numbers beside an error: the results go, the reason stays beside its input
    if (body.chips && body.chips.length) {
      renderFailure(body, body.chips);
      showBanner(`No chip could be estimated with these inputs: each chip's reason is on its row below.`);
      const seen = new Set();
      for (const c of body.chips) if (c.field && !seen.has(c.field)) { seen.add(c.field); showError(c.field, c.detail); }
      setStatus("no chip could be estimated", "bad");
    } else {
      clearResults();
      showError(body.field, body.detail || `request failed (${r.status})`);
      setStatus("check the inputs", "bad");
    }
    return;
  }
  state.last = body;
  render(body);
  showChosenShape(body);
  const failed = body.estimate.filter((it) => it.error).map((it) => it.chip);
  setStatus(failed.length ? `up to date; no estimate for ${failed.join(", ")}` : "up to date", failed.length ? "warn" : "ok");
}

// ------------------------------------------------------------------ building the form
function addModelOption(value, text, group) {
  const o = new Option(text, value);
  let parent = $("model");
  if (group) {
    parent = [...$("model").querySelectorAll("optgroup")].find((g) => g.label === group);
    if (!parent) { parent = document.createElement("optgroup"); parent.label = group; $("model").appendChild(parent); }
  }
  parent.appendChild(o);
  return o;
}
function buildForm() {
  const list = $("chip-list");
  const vendors = {};
  for (const c of state.chips) (vendors[c.vendor] = vendors[c.vendor] || []).push(c);
  let html = "";
  for (const [v, cs] of Object.entries(vendors)) {
    html += `<div class="vendor" data-vendor="${esc(v)}">${esc(v)}</div>`;
    for (const c of cs) {
      const price = c.price ? `$${c.price.usd_per_hour.toFixed(2)}/h` : '<span class="noprice">no price</span>';
      const hint = `${c.name} (${c.year}): ${c.memory_gb} GB ${c.memory_type}, ${c.memory_bw_tbps} TB/s` +
        (c.price ? `; ${c.price.kind} $${c.price.usd_per_hour}/h on ${c.price.date}` : "; no dated price in the catalog");
      html += `<label data-search="${esc((c.id + " " + c.name + " " + c.vendor + " " + c.year + " " + (c.aliases || []).join(" ")).toLowerCase())}" title="${esc(hint)}">` +
        `<input type="checkbox" value="${esc(c.id)}"> ${esc(c.id)} <span class="meta">${c.memory_gb} GB · ${price}</span></label>`;
    }
  }
  list.innerHTML = html;
  for (const u of state.uploadedChips) addUploadedChip(u.token, u.chip);
  const fams = {};
  for (const m of state.models) (fams[m.uploaded ? "uploaded" : m.family] = fams[m.uploaded ? "uploaded" : m.family] || []).push(m);
  for (const [f, ms] of Object.entries(fams)) {
    for (const m of ms) addModelOption(m.token || m.id, `${m.id}  (${params(m.total_params)}${m.moe ? ", " + params(m.active_params) + " active" : ""})`, f);
  }
  $("weights").add(new Option("planner's choice", ""));
  $("kv").add(new Option("engine default", ""));
  for (const p of state.meta.precisions) { $("weights").add(new Option(p, p)); $("kv").add(new Option(p, p)); }
  $("engine").add(new Option(`default (${state.meta.engines[0]})`, ""));
  for (const e of state.meta.engines) $("engine").add(new Option(e, e));
  for (const p of state.meta.percentiles) $("percentile").add(new Option(p === 50 ? "50 (mean)" : `${p}th`, String(p)));
  $("spec_method").add(new Option("off", ""));
  for (const m of Object.keys(state.meta.spec_methods)) $("spec_method").add(new Option(m, m));
  for (const m of state.models) if (!m.uploaded) $("spec_draft").add(new Option(`${m.id} (${params(m.total_params)})`, m.id));
  $("spec_draft").value = (state.models.find((m) => m.id === "llama-3.1-8b") || state.models[0] || {}).id || "";
}
function updateChipCount() {
  const n = selectedChips().length;
  $("chip-count").textContent = `${n} selected`;
}
function filterChips() {
  const f = $("chip-filter").value.trim().toLowerCase();
  for (const l of document.querySelectorAll("#chip-list label")) l.classList.toggle("hidden", !!f && !l.dataset.search.includes(f));
  for (const v of document.querySelectorAll("#chip-list .vendor")) {
    let el = v.nextElementSibling, any = false;
    while (el && el.tagName === "LABEL") { if (!el.classList.contains("hidden")) any = true; el = el.nextElementSibling; }
    v.classList.toggle("hidden", !any);
  }
}

async function upload(file) {
  const st = $("upload-status");
  clearErrors();
  st.textContent = `uploading ${file.name}…`;
  const fd = new FormData();
  fd.append("file", file);
  try {
    const r = await fetch("/api/model", { method: "POST", body: fd });
    const body = await r.json();
    if (!r.ok) { st.textContent = ""; showError(body.field || "file", body.detail); return; }
    const m = body.model;
    let opt = [...$("model").options].find((o) => o.value === body.token);
    if (!opt || opt.text.endsWith("(not loaded)")) {
      if (opt) opt.remove();
      opt = addModelOption(body.token, `${m.id}  (${params(m.total_params)}, uploaded)`, "uploaded");
    }
    $("model").value = body.token;
    resetShape();
    st.textContent = `${m.id}: ${params(m.total_params)} parameters (token ${body.token}; kept until the server restarts)`;
    schedule(0);
  } catch (e) {
    st.textContent = "";
    showError("model", `upload failed: ${e}`);
  } finally {
    $("upload").value = "";
  }
}

// An uploaded chip file: a checkbox whose value is the server's token (results rows are named by the chip's id).
function addUploadedChip(token, chip) {
  state.chipById[chip.id] = chip;
  const list = $("chip-list");
  const found = list.querySelector(`input[value="${CSS.escape(token)}"]`);
  if (found) return found;
  if (!list.querySelector('.vendor[data-vendor="uploaded"]')) {
    const v = document.createElement("div");
    v.className = "vendor"; v.dataset.vendor = "uploaded"; v.textContent = "uploaded";
    list.prepend(v);
  }
  let after = list.querySelector('.vendor[data-vendor="uploaded"]');
  while (after.nextElementSibling && after.nextElementSibling.tagName === "LABEL") after = after.nextElementSibling;
  const hint = `${chip.name} (${chip.year}, from a chip file): ${chip.memory_gb} GB ${chip.memory_type}, ` +
    `${chip.memory_bw_tbps} TB/s; token ${token}`;
  const price = chip.price ? `$${chip.price.usd_per_hour.toFixed(2)}/h` : '<span class="noprice">no price</span>';
  after.insertAdjacentHTML("afterend",
    `<label data-search="${esc((chip.id + " " + chip.name + " uploaded " + chip.year).toLowerCase())}" title="${esc(hint)}">` +
    `<input type="checkbox" value="${esc(token)}"> ${esc(chip.id)} <span class="meta">${chip.memory_gb} GB · ${price}</span></label>`);
  return list.querySelector(`input[value="${CSS.escape(token)}"]`);
}

async function uploadChip(file) {
  const st = $("chip-upload-status");
  clearErrors();
  st.textContent = `uploading ${file.name}…`;
  const fd = new FormData();
  fd.append("file", file);
  try {
    const r = await fetch("/api/chip", { method: "POST", body: fd });
    const body = await r.json();
    if (!r.ok) { st.textContent = ""; showError("chip", body.detail || `upload failed (${r.status})`); return; }
    const c = body.chip;
    if (!state.uploadedChips.some((u) => u.token === body.token)) state.uploadedChips.push(body);
    addUploadedChip(body.token, c).checked = true;
    updateChipCount();
    st.textContent = `${c.id}: ${c.memory_gb} GB, ${c.memory_bw_tbps} TB/s (token ${body.token}; kept until the server restarts)`;
    schedule(0);
  } catch (e) {
    st.textContent = "";
    showError("chip", `upload failed: ${e}`);
  } finally {
    $("chip-upload").value = "";
  }
}

async function init() {
  setStatus("loading…", "busy");
  const [meta, chips, models, uploadedChips] = await Promise.all(["/api/meta", "/api/chips", "/api/models", "/api/chips/uploaded"]
    .map((u) => fetch(u).then((r) => r.json())));
  state.meta = meta; state.defaults = meta.defaults; state.chips = chips; state.models = models;
  state.uploadedChips = uploadedChips;
  for (const c of chips) state.chipById[c.id] = c;
  buildForm();
  const unknown = applyQuery(new URLSearchParams(location.search));
  $("inputs").addEventListener("input", (ev) => {
    if (ev.target.id === "chip-filter" || ev.target.id === "upload" || ev.target.id === "chip-upload" || ev.target.tagName === "SELECT") return;
    if (ev.target.closest("#chip-list")) updateChipCount();
    schedule();
  });
  $("inputs").addEventListener("change", (ev) => {
    if (ev.target.id === "model") resetShape();
    if (ev.target.id === "spec_method") updateSpec();
    if (ev.target.name === "shape") { if (fixedShape()) startFixed(); else setMode(false); schedule(0); }
    if (ev.target.tagName === "SELECT" || ev.target.type === "checkbox" && !ev.target.closest("#chip-list")) schedule(0);
  });
  $("inputs").addEventListener("submit", (ev) => ev.preventDefault());
  $("chip-filter").addEventListener("input", filterChips);
  $("upload").addEventListener("change", (ev) => { if (ev.target.files[0]) upload(ev.target.files[0]); });
  $("chip-upload").addEventListener("change", (ev) => { if (ev.target.files[0]) uploadChip(ev.target.files[0]); });
  $("logscale").addEventListener("change", () => { syncURL(readInputs()); if (state.last) renderFrontier(state.last); });
  $("share").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(location.href); setStatus("link copied", "ok"); }
    catch (e) { prompt("Copy this link:", location.href); }
  });
  await update();
  if (unknown.length) showError("chip", `not in the catalog or this server's uploads: ${unknown.join(", ")} (ignored; ` +
    "upload a chip file again after the server restarts)");
}

init().catch((e) => { setStatus("failed to start", "bad"); showError(null, `The page could not start: ${e}`); });
