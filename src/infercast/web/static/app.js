// infercast web page: reads inputs, keeps them in the URL, fetches /api/results (debounced), renders.
"use strict";

const COLORS = ["#2f5fd0", "#e4572e", "#17a673", "#9b51e0", "#f2a900", "#00a3c4", "#d6336c", "#6b7b8c",
  "#8c564b", "#2ca02c", "#bcbd22", "#1f3a93"];
const NUM_FIELDS = ["input_len", "output_len", "gpus", "tp", "pp", "ep", "concurrency", "min_tps_user", "max_ttft"];
// query parameters renamed since links were first shared: old name -> current name
const RENAMED = { min_tps: "min_tps_user" };
// form fields whose errors are shown beside another input
const SHOWN_BESIDE = { file: "model" };
const REQUIRED = { input_len: "enter the prompt length in tokens", output_len: "enter the output length in tokens",
  tp: "enter the tensor-parallel degree (1, 2, 4, 8, ...)" };
const SELECT_FIELDS = ["model", "weights", "kv", "engine", "max_gpus"];
const OPS = { qkv_proj: "QKV proj", o_proj: "O proj", mlp: "MLP", moe: "MoE experts", router: "router",
  lm_head: "LM head", attention: "attention", elementwise: "elementwise", allreduce: "all-reduce",
  alltoall: "all-to-all", pipeline_p2p: "pipeline send", launch: "kernel launch", scheduler: "scheduler" };
const BOUND_NAMES = { compute: "compute", weights: "weight reads", kv_cache: "KV-cache reads",
  communication: "communication", overhead: "overhead" };
const PLOT_CFG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d"] };

const state = { chips: [], chipById: {}, models: [], meta: null, defaults: {}, timer: null, ctrl: null,
  renders: 0, last: null };
const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------ formatting
function num(x, opts = {}) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  const a = Math.abs(x);
  let d;
  if (opts.digits !== undefined) d = opts.digits;
  else if (a >= 100) d = 0; else if (a >= 10) d = 1; else if (a >= 1) d = 2; else if (a === 0) d = 0; else d = 3;
  return x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
}
function sig(x, n = 3) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  if (x === 0) return "0";
  const d = Math.max(0, n - 1 - Math.floor(Math.log10(Math.abs(x))));
  return x.toLocaleString("en-US", { minimumFractionDigits: Math.min(d, 6), maximumFractionDigits: Math.min(d, 6) });
}
function secs(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return ["–", ""];
  if (x < 1) return [sig(x * 1e3), "ms"];
  if (x < 120) return [sig(x), "s"];
  return [num(x / 60, { digits: 1 }), "min"];
}
function params(x) { return x >= 1e12 ? `${sig(x / 1e12)} T` : x >= 1e9 ? `${sig(x / 1e9)} B` : `${sig(x / 1e6)} M`; }
function money(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  return "$" + (x >= 100 ? num(x, { digits: 0 }) : x >= 1 ? num(x, { digits: 2 }) : sig(x, 2));
}
function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
function cell(value, unit, title, cls = "") {
  const u = unit ? `<span class="unit">${esc(unit)}</span>` : "";
  const t = title ? ` title="${esc(title)}"` : "";
  return `<td class="${cls}"${t}>${esc(value)}${u}</td>`;
}
function chipCell(id, i) {
  const c = state.chipById[id];
  const title = c ? `${c.name} (${c.vendor}, ${c.year}); ${c.memory_gb} GB ${c.memory_type}, ${c.memory_bw_tbps} TB/s` : id;
  return `<td class="text" title="${esc(title)}"><span class="swatch c${i % COLORS.length}"></span>${esc(id)}</td>`;
}
function head(cols) { return "<thead><tr>" + cols.map((c) => `<th>${c}</th>`).join("") + "</tr></thead>"; }

// ------------------------------------------------------------------ inputs <-> URL
function selectedChips() {
  return [...document.querySelectorAll("#chip-list input:checked")].map((x) => x.value);
}
function readInputs() {
  const q = {};
  for (const f of SELECT_FIELDS) q[f] = $(f).value;
  for (const f of NUM_FIELDS) q[f] = $(f).value.trim();
  q.chip = selectedChips();
  return q;
}
function toQuery(q) {
  const p = new URLSearchParams();
  p.set("model", q.model);
  for (const c of q.chip) p.append("chip", c);
  for (const f of ["weights", "kv", "engine"]) if (q[f]) p.set(f, q[f]);
  for (const f of NUM_FIELDS) if (q[f] !== "") p.set(f, q[f]);
  p.set("max_gpus", q.max_gpus);
  return p;
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
  for (const f of ["weights", "kv", "engine"]) {
    const v = get(f, "") || "";
    if (v && ![...$(f).options].some((o) => o.value === v)) $(f).add(new Option(v, v));
    $(f).value = v;
  }
  for (const f of NUM_FIELDS) {
    const dv = d[f] === null || d[f] === undefined ? "" : String(d[f]);
    $(f).value = get(f, dv);
  }
  $("max_gpus").value = get("max_gpus", String(d.max_gpus));
  let chips = params.getAll("chip").flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean);
  if (!chips.length && !params.has("chip")) chips = d.chip;
  const byAlias = {};
  for (const c of state.chips) { byAlias[c.id] = c.id; for (const a of c.aliases || []) byAlias[a.toLowerCase()] = c.id; }
  const unknown = [];
  for (const box of document.querySelectorAll("#chip-list input")) box.checked = false;
  for (const name of chips) {
    const id = byAlias[name.toLowerCase()];
    const box = id && document.querySelector(`#chip-list input[value="${CSS.escape(id)}"]`);
    if (box) box.checked = true; else unknown.push(name);
  }
  $("logscale").checked = params.get("log") === "1";
  updateChipCount();
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
    $("banner").textContent = message;
    $("banner").classList.remove("hidden");
  }
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
  if (!q.chip.length) { showError("chip", "pick at least one chip"); bad = true; }
  if (bad) { $("results").classList.add("stale"); setStatus("check the inputs", "bad"); return; }
  if (state.ctrl) state.ctrl.abort();
  const ctrl = new AbortController();
  state.ctrl = ctrl;
  setStatus("computing…", "busy");
  let r, body;
  try {
    r = await fetch("/api/results?" + toQuery(q).toString(), { signal: ctrl.signal });
    body = await r.json();
  } catch (e) {
    if (e.name === "AbortError") return;
    $("results").classList.add("stale");
    setStatus("server unreachable", "bad");
    showError(null, "Could not reach the infercast server: is `infercast serve` still running?");
    return;
  }
  if (ctrl !== state.ctrl) return;
  if (r.status === 429) {  // the server's work queue is full: keep the inputs, ask again when it says
    const wait = Math.min(60, Math.max(1, Number(r.headers.get("Retry-After")) || 1));
    setStatus(`server busy: retrying in ${wait} s`, "busy");
    schedule(wait * 1000);
    return;
  }
  if (!r.ok) {
    $("results").classList.add("stale");
    setStatus(`error ${r.status}`, "bad");
    showError(body.field, body.detail || `request failed (${r.status})`);
    return;
  }
  $("results").classList.remove("stale");
  state.last = body;
  render(body);
  setStatus("up to date", "ok");
}

// ------------------------------------------------------------------ rendering
function render(d) {
  const idx = {};
  d.inputs.chip.forEach((c, i) => (idx[c] = i));
  d.estimate.forEach((e, i) => (idx[e.chip] = i));
  renderModel(d.model);
  renderEstimate(d);
  renderFrontier(d);
  renderBreakdown(d);
  renderBounds(d);
  renderCost(d);
  renderNotes(d);
  state.renders += 1;
  document.body.dataset.renders = String(state.renders);
}

function renderModel(m) {
  const moe = m.moe ? `MoE ${esc(m.moe)}; ` : "";
  $("model-summary").innerHTML =
    `<b>${esc(m.name)}</b>${m.uploaded ? ' <span class="tag">uploaded</span>' : ""}${m.rumoured ? ' <span class="tag">rumoured</span>' : ""}<br>` +
    `<span title="${esc(m.params_source)}">${params(m.total_params)} parameters${m.moe ? `, ${params(m.active_params)} active` : ""}</span>; ` +
    `${moe}${m.layers} layers, ${esc(m.attention)} (${m.heads} heads, ${m.kv_heads} KV); ` +
    `<span title="K and V elements per token x layers x 2 bytes">KV ${num(m.kv_bytes_per_token_bf16 / 1e3)} kB/token at bf16</span>; ` +
    `released as ${esc(m.dtype)}, context ${num(m.max_context, { digits: 0 })}`;
  const dflt = $("weights").options[0];
  if (dflt) dflt.text = `model default (${m.dtype})`;
}

function rowError(chip, i, err, span) {
  return `<tr>${chipCell(chip, i)}<td class="rowerr" colspan="${span}">⚠ ${esc(err.detail)}</td></tr>`;
}

function renderEstimate(d) {
  const cols = ["chip", "output tok/s<br>per GPU", "input tok/s<br>per GPU", "tok/s<br>per user", "TTFT", "TPOT",
    "request<br>latency", "requests<br>in flight", "GPUs<br>(TP×PP × replicas)", "precision<br>weights / KV / compute",
    "bound by", "batch limited by"];
  let html = head(cols) + "<tbody>";
  const modes = new Set();
  d.estimate.forEach((it, i) => {
    if (!it.estimate) { html += rowError(it.chip, i, it.error, cols.length - 1); return; }
    const e = it.estimate, s = it.sources;
    modes.add(e.mode);
    const shares = Object.entries(e.bound_shares).sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${BOUND_NAMES[k] || k} ${num(v * 100, { digits: 0 })}%`).join(", ");
    const mem = e.memory;
    html += "<tr>" + chipCell(it.chip, i) +
      cell(num(e.output_tok_s_per_gpu), "tok/s", s.throughput, "big") +
      cell(num(e.input_tok_s_per_gpu), "tok/s", s.throughput) +
      cell(num(e.tokens_per_s_per_user), "tok/s", "1 / TPOT; " + s.step) +
      cell(...secs(e.ttft_s), "time to first token: queueing for a prefill slot + prefill; " + s.step) +
      cell(...secs(e.tpot_s), "time per output token: one decode step; " + s.step) +
      cell(...secs(e.e2e_s), "TTFT + output tokens x TPOT; " + s.step) +
      cell(num(e.concurrency, { digits: 0 }), "", `mode: ${e.mode}; ${e.replicas} replica(s)`) +
      cell(`${e.tp}×${e.pp} × ${e.replicas}`, "", `${e.gpus} GPUs; tensor parallel ${e.tp}, pipeline ${e.pp}, expert parallel ${e.ep}`) +
      cell(`${e.weights} / ${e.kv_cache} / ${e.compute}`, "", `engine ${e.engine}: ${s.engine}`, "text") +
      cell(BOUND_NAMES[e.bound_by] || e.bound_by, "", "share of the step: " + shares, "text") +
      cell(e.batch_limit, "", `KV pool ${num(mem.kv_pool_gb)} GB per GPU holds ${num(mem.max_seqs, { digits: 0 })} sequences of ${num(d.inputs.input_len + d.inputs.output_len, { digits: 0 })} tokens; ${s.memory}`, "text") +
      "</tr>";
  });
  $("estimate-table").innerHTML = html + "</tbody>";
  const target = [];
  if (d.inputs.min_tps_user) target.push(`≥ ${num(d.inputs.min_tps_user)} tok/s per user`);
  if (d.inputs.max_ttft) target.push(`TTFT ≤ ${sig(d.inputs.max_ttft)} s`);
  $("estimate-mode").textContent = `${d.model.id}, ${num(d.inputs.input_len, { digits: 0 })} in / ` +
    `${num(d.inputs.output_len, { digits: 0 })} out tokens; ` +
    (modes.has("latency-target") ? `largest batch meeting ${target.join(" and ")}` :
      modes.has("max-throughput") ? "largest batch that fits (max throughput)" : `${[...modes].join(", ")}`);
}

function renderFrontier(d) {
  const traces = [];
  const notes = [];
  const log = $("logscale").checked;
  d.frontier.forEach((f, i) => {
    const color = COLORS[i % COLORS.length];
    if (f.error) { notes.push(`${f.chip}: ${f.error.detail}`); return; }
    const pts = [...f.points].sort((a, b) => a.tokens_per_s_per_user - b.tokens_per_s_per_user);
    traces.push({
      type: "scatter", mode: "lines+markers", name: f.chip, legendgroup: f.chip,
      x: pts.map((p) => p.tokens_per_s_per_user), y: pts.map((p) => p.output_tok_s_per_gpu),
      line: { color, width: 2, shape: "vh" }, marker: { color, size: 5 },
      customdata: pts.map((p) => [p.precision, p.tp, p.pp, p.gpus, p.concurrency, p.ttft_s, p.ep]),
      hovertemplate: "<b>%{fullData.name}</b><br>%{x:.1f} tok/s per user<br>%{y:,.0f} output tok/s per GPU<br>" +
        "%{customdata[0]}, TP %{customdata[1]} × PP %{customdata[2]} (EP %{customdata[6]}), %{customdata[3]} GPUs<br>" +
        "batch %{customdata[4]:.0f}, TTFT %{customdata[5]:.3f} s<extra>frontier</extra>",
    });
    if (f.best_meeting_targets) {
      const b = f.best_meeting_targets;
      traces.push({ type: "scatter", mode: "markers", name: `${f.chip}: best meeting the target`, legendgroup: f.chip,
        showlegend: false, x: [b.tokens_per_s_per_user], y: [b.output_tok_s_per_gpu],
        marker: { symbol: "diamond-open", size: 14, color, line: { width: 2.5, color } },
        hovertemplate: `<b>${f.chip}</b>: best meeting the target<br>%{x:.1f} tok/s per user, %{y:,.0f} tok/s per GPU<br>` +
          `${b.precision}, TP ${b.tp} × PP ${b.pp}, batch ${num(b.concurrency, { digits: 0 })}<extra></extra>` });
    }
    for (const n of f.notes || []) notes.push(`${f.chip}: ${n}`);
  });
  d.estimate.forEach((it, i) => {
    if (!it.estimate) return;
    const e = it.estimate, color = COLORS[i % COLORS.length];
    traces.push({ type: "scatter", mode: "markers", name: `${it.chip}: your configuration`, legendgroup: it.chip,
      showlegend: false, x: [e.tokens_per_s_per_user], y: [e.output_tok_s_per_gpu],
      marker: { symbol: "star", size: 15, color, line: { width: 1, color: "#1d2330" } },
      hovertemplate: `<b>${it.chip}</b>: your configuration<br>%{x:.1f} tok/s per user, %{y:,.0f} tok/s per GPU<br>` +
        `${e.weights}, TP ${e.tp} × PP ${e.pp}, ${num(e.concurrency, { digits: 0 })} in flight<extra></extra>` });
  });
  const shapes = [], annotations = [];
  if (d.inputs.min_tps_user) {
    shapes.push({ type: "line", xref: "x", yref: "paper", x0: d.inputs.min_tps_user, x1: d.inputs.min_tps_user, y0: 0, y1: 1,
      line: { color: "#b42318", width: 1.5, dash: "dash" } });
    annotations.push({ xref: "x", yref: "paper", x: log ? Math.log10(d.inputs.min_tps_user) : d.inputs.min_tps_user, y: 1,
      text: `target ≥ ${num(d.inputs.min_tps_user)} tok/s/user`, showarrow: false, xanchor: "left", yanchor: "top",
      font: { color: "#b42318", size: 11 } });
  }
  const layout = {
    margin: { l: 64, r: 16, t: 10, b: 48 }, hovermode: "closest", paper_bgcolor: "#fff", plot_bgcolor: "#fff",
    xaxis: { title: { text: "tokens/s per user (interactivity)" }, type: log ? "log" : "linear", gridcolor: "#eceff3", zeroline: false, rangemode: "tozero" },
    yaxis: { title: { text: "output tokens/s per GPU" }, type: log ? "log" : "linear", gridcolor: "#eceff3", zeroline: false, rangemode: "tozero", tickformat: ",.0f" },
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" }, shapes, annotations,
    font: { family: "system-ui, sans-serif", size: 12, color: "#1d2330" },
  };
  Plotly.react("frontier-chart", traces, layout, PLOT_CFG);
  const sw = d.frontier.filter((f) => !f.error).map((f) => `${f.chip}: ${num(f.configs, { digits: 0 })} configurations (${f.engine})`);
  $("frontier-notes").textContent = (d.inputs.weights ? `Sweeps ${d.inputs.weights} weights` : "Sweeps every precision the chip runs natively") +
    `, TP × PP up to ${d.inputs.max_gpus} GPUs per replica. ` + sw.join("; ") + (notes.length ? ". Notes: " + notes.join(" · ") : "");
}

function hbar(div, d, rowsOf, names, unit, opts = {}) {
  const ok = d.estimate.filter((it) => it.estimate);
  const chips = ok.map((it) => it.chip);
  const keys = [];
  for (const it of ok) for (const [k, v] of Object.entries(rowsOf(it.estimate))) if (v > 0 && !keys.includes(k)) keys.push(k);
  const palette = ["#2f5fd0", "#7aa0f0", "#17a673", "#8fd6b4", "#f2a900", "#f6cf6b", "#e4572e", "#f1a08a", "#9b51e0", "#c9a3f0", "#6b7b8c", "#b8c2cc", "#00a3c4"];
  const traces = keys.map((k, j) => ({
    type: "bar", orientation: "h", name: names[k] || k, y: chips, x: ok.map((it) => rowsOf(it.estimate)[k] || 0),
    marker: { color: (opts.colors && opts.colors[k]) || palette[j % palette.length] },
    hovertemplate: `${names[k] || k}: %{x:${opts.fmt || ".2f"}} ${unit}<extra>%{y}</extra>`,
  }));
  const layout = {
    barmode: "stack", margin: { l: 96, r: 8, t: 4, b: 28 }, showlegend: true,
    legend: { orientation: "h", y: -0.18, font: { size: 10 } }, paper_bgcolor: "#fff", plot_bgcolor: "#fff",
    xaxis: { gridcolor: "#eceff3", zeroline: false, range: opts.range, dtick: opts.dtick, ticksuffix: opts.suffix },
    yaxis: { autorange: "reversed" }, font: { family: "system-ui, sans-serif", size: 11, color: "#1d2330" },
    height: 150 + 26 * chips.length + 14 * Math.ceil(keys.length / 4),
  };
  $(div).style.height = layout.height + "px";
  Plotly.react(div, traces, layout, { ...PLOT_CFG, displayModeBar: false });
}

function renderBreakdown(d) {
  hbar("step-chart", d, (e) => e.decode_step_ms, OPS, "ms");
  hbar("bound-chart", d, (e) => Object.fromEntries(Object.entries(e.bound_shares).map(([k, v]) => [k, v * 100])),
    BOUND_NAMES, "%", { fmt: ".0f", range: [0, 100], dtick: 25, suffix: "%", colors: { compute: "#2f5fd0", weights: "#17a673", kv_cache: "#f2a900", communication: "#e4572e", overhead: "#6b7b8c" } });
  hbar("memory-chart", d, (e) => ({ weights: e.memory.weights_gb, kv_pool: e.memory.kv_pool_gb,
    activations: e.memory.activations_gb, reserve: Math.max(0, e.memory.reserve_gb) }),
    { weights: "weights", kv_pool: "KV-cache pool", activations: "activations", reserve: "free / reserve" }, "GB",
    { fmt: ".1f", colors: { weights: "#2f5fd0", kv_pool: "#f2a900", activations: "#9b51e0", reserve: "#d5dae1" } });
  const cols = ["chip", "step (decode)", "largest operator", "capacity", "weights", "KV pool", "KV per sequence",
    "sequences that fit", "efficiency source"];
  let html = head(cols) + "<tbody>";
  d.estimate.forEach((it, i) => {
    if (!it.estimate) { html += rowError(it.chip, i, it.error, cols.length - 1); return; }
    const e = it.estimate, m = e.memory, s = it.sources;
    const ops = Object.entries(e.decode_step_ms);
    const total = ops.reduce((a, [, v]) => a + v, 0);
    const [topK, topV] = ops.sort((a, b) => b[1] - a[1])[0] || ["–", 0];
    html += "<tr>" + chipCell(it.chip, i) +
      cell(sig(total), "ms", ops.map(([k, v]) => `${OPS[k] || k} ${sig(v)} ms`).join(", ") + "; " + s.step) +
      cell(`${OPS[topK] || topK} ${num(100 * topV / (total || 1), { digits: 0 })}%`, "", s.step) +
      cell(num(m.capacity_gb), "GB", s.memory) +
      cell(num(m.weights_gb), "GB", `weights per GPU at ${e.weights}, split over TP ${e.tp} × PP ${e.pp}; ${s.memory}`) +
      cell(num(m.kv_pool_gb), "GB", "memory the engine gives the KV cache; " + s.engine) +
      cell(num(m.kv_per_seq_gb * 1e3), "MB", `one sequence of ${d.inputs.input_len + d.inputs.output_len} tokens at ${e.kv_cache}, per GPU`) +
      cell(num(m.max_seqs, { digits: 0 }), "", `batch limited by: ${e.batch_limit}`) +
      cell(e.efficiency_source.length > 60 ? e.efficiency_source.slice(0, 57) + "…" : e.efficiency_source, "", s.efficiency, "text") +
      "</tr>";
  });
  $("limits-table").innerHTML = html + "</tbody>";
}

function renderBounds(d) {
  const cols = ["chip", "upper<br>(FLOP)", "lower<br>(bandwidth, batch 1)", "market<br>price", "realistic<br>estimate", "upper /<br>lower"];
  let html = head(cols) + "<tbody>";
  const est = Object.fromEntries(d.estimate.map((it) => [it.chip, it.estimate]));
  d.bounds.forEach((it, i) => {
    if (!it.bounds) { html += rowError(it.chip, i, it.error, cols.length - 1); return; }
    const b = it.bounds, s = it.sources, e = est[it.chip];
    html += "<tr>" + chipCell(it.chip, i) +
      cell(num(b.upper_forward_passes_per_s), "/s", s.upper) +
      cell(num(b.lower_forward_passes_per_s), "/s", s.lower + (b.lower_total_weights_per_s !== b.lower_forward_passes_per_s ?
        `; reading every expert: ${num(b.lower_total_weights_per_s)}/s` : "")) +
      cell(b.market_forward_passes_per_s ? num(b.market_forward_passes_per_s) : "no quote", b.market_forward_passes_per_s ? "/s" : "", s.market) +
      cell(e ? num(e.forward_passes_per_chip_s) : "–", e ? "/s" : "", "input + output tokens per GPU-second at the operating point (the essay's unit)") +
      cell(num(b.upper_forward_passes_per_s / b.lower_forward_passes_per_s, { digits: 0 }), "×", "how far batching can lift throughput above batch 1") +
      "</tr>";
  });
  $("bounds-table").innerHTML = html + "</tbody>";
}

function renderCost(d) {
  const cols = ["chip", "input", "output", "blended", "GPU price (date)", "at tok/s<br>per user"];
  let html = head(cols) + "<tbody>";
  d.cost.forEach((it, i) => {
    if (!it.priced) {
      html += `<tr>${chipCell(it.chip, i)}<td class="rowerr" colspan="${cols.length - 1}" title="${esc(it.error?.detail || "")}">no price in the catalog for ${esc(it.chip)}</td></tr>`;
      return;
    }
    if (!it.cost) { html += rowError(it.chip, i, it.error, cols.length - 1); return; }
    const c = it.cost, p = it.price, why = c.assumptions.join("\n");
    html += "<tr>" + chipCell(it.chip, i) +
      cell(money(c.usd_per_m_input), "/M", `prefill share of GPU-time ${num(c.prefill_share * 100, { digits: 0 })}%\n` + why) +
      cell(money(c.usd_per_m_output), "/M", why, "big") +
      cell(money(c.usd_per_m_blended), "/M", `per million tokens of this workload (input + output)\n` + why) +
      `<td title="${esc(`${p.kind} observed ${p.date}: ${p.source}`)}">${esc(money(p.usd_per_hour))}<span class="unit">/h</span><span class="sub">${esc(p.date)}</span></td>` +
      cell(num(c.tokens_per_s_per_user), "tok/s", `${c.operating_point}: ${num(c.output_tok_s_per_gpu)} output tok/s per GPU, TP ${c.tp} × PP ${c.pp}\n` + why) +
      "</tr>";
  });
  $("cost-table").innerHTML = html + "</tbody>";
}

function renderNotes(d) {
  const m = d.model;
  let html = `<details><summary>${esc(m.id)} (model)</summary><dl><dt>parameters</dt><dd>${esc(m.params_source)}</dd>` +
    (m.notes ? `<dt>notes</dt><dd>${esc(m.notes)}</dd>` : "") + "</dl></details>";
  d.estimate.forEach((it) => {
    const c = state.chipById[it.chip];
    const e = it.estimate, s = it.sources;
    const b = d.bounds.find((x) => x.chip === it.chip);
    const co = d.cost.find((x) => x.chip === it.chip);
    const notes = [...(e ? e.notes : []), ...(b && b.bounds ? b.bounds.notes : [])];
    html += `<details><summary>${esc(it.chip)}${notes.length ? ` <span class="muted">(${notes.length} note${notes.length > 1 ? "s" : ""})</span>` : ""}</summary><dl>`;
    if (c) for (const [k, v] of Object.entries(c.sources)) html += `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`;
    if (e) html += `<dt>efficiency</dt><dd>${esc(s.efficiency)}</dd><dt>engine</dt><dd>${esc(s.engine)}</dd>`;
    if (b && b.sources.market) html += `<dt>market</dt><dd>${esc(b.sources.market)}</dd>`;
    if (co && co.price) html += `<dt>price</dt><dd>${esc(co.price.kind)}, ${esc(co.price.date)}: ${esc(co.price.source)}</dd>`;
    if (it.error) html += `<dt>estimate</dt><dd>${esc(it.error.detail)}</dd>`;
    html += "</dl>";
    if (notes.length) html += "<ul>" + notes.map((n) => `<li>${esc(n)}</li>`).join("") + "</ul>";
    html += "</details>";
  });
  $("notes").innerHTML = html;
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
  const fams = {};
  for (const m of state.models) (fams[m.uploaded ? "uploaded" : m.family] = fams[m.uploaded ? "uploaded" : m.family] || []).push(m);
  for (const [f, ms] of Object.entries(fams)) {
    for (const m of ms) addModelOption(m.token || m.id, `${m.id}  (${params(m.total_params)}${m.moe ? ", " + params(m.active_params) + " active" : ""})`, f);
  }
  $("weights").add(new Option("model default", ""));
  $("kv").add(new Option("engine default", ""));
  for (const p of state.meta.precisions) { $("weights").add(new Option(p, p)); $("kv").add(new Option(p, p)); }
  $("engine").add(new Option(`default (${state.meta.engines[0]})`, ""));
  for (const e of state.meta.engines) $("engine").add(new Option(e, e));
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
    st.textContent = `${m.id}: ${params(m.total_params)} parameters (token ${body.token}; kept until the server restarts)`;
    schedule(0);
  } catch (e) {
    st.textContent = "";
    showError("model", `upload failed: ${e}`);
  } finally {
    $("upload").value = "";
  }
}

async function init() {
  setStatus("loading…", "busy");
  const [meta, chips, models] = await Promise.all(["/api/meta", "/api/chips", "/api/models"].map((u) => fetch(u).then((r) => r.json())));
  state.meta = meta; state.defaults = meta.defaults; state.chips = chips; state.models = models;
  for (const c of chips) state.chipById[c.id] = c;
  buildForm();
  const unknown = applyQuery(new URLSearchParams(location.search));
  $("inputs").addEventListener("input", (ev) => {
    if (ev.target.id === "chip-filter" || ev.target.id === "upload") return;
    if (ev.target.closest("#chip-list")) updateChipCount();
    schedule();
  });
  $("inputs").addEventListener("change", (ev) => { if (ev.target.tagName === "SELECT") schedule(0); });
  $("inputs").addEventListener("submit", (ev) => ev.preventDefault());
  $("chip-filter").addEventListener("input", filterChips);
  $("upload").addEventListener("change", (ev) => { if (ev.target.files[0]) upload(ev.target.files[0]); });
  $("logscale").addEventListener("change", () => { syncURL(readInputs()); if (state.last) renderFrontier(state.last); });
  $("share").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(location.href); setStatus("link copied", "ok"); }
    catch (e) { prompt("Copy this link:", location.href); }
  });
  await update();
  if (unknown.length) showError("chip", `not in the catalog: ${unknown.join(", ")} (ignored)`);
}

init().catch((e) => { setStatus("failed to start", "bad"); showError(null, `The page could not start: ${e}`); });
