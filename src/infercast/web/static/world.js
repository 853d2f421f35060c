// infercast: the world page. Each form calls its endpoint with the form's fields as query parameters and
// renders the JSON answer with DOM nodes (textContent only: nothing from the server is parsed as HTML).
// A 4xx answer {detail, field} is shown beside the field it names.
"use strict";

const PREFIX = [[1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];

// numbers as infercast.format.num writes them: 3 significant figures, k/M/G/T/P above 10,000
function sig(x, d = 3) {
  if (x === 0) return "0";
  const mag = Math.floor(Math.log10(Math.abs(x)));
  const dec = Math.max(0, d - 1 - mag);
  return Number(x.toFixed(Math.min(dec, 12))).toLocaleString("en-US", { maximumFractionDigits: dec });
}
function num(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "-";
  const a = Math.abs(x);
  if (a >= 1e4) {
    for (const [div, p] of PREFIX) if (a >= div) return sig(x / div) + p;
  }
  return a >= 100 ? Math.round(x).toLocaleString("en-US") : sig(x);
}
const pct = (x, d = 0) => (x === null || x === undefined || !Number.isFinite(x)) ? "-" : (x * 100).toFixed(d) + " %";
const money = (x) => (x === null || x === undefined || !Number.isFinite(x)) ? "-" : "$" + (Math.abs(x) >= 100 ? Math.round(x).toLocaleString("en-US") : sig(x));
const band = (q, f = num) => `${f(q.p50)} [${f(q.p10)} – ${f(q.p90)}]`;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function table(head, rows) {
  const t = el("table");
  const tr = el("tr");
  head.forEach((h) => tr.appendChild(el("th", h)));
  t.appendChild(el("thead")).appendChild(tr);
  const body = t.appendChild(el("tbody"));
  rows.forEach((r) => {
    const row = el("tr");
    r.forEach((c) => row.appendChild(el("td", c)));
    body.appendChild(row);
  });
  return t;
}

function notes(items) {
  const ul = el("ul", null, "notes");
  items.forEach((n) => ul.appendChild(el("li", n)));
  return ul;
}

function clearErrors(form) {
  form.querySelectorAll(".field.bad").forEach((f) => f.classList.remove("bad"));
  form.querySelector(".field-error").textContent = "";
}

function showError(form, body, status) {
  const field = body && body.field;
  const msg = (body && body.detail) || `the server answered ${status}`;
  const f = field ? form.querySelector(`.field[data-field="${CSS.escape(field)}"]`) : null;
  if (f) f.classList.add("bad");
  form.querySelector(".field-error").textContent = (field ? field + ": " : "") + msg;
}

function query(form) {
  const p = new URLSearchParams();
  for (const [k, v] of new FormData(form).entries()) {
    if (String(v).trim() !== "") p.append(k, String(v).trim());
  }
  return p;
}

async function call(form, out, render) {
  clearErrors(form);
  out.classList.add("busy");
  try {
    const r = await fetch(form.dataset.api + "?" + query(form).toString(), { headers: { Accept: "application/json" } });
    const body = await r.json().catch(() => null);
    if (!r.ok) {
      showError(form, body, r.status);
      return;
    }
    out.replaceChildren();
    render(body, out);
    document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
  } catch (e) {
    showError(form, { detail: "could not reach the server: " + e.message }, 0);
  } finally {
    out.classList.remove("busy");
  }
}

function renderWorld(w, out) {
  const mix = w.models.map((m) => `${m.model} (${num(m.input_len)} in / ${num(m.output_len)} out, ≥ ${num(m.min_tps_user)} tok/s per user)`).join("; ");
  out.appendChild(el("p", `${w.year} (stock at ${w.as_of}): ${band(w.tokens_per_day)} tokens/day, P50 [P10 – P90]; ${mix}`, "headline"));
  const a = w.ai_workers;
  out.appendChild(el("p", `output ${band(w.output_tokens_per_day)} tokens/day = ${num(a.workers)} AI-worker equivalents at ${num(a.tokens_per_workday)} tokens per workday (${a.basis}; ${num(a.workers_low)} – ${num(a.workers_high)} over its range). Bounds at the medians: FLOP ${num(w.bounds.flop_bound_tokens_per_day)}, batch-1 bandwidth ${num(w.bounds.bandwidth_bound_tokens_per_day)} tokens/day.`));
  const fam = Object.entries(w.stock.by_family).sort((x, y) => y[1].h100e - x[1].h100e);
  out.appendChild(el("h3", "Stock by chip family"));
  out.appendChild(table(["family", "chips", "units", "H100e (bf16)", "H100e (Epoch 8-bit)"],
    fam.map(([k, g]) => [k, g.chips.join(", "), num(g.units), num(g.h100e), num(g.h100e_epoch)])
      .concat([["total", "", num(w.stock.units), num(w.stock.h100e), num(w.stock.h100e_epoch)]])));
  out.appendChild(el("h3", "Drivers of the P10 – P90 interval (each input varied alone)"));
  out.appendChild(table(["input", "P10", "P90", "P90 / P10", "share of log-variance"],
    w.drivers.map((d) => [d.input, num(d.p10), num(d.p90), d.ratio_p90_p10 ? "x" + sig(d.ratio_p90_p10, 2) : "-", pct(d.variance_share)])));
  out.appendChild(el("h3", "What each chip serves (the planner's point)"));
  out.appendChild(table(["chip", "model", "precision, shape", "tok/s per GPU (in + out)", "tok/s per user"],
    w.rates.map((r) => [r.chip, r.model, r.served ? `${r.precision}, ${r.shape}` : r.why_not, num(r.tok_s_per_gpu), num(r.tokens_per_s_per_user)])));
  if (w.disclosures.length) {
    out.appendChild(el("h3", `Disclosed token volumes in ${w.year} as a share of this capacity`));
    out.appendChild(table(["provider", "scope", "period", "tokens/day", "share of P50"],
      w.disclosures.map((d) => [d.provider, d.scope, d.period, num(d.tokens_per_day), pct(d.fraction_of_capacity_p50, 1)])));
  }
  out.appendChild(notes(w.notes));
  drawDrivers(w);
}

function drawDrivers(w) {
  const box = document.getElementById("world-chart");
  if (!window.Plotly) return;
  const d = w.drivers.slice().reverse();
  const p50 = w.tokens_per_day.p50;
  Plotly.react(box, [
    { type: "bar", orientation: "h", y: d.map((x) => x.input), x: d.map((x) => x.p90 - x.p10), base: d.map((x) => x.p10),
      marker: { color: "#2f5fd0" }, name: "P10 – P90 with only this input varying",
      hovertemplate: "%{y}: %{base:.3s} – %{x:.3s} wide<extra></extra>" },
  ], {
    title: { text: `What drives the interval (${w.year}; P50 ${num(p50)} tokens/day)`, font: { size: 13 } },
    xaxis: { title: "tokens/day", type: "log" }, margin: { l: 230, r: 20, t: 40, b: 40 }, height: 300,
    shapes: [{ type: "line", x0: p50, x1: p50, yref: "paper", y0: 0, y1: 1, line: { dash: "dot", color: "#888" } }],
  }, { displaylogo: false, responsive: true });
}

function renderOverhang(o, out) {
  const s = o.shape;
  out.appendChild(el("p", `${num(o.copies)} copies at ${num(o.min_tps_user)} tok/s each = ${num(o.tokens_per_s)} output tokens/s, ${num(o.tokens_per_day)} a day`, "headline"));
  out.appendChild(table(["quantity", "value"], [
    ["implied training utilisation", `${pct(o.implied_training_utilisation, 1)} of the dense ${o.peak_precision} peak (${num(o.peak_flops_per_gpu / 1e12)} TFLOP/s per GPU)`],
    ["serving shape", `${s.precision} TP ${s.tp} × PP ${s.pp}${s.ep > 1 ? ", EP " + s.ep : ""} (${s.gpus} GPUs), batch ${num(s.concurrency)}, ${num(s.tokens_per_s_per_user)} tok/s per user`],
    ["replicas (GPUs used)", `${num(o.replicas)} (${num(o.gpus_used)})`],
    ["streams in flight", num(o.streams)],
    ["AI-worker equivalents", `${num(o.ai_workers.workers)} (${num(o.ai_workers.workers_low)} – ${num(o.ai_workers.workers_high)}) at ${num(o.ai_workers.tokens_per_workday)} tokens per workday`],
  ]));
  out.appendChild(notes(o.notes));
}

function renderMargin(r, out) {
  const lp = r.list_price;
  const cached = lp.cached_input === null || lp.cached_input === undefined ? lp.input : lp.cached_input;
  out.appendChild(el("p", `gross margin ${pct(r.gross_margin)} per request (cost ${money(r.cost_per_request_usd)}, revenue ${money(r.revenue_per_request_usd)}) against ${lp.provider}'s price for ${lp.model} from ${lp.date}`, "headline"));
  out.appendChild(table(["tokens", "cost $/M", "list $/M", "margin"], [
    ["input, uncached", money(r.cost_usd_per_m_uncached_input), money(lp.input), pct(r.margin_by_token.uncached_input)],
    ["input, cached", money(r.cost_usd_per_m_cached_input), money(cached), pct(r.margin_by_token.cached_input)],
    ["output", money(r.cost_usd_per_m_output), money(lp.output), pct(r.margin_by_token.output)],
  ]));
  out.appendChild(notes(r.assumptions.concat(["list price: " + lp.source])));
}

function renderDeepSeek(d, out) {
  const row = (name, pub, mine, f) => [name, f(pub), f(mine), "x" + sig(mine / pub, 2)];
  out.appendChild(table(["quantity", "published", "infercast", "ratio"], [
    row("average nodes (8 × H800)", d.published_nodes, d.predicted_nodes, sig),
    row("prefill nodes (derived)", d.published_prefill_nodes, d.predicted_prefill_nodes, sig),
    row("decode nodes (derived)", d.published_decode_nodes, d.predicted_decode_nodes, sig),
    row("cost per day", d.published_cost_per_day_usd, d.cost_per_day_usd, money),
    row("theoretical revenue per day", d.published_revenue_per_day_usd, d.revenue_per_day_usd, money),
    row("cost-profit margin", d.published_cost_profit_margin, d.cost_profit_margin, pct),
  ]));
  const step = (name, s) => `${name} ${sig(s.step)} ms: ` + Object.entries(s).filter(([k]) => k !== "step").map(([k, v]) => `${k} ${sig(v)} ms`).join("; ");
  out.appendChild(notes(d.notes.concat([step("decode step", d.decode_step_ms), step("prefill step", d.prefill_step_ms)], d.sources)));
}

async function fillSelects() {
  const [models, chips, uploaded] = await Promise.all(["/api/models", "/api/chips", "/api/chips/uploaded"]
    .map((u) => fetch(u).then((r) => r.json())));
  const fill = (sel, items) => {
    items.forEach(([value, text]) => sel.appendChild(new Option(text, value)));
    sel.value = sel.dataset.default;
  };
  document.querySelectorAll("select.models").forEach((s) => fill(s, models.map((m) => [m.token || m.id, m.token || m.id])));
  // chip files uploaded on the per-chip page are offered by their token, named by their id
  const chipItems = uploaded.map((u) => [u.token, `${u.chip.id} (uploaded)`]).concat(chips.map((c) => [c.id, c.id]));
  document.querySelectorAll("select.chips").forEach((s) => fill(s, chipItems));
}

function wire(formId, outId, render) {
  const form = document.getElementById(formId);
  const out = document.getElementById(outId);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    call(form, out, render);
  });
}

async function main() {
  wire("world-form", "world-out", renderWorld);
  wire("overhang-form", "overhang-out", renderOverhang);
  wire("margin-form", "margin-out", renderMargin);
  await fillSelects();
  const ds = document.getElementById("deepseek-out");
  fetch("/api/margin/deepseek").then((r) => r.json()).then((d) => {
    renderDeepSeek(d, ds);
    document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
  }).catch(() => { ds.textContent = "not available"; });
}

main();
