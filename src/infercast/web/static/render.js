// infercast web page: formatting and rendering of /api/results (tables and Plotly charts). app.js owns the inputs.
"use strict";

const COLORS = ["#2f5fd0", "#e4572e", "#17a673", "#9b51e0", "#f2a900", "#00a3c4", "#d6336c", "#6b7b8c",
  "#8c564b", "#2ca02c", "#bcbd22", "#1f3a93"];
const OPS = { qkv_proj: "QKV proj", o_proj: "O proj", mlp: "MLP", moe: "MoE experts", experts: "MoE experts",
  shared_experts: "shared experts", router: "router",
  lm_head: "LM head", attention: "attention", elementwise: "elementwise", allreduce: "all-reduce",
  alltoall: "all-to-all", pipeline_p2p: "pipeline send", launch: "kernel launch", scheduler: "scheduler" };
const BOUND_NAMES = { compute: "compute", weights: "weight reads", kv_cache: "KV-cache reads",
  communication: "communication", overhead: "overhead", activations: "activations" };
const CHOSEN_BY = { planner: "planner's choice", "fixed shape": "given shape, planner's batch",
  "fixed concurrency": "given shape and batch" };
const PLOT_CFG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d"] };
const CHARTS = ["frontier-chart", "step-chart", "bound-chart", "memory-chart"];
const TABLES = ["estimate-table", "limits-table", "bounds-table", "cost-table"];

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
// a table cell: value, unit, hover text (the source), class, and an optional second line
function cell(value, unit, title, cls = "", sub = "") {
  const u = unit ? `<span class="unit">${esc(unit)}</span>` : "";
  const t = title ? ` title="${esc(title)}"` : "";
  const s = sub ? `<span class="sub">${esc(sub)}</span>` : "";
  return `<td class="${cls}"${t}>${esc(value)}${u}${s}</td>`;
}
function chipCell(id, i) {
  const c = state.chipById[id];
  const title = c ? `${c.name} (${c.vendor}, ${c.year}); ${c.memory_gb} GB ${c.memory_type}, ${c.memory_bw_tbps} TB/s` : id;
  return `<td class="text chip" title="${esc(title)}"><span class="swatch c${i % COLORS.length}"></span>${esc(id)}</td>`;
}
function head(cols) { return "<thead><tr>" + cols.map((c) => `<th>${c}</th>`).join("") + "</tr></thead>"; }
function rowError(chip, i, err, span) {
  return `<tr class="failed">${chipCell(chip, i)}<td class="rowerr" colspan="${span}">⚠ ${esc(err ? err.detail : "failed")}</td></tr>`;
}
function shapeText(p) { return `TP ${p.tp} × PP ${p.pp}`; }
function shapeSub(p) {
  const parts = [];
  if (p.ep > 1) parts.push(`EP ${p.ep}`);
  if (p.dp > 1) parts.push(`DP ${p.dp}`);
  parts.push(`${num(p.gpus, { digits: 0 })} GPU${p.gpus > 1 ? "s" : ""}${p.replicas > 1 ? ` × ${p.replicas}` : ""}`);
  return parts.join(" · ");
}
function techniques(p) {
  const t = [];
  if (p.speculative) t.push(p.speculative.replace(/^speculative decoding: ([^,]+),.*$/, "spec. $1"));
  if (p.disaggregated) t.push("disaggregated");
  return t.join(", ");
}

// ------------------------------------------------------------------ whole results
function render(d) {
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

// Every chip failed (a 422 naming each chip's reason): no stale numbers anywhere, each reason on its chip's row.
function renderFailure(body, chips) {
  clearResults();
  const cols = ["chip", "why no estimate"];
  let html = head(cols) + "<tbody>";
  chips.forEach((c, i) => { html += rowError(c.chip, i, c, 1); });
  $("estimate-table").innerHTML = html + "</tbody>";
  $("estimate-mode").textContent = "no chip could be estimated";
  state.failures += 1;
  document.body.dataset.failures = String(state.failures);
}

function clearResults() {
  state.last = null;
  for (const id of CHARTS) if (window.Plotly && $(id).data) Plotly.purge(id);
  for (const el of document.querySelectorAll(".chart-legend")) el.innerHTML = "";
  for (const id of TABLES) $(id).innerHTML = "";
  for (const id of ["estimate-mode", "frontier-notes", "estimate-notes", "notes"]) $(id).textContent = "";
  $("shape-chosen").textContent = "";
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
  if (dflt) dflt.text = fixedShape() ? `released (${m.dtype})` : "planner's choice";
}

function renderEstimate(d) {
  const cols = ["chip", "output tok/s<br>per GPU", "tok/s<br>per user", "TTFT", "TPOT", "requests<br>in flight",
    "shape", "precision<br>weights / KV", "bound by"];
  let html = head(cols) + "<tbody>";
  const how = new Set(), notes = [];
  d.estimate.forEach((it, i) => {
    if (!it.point) { html += rowError(it.chip, i, it.error, cols.length - 1); return; }
    const p = it.point, e = it.estimate, s = it.sources;
    how.add(p.chosen_by);
    for (const n of it.notes || []) notes.push([it.chip, n]);
    const shares = e ? Object.entries(e.bound_shares).sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${BOUND_NAMES[k] || k} ${num(v * 100, { digits: 0 })}%`).join(", ") : "";
    const tech = techniques(p);
    html += "<tr>" + chipCell(it.chip, i) +
      cell(num(p.output_tok_s_per_gpu), "tok/s", s.throughput, "big", `input ${num(p.input_tok_s_per_gpu)}`) +
      cell(num(p.tokens_per_s_per_user), "tok/s", "1 / TPOT; " + s.point) +
      cell(...secs(p.ttft_s), "time to first token: the prompt's prefill, plus the step in progress when it arrives; " + s.point) +
      cell(...secs(p.tpot_s), "time per output token; " + s.point, "", `request ${secs(p.e2e_s).join(" ")}`) +
      cell(num(p.concurrency, { digits: 0 }), "", `${CHOSEN_BY[p.chosen_by] || p.chosen_by}; ${p.replicas} replica(s)`, "",
        p.replicas > 1 ? `${p.replicas} replicas` : "") +
      cell(shapeText(p), "", `${CHOSEN_BY[p.chosen_by] || p.chosen_by} for ${p.targets}: tensor parallel ${p.tp}, ` +
        `pipeline ${p.pp}, expert parallel ${p.ep}, attention data-parallel ${p.dp}; ${p.gpus} GPUs per replica` +
        (p.disaggregated ? `\n${p.disaggregated}` : ""), "text", shapeSub(p)) +
      cell(`${p.precision} / ${p.kv}`, "", (e ? `compute ${e.compute}; engine ${e.engine}: ${s.engine}` : p.engine) +
        (p.speculative ? `\n${p.speculative}` : ""), "text", tech) +
      cell(e ? BOUND_NAMES[e.bound_by] || e.bound_by : "–", "", e ? "share of the step: " + shares : "no breakdown", "text",
        p.chosen_by === "fixed concurrency" ? `batch: ${e ? e.batch_limit : "given"}` : `batch: best for ${p.targets}`) +
      "</tr>";
  });
  $("estimate-table").innerHTML = html + "</tbody>";
  $("estimate-notes").innerHTML = notes.map(([c, n]) => `<li><b>${esc(c)}</b>: ${esc(n)}</li>`).join("");
  const t = d.estimate.find((it) => it.point);
  const targets = t ? t.point.targets : "";
  $("estimate-mode").textContent = `${d.model.id}, ${num(d.inputs.input_len, { digits: 0 })} in / ` +
    `${num(d.inputs.output_len, { digits: 0 })} out tokens; ` +
    (how.has("planner") ? `the planner's best shape for ${targets}` :
      how.has("fixed shape") ? `the given shape, best batch for ${targets}` : "the given shape and requests in flight");
}

function frontierHover(p) {
  return [p.precision, p.tp, p.pp, p.gpus, p.concurrency, p.ttft_s, p.ep,
    (p.speculative ? "<br>" + esc(p.speculative.split(",")[0]) : "") + (p.disaggregated ? "<br>" + esc(p.disaggregated) : "")];
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
      customdata: pts.map(frontierHover),
      hovertemplate: "<b>%{fullData.name}</b><br>%{x:.1f} tok/s per user<br>%{y:,.0f} output tok/s per GPU<br>" +
        "%{customdata[0]}, TP %{customdata[1]} × PP %{customdata[2]} (EP %{customdata[6]}), %{customdata[3]} GPUs<br>" +
        "batch %{customdata[4]:.0f}, TTFT %{customdata[5]:.3f} s%{customdata[7]}<extra>frontier</extra>",
    });
    const own = (d.estimate.find((it) => it.chip === f.chip) || {}).point;
    const b = f.best_meeting_targets;
    if (b && !(own && own.chosen_by === "planner")) {  // the planner's point is this one
      traces.push({ type: "scatter", mode: "markers", name: `${f.chip}: best meeting the targets`, legendgroup: f.chip,
        showlegend: false, x: [b.tokens_per_s_per_user], y: [b.output_tok_s_per_gpu],
        marker: { symbol: "diamond-open", size: 14, color, line: { width: 2.5, color } },
        hovertemplate: `<b>${esc(f.chip)}</b>: best meeting the targets<br>%{x:.1f} tok/s per user, %{y:,.0f} tok/s per GPU<br>` +
          `${esc(b.precision)}, TP ${b.tp} × PP ${b.pp} (EP ${b.ep}), batch ${num(b.concurrency, { digits: 0 })}<extra></extra>` });
    }
    for (const n of f.notes || []) notes.push(`${f.chip}: ${n}`);
  });
  d.estimate.forEach((it, i) => {
    if (!it.point) return;
    const p = it.point, color = COLORS[i % COLORS.length];
    traces.push({ type: "scatter", mode: "markers", name: `${it.chip}: operating point`, legendgroup: it.chip,
      showlegend: false, x: [p.tokens_per_s_per_user], y: [p.output_tok_s_per_gpu],
      marker: { symbol: "star", size: 15, color, line: { width: 1, color: "#1d2330" } },
      hovertemplate: `<b>${esc(it.chip)}</b>: ${esc(CHOSEN_BY[p.chosen_by] || p.chosen_by)}<br>%{x:.1f} tok/s per user, %{y:,.0f} tok/s per GPU<br>` +
        `${esc(p.precision)}, ${shapeText(p)} (EP ${p.ep}), ${num(p.concurrency, { digits: 0 })} in flight<extra></extra>` });
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
  const what = [d.inputs.weights ? `${d.inputs.weights} weights` : "every precision the chip runs natively",
    `TP × PP × EP up to ${d.inputs.max_gpus} GPUs per replica`];
  if (d.inputs.spec_method) what.push(`speculative decoding (${d.inputs.spec_method})`);
  if (d.inputs.disaggregated) what.push("aggregated and disaggregated pools");
  $("frontier-notes").textContent = `Sweeps ${what.join(", ")}. ` + sw.join("; ") + (notes.length ? ". Notes: " + notes.join(" · ") : "");
}

// Stacked horizontal bars, one per chip. The legend is HTML below the chart: it wraps to the card's width,
// so no entry is ever cut off or scrolled away, whatever the window and the number of operators.
function hbar(div, d, rowsOf, names, unit, opts = {}) {
  const ok = d.estimate.filter((it) => it.estimate);
  const chips = ok.map((it) => it.chip);
  const keys = [];
  for (const it of ok) for (const [k, v] of Object.entries(rowsOf(it.estimate))) if (v > 0 && !keys.includes(k)) keys.push(k);
  const palette = ["#2f5fd0", "#7aa0f0", "#17a673", "#8fd6b4", "#f2a900", "#f6cf6b", "#e4572e", "#f1a08a", "#9b51e0", "#c9a3f0", "#6b7b8c", "#b8c2cc", "#00a3c4"];
  const color = (k, j) => (opts.colors && opts.colors[k]) || palette[j % palette.length];
  const traces = keys.map((k, j) => ({
    type: "bar", orientation: "h", name: names[k] || k, y: chips, x: ok.map((it) => rowsOf(it.estimate)[k] || 0),
    marker: { color: color(k, j) },
    hovertemplate: `${names[k] || k}: %{x:${opts.fmt || ".2f"}} ${unit}<extra>%{y}</extra>`,
  }));
  const layout = {
    barmode: "stack", margin: { l: 8, r: 24, t: 4, b: 8 }, showlegend: false,
    paper_bgcolor: "#fff", plot_bgcolor: "#fff",
    xaxis: { gridcolor: "#eceff3", zeroline: false, range: opts.range, dtick: opts.dtick, ticksuffix: opts.suffix, automargin: true },
    yaxis: { autorange: "reversed", automargin: true }, font: { family: "system-ui, sans-serif", size: 11, color: "#1d2330" },
    height: 26 * Math.max(1, chips.length) + 56,
  };
  $(div).style.height = layout.height + "px";
  Plotly.react(div, traces, layout, { ...PLOT_CFG, displayModeBar: false });
  $(div + "-legend").innerHTML = keys.map((k, j) =>
    `<span class="item"><span class="swatch" style="background:${color(k, j)}"></span>${esc(names[k] || k)}</span>`).join("");
}

function renderBreakdown(d) {
  hbar("step-chart", d, (e) => e.decode_step_ms, OPS, "ms");
  hbar("bound-chart", d, (e) => Object.fromEntries(Object.entries(e.bound_shares).map(([k, v]) => [k, v * 100])),
    BOUND_NAMES, "%", { fmt: ".0f", range: [0, 100], dtick: 25, suffix: "%", colors: { compute: "#2f5fd0", weights: "#17a673", kv_cache: "#f2a900", communication: "#e4572e", overhead: "#6b7b8c" } });
  hbar("memory-chart", d, (e) => ({ weights: e.memory.weights_gb, kv_pool: e.memory.kv_pool_gb,
    activations: e.memory.activations_gb, reserve: Math.max(0, e.memory.reserve_gb) }),
    { weights: "weights", kv_pool: "KV-cache pool", activations: "activations", reserve: "free / reserve" }, "GB",
    { fmt: ".1f", colors: { weights: "#2f5fd0", kv_pool: "#f2a900", activations: "#9b51e0", reserve: "#d5dae1" } });
  const cols = ["chip", "step<br>(decode)", "largest<br>operator", "capacity", "weights", "KV pool", "KV per<br>sequence",
    "sequences<br>that fit", "efficiency source"];
  let html = head(cols) + "<tbody>";
  d.estimate.forEach((it, i) => {
    if (!it.estimate) {
      html += rowError(it.chip, i, it.error || { detail: (it.notes || []).join("; ") || "no breakdown" }, cols.length - 1);
      return;
    }
    const e = it.estimate, m = e.memory, s = it.sources;
    const ops = Object.entries(e.decode_step_ms);
    const total = ops.reduce((a, [, v]) => a + v, 0);
    const [topK, topV] = ops.sort((a, b) => b[1] - a[1])[0] || ["–", 0];
    html += "<tr>" + chipCell(it.chip, i) +
      cell(sig(total), "ms", ops.map(([k, v]) => `${OPS[k] || k} ${sig(v)} ms`).join(", ") + "; " + s.step) +
      cell(`${OPS[topK] || topK} ${num(100 * topV / (total || 1), { digits: 0 })}%`, "", s.step, "text") +
      cell(num(m.capacity_gb), "GB", s.memory) +
      cell(num(m.weights_gb), "GB", `weights per GPU at ${e.weights}, split over TP ${e.tp} × PP ${e.pp} (EP ${e.ep}); ${s.memory}`) +
      cell(num(m.kv_pool_gb), "GB", "memory the engine gives the KV cache; " + s.engine) +
      cell(num(m.kv_per_seq_gb * 1e3), "MB", `one sequence of ${d.inputs.input_len + d.inputs.output_len} tokens at ${e.kv_cache}, per GPU`) +
      cell(num(m.max_seqs, { digits: 0 }), "", `batch limited by: ${e.batch_limit}`) +
      cell(e.efficiency_source.length > 70 ? e.efficiency_source.slice(0, 67) + "…" : e.efficiency_source, "", s.efficiency, "text wrap") +
      "</tr>";
  });
  $("limits-table").innerHTML = html + "</tbody>";
}

function renderBounds(d) {
  const cols = ["chip", "upper<br>(FLOP)", "lower<br>(bandwidth,<br>batch 1)", "market<br>price", "realistic<br>estimate", "upper /<br>lower"];
  let html = head(cols) + "<tbody>";
  const est = Object.fromEntries(d.estimate.map((it) => [it.chip, it.point]));
  d.bounds.forEach((it, i) => {
    if (!it.bounds) { html += rowError(it.chip, i, it.error, cols.length - 1); return; }
    const b = it.bounds, s = it.sources, p = est[it.chip];
    html += "<tr>" + chipCell(it.chip, i) +
      cell(num(b.upper_forward_passes_per_s), "/s", s.upper, "", `at ${b.precision}`) +
      cell(num(b.lower_forward_passes_per_s), "/s", s.lower + (b.lower_total_weights_per_s !== b.lower_forward_passes_per_s ?
        `; reading every expert: ${num(b.lower_total_weights_per_s)}/s` : "")) +
      cell(b.market_forward_passes_per_s ? num(b.market_forward_passes_per_s) : "no quote", b.market_forward_passes_per_s ? "/s" : "", s.market) +
      cell(p ? num(p.output_tok_s_per_gpu + p.input_tok_s_per_gpu) : "–", p ? "/s" : "", "input + output tokens per GPU-second at the operating point (the essay's unit)") +
      cell(num(b.upper_forward_passes_per_s / b.lower_forward_passes_per_s, { digits: 0 }), "×", "how far batching can lift throughput above batch 1") +
      "</tr>";
  });
  $("bounds-table").innerHTML = html + "</tbody>";
}

function renderCost(d) {
  const cols = ["chip", "input", "output", "blended", "GPU price", "at tok/s<br>per user"];
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
      cell(money(p.usd_per_hour), "/h", `${p.kind} observed ${p.date}: ${p.source}`, "", p.date) +
      cell(num(c.tokens_per_s_per_user), "tok/s", `${c.operating_point}: ${num(c.output_tok_s_per_gpu)} output tok/s per GPU, TP ${c.tp} × PP ${c.pp} (EP ${c.ep})\n` + why) +
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
    const notes = [...(it.notes || []), ...(e ? e.notes : []), ...(b && b.bounds ? b.bounds.notes : [])];
    html += `<details><summary>${esc(it.chip)}${notes.length ? ` <span class="muted">(${notes.length} note${notes.length > 1 ? "s" : ""})</span>` : ""}</summary><dl>`;
    if (c) for (const [k, v] of Object.entries(c.sources)) html += `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`;
    if (it.point) html += `<dt>operating point</dt><dd>${esc(s.point)}</dd>`;
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
