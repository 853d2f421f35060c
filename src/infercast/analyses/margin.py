"""Economics: serving cost at the planner's operating point against a dated API list price: the gross margin.

Cost, per request of the workload (I prompt tokens, a fraction f of them prefix-cache hits, O generated):

* aggregated serving (one pool): `analyses.cost.cost` at the planner's best shape, which splits the
  GPU-hour between input and output by prefill's share of step time; cached tokens skip prefill
  compute (`cost.phase_split`);
* disaggregated serving (prefill and decode pools, the planner's `Space(disaggregated=True)`): input
  tokens pay the prefill pool's GPU-seconds (`disagg.prefill_rate` with the cache-hit fraction),
  output tokens the decode pool's (batch b at TPOT t: b / (O t) requests/s per decode replica);
  $/M by `cost.usd_per_mtok` arithmetic.

A cached input token costs no compute (its KV is loaded, then read by every decode step, which output
tokens pay for), so its cost is 0 here. Revenue per request at list prices: (1 - f) I x input +
f I x cached input (the input price where the provider lists none) + O x output.
Gross margin = (revenue - cost) / revenue; DeepSeek's 'cost profit margin' = (revenue - cost) / cost.

`deepseek_day()` reproduces DeepSeek's published day (2025-02-27/28, data/world/deepseek_inference_2025.json):
from the day's token volumes, cache-hit rate and speed per user, on H800 with DeepSeek's stated
deployment (prefill EP32 and decode EP144, disaggregated, FP8), it predicts the average nodes in use
and the margin at $2/GPU-hour and R1 prices, beside the published figures.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from infercast import format as F
from infercast.analyses.cost import cost as run_cost, resolve_price, usd_per_mtok
from infercast.analyses.world_data import ListPrice, deepseek_data, list_prices
from infercast.engine.disagg import prefill_rate
from infercast.engine.planner import Space, Targets, Workload, plan
from infercast.engine.step import deployment
from infercast.errors import InfercastError
from infercast.specs.hardware import get_chip
from infercast.specs.model import get_model
from infercast.vocabulary import check_number

DEFAULT_INPUT_LEN = 2000
DEFAULT_OUTPUT_LEN = 500
DEFAULT_MIN_TPS_USER = 20.0
VARIANTS = ("off-peak", "promotional", "launch")  # list-price rows that are not the standing price


# ---------------------------------------------------------------- list prices

def _start(date: str) -> str:
    """A row's date as YYYY-MM-DD ('2025' -> '2025-01-01', '2025-06' -> '2025-06-01')."""
    parts = (date.strip().split("-") + ["01", "01"])[:3]
    return "-".join(parts)


def check_date(date: str | None) -> str | None:
    if date is None:
        return None
    try:
        return dt.date.fromisoformat(str(date).strip()).isoformat()
    except ValueError:
        raise InfercastError(f"date must be a day as YYYY-MM-DD, got {str(date)[:40]!r}", field="date",
                             value=date) from None


def priced_models() -> list[str]:
    return sorted({p.model_id for p in list_prices() if p.model_id and p.input is not None and p.output is not None})


def select_price(model_id: str, provider: str | None = None, date: str | None = None) -> ListPrice:
    """The list price of `model_id`: the latest standing price (on `date`, if given) of a provider whose name
    (or the row's model name) contains `provider`. Off-peak, promotional and launch rows only when named."""
    date = check_date(date)
    rows = [p for p in list_prices() if p.model_id == model_id and p.input is not None and p.output is not None]
    if not rows:
        raise InfercastError(f"no dated list price with input and output prices for {model_id} in "
                             f"data/world/api_prices.json; models with one: {', '.join(priced_models())}",
                             field="model", value=model_id)
    if provider:
        want = provider.strip().lower()
        rows = [p for p in rows if want in p.provider.lower() or want in p.model.lower()]
        if not rows:
            raise InfercastError(f"no list price for {model_id} from a provider matching '{provider[:40]}'",
                                 field="provider", value=provider)
    else:
        std = [p for p in rows if not any(v in p.model.lower() for v in VARIANTS)]
        rows = std or rows
    if date:
        rows = [p for p in rows if _start(p.date) <= date and (p.until is None or _start(p.until) >= date)]
        if not rows:
            raise InfercastError(f"no list price for {model_id} in effect on {date}", field="date", value=date)
    return max(rows, key=lambda p: _start(p.date))


# ---------------------------------------------------------------- cost at the operating point

@dataclass
class Margin:
    model: str
    chip: str
    input_len: int
    output_len: int
    cached_fraction: float
    min_tps_user: float
    disaggregated: bool
    shape: dict
    usd_per_gpu_hour: float
    gpu_price_source: str
    utilisation: float
    cost_usd_per_m_uncached_input: float
    cost_usd_per_m_cached_input: float
    cost_usd_per_m_input: float  # every input token, cached ones included
    cost_usd_per_m_output: float
    gpu_seconds_per_request: float
    list_price: dict  # the row: model, provider, date, input, cached_input, output, source
    revenue_per_request_usd: float
    cost_per_request_usd: float
    gross_margin: float | None  # (revenue - cost) / revenue; None when the list price is 0
    cost_profit_margin: float  # (revenue - cost) / cost (DeepSeek's figure)
    margin_by_token: dict  # per token class: 1 - cost / price
    assumptions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _split_point(m, c, best: dict, pre: dict, I: int, O: int, f: float, engine: str | None) -> tuple[float, float]:
    """GPU-seconds per request in the prefill pool (cache hits skip compute) and in the decode pool."""
    pdep = deployment(m, c, tp=pre["tp"], pp=1, ep=pre["ep"], weights=pre["precision"], kv=best["kv"], engine=engine)
    rate, _ = prefill_rate(pdep, I, f)  # requests/s per prefill replica
    prefill = pdep.gpus / float(rate)
    b, tpot = float(best["concurrency"]), float(best["tpot_s"])
    decode_gpus = best["gpus"] - pre["gpus"]  # the planner counts one replica of each pool in `gpus`
    return prefill, decode_gpus * O * tpot / b  # a decode replica finishes b / (O tpot) requests/s


def operating_point(model, chip, *, input_len: int, output_len: int, cached_fraction: float, min_tps_user: float,
                    disaggregated: bool = False, eps: tuple[int, ...] | None = None, max_gpus: int = 128,
                    weights: str | None = None, engine: str | None = None) -> dict:
    """The planner's best point meeting the target, with GPU-seconds per request by pool (prefill, decode)."""
    m, c = get_model(model), get_chip(chip)
    p = plan(m, c, Workload(input_len, output_len), Targets(min_tps_user=min_tps_user),
             Space(max_gpus=max_gpus, eps=tuple(eps) if eps else None, disaggregated=disaggregated,
                   precisions=(weights,) if weights else None, engine=engine), frontiers=False)
    best = p.best
    if best is None:
        raise InfercastError(f"{m.id} on {c.id}: no deployment of up to {max_gpus} GPUs reaches {F.num(min_tps_user)} "
                             "tokens/s per user; lower the target or allow more GPUs (max_gpus)", field="min_tps_user")
    out = {"best": best, "prefill": p.best_prefill, "configs": p.n}
    if best.get("disaggregated"):
        out["prefill_gpu_s"], out["decode_gpu_s"] = _split_point(m, c, best, p.best_prefill, input_len, output_len,
                                                                 cached_fraction, engine)
    return out


def _shape(best: dict, pre: dict | None) -> dict:
    keys = ("precision", "kv", "engine", "tp", "pp", "ep", "dp", "gpus", "concurrency", "tokens_per_s_per_user",
            "ttft_s", "tpot_s", "output_tok_s_per_gpu", "input_tok_s_per_gpu", "disaggregated")
    d = {k: best.get(k) for k in keys}
    if best.get("disaggregated") and pre:
        d["decode"] = {"tp": best["tp"], "ep": best["ep"], "dp": best["dp"], "gpus": best["gpus"] - pre["gpus"],
                       "batch": best["concurrency"]}
        d["prefill"] = {k: pre[k] for k in ("tp", "ep", "dp", "gpus", "precision")}
    return d


def margin(model, chip, *, provider: str | None = None, date: str | None = None, list_price: ListPrice | None = None,
           input_len: int = DEFAULT_INPUT_LEN, output_len: int = DEFAULT_OUTPUT_LEN, cached_fraction: float = 0.0,
           min_tps_user: float = DEFAULT_MIN_TPS_USER, price: float | None = None, utilisation: float = 1.0,
           disaggregated: bool = False, eps: tuple[int, ...] | None = None, max_gpus: int = 128,
           weights: str | None = None, engine: str | None = None) -> Margin:
    """Serving cost of `model` on `chip` at the planner's point against the model's dated list price."""
    I = check_number("input_len", input_len, integer=True, allow_none=False)
    O = check_number("output_len", output_len, integer=True, allow_none=False)
    f = check_number("cached_fraction", cached_fraction, allow_none=False)
    T = check_number("min_tps_user", min_tps_user, allow_none=False)
    u = check_number("utilisation", utilisation, allow_none=False)
    max_gpus = check_number("max_gpus", max_gpus, integer=True, allow_none=False)
    m, c = get_model(model), get_chip(chip)
    lp = list_price or select_price(m.id, provider, date)
    usd, gpu_src = resolve_price(c, price)
    op = operating_point(m, c, input_len=I, output_len=O, cached_fraction=f, min_tps_user=T,
                         disaggregated=disaggregated, eps=eps, max_gpus=max_gpus, weights=weights, engine=engine)
    best = op["best"]
    notes = [f"GPU ${usd:.2f}/hour ({gpu_src}); busy {u:.0%} of paid hours",
             f"operating point: the planner's best of {op['configs']:,} configurations with >= {F.num(T)} tokens/s per "
             f"user ({I:,} prompt + {O:,} generated tokens, {f:.0%} of the prompt cached)",
             "a cached input token costs no compute here: it skips prefill; its KV is read by decode, which output "
             "tokens pay for"]
    if best.get("disaggregated"):
        pre_s, dec_s = op["prefill_gpu_s"], op["decode_gpu_s"]
        c_in_all = float(usd_per_mtok(usd, I / pre_s, u))  # prefill GPU-time over all input tokens
        c_unc = float(usd_per_mtok(usd, max(I * (1 - f), 1.0) / pre_s, u))
        c_out = float(usd_per_mtok(usd, O / dec_s, u))
        gpu_s = pre_s + dec_s
        notes.append(f"disaggregated: prefill {F.sig(pre_s)} and decode {F.sig(dec_s)} GPU-seconds per request; input "
                     "tokens pay the prefill pool, output tokens the decode pool")
    else:
        r = run_cost(m, c, tp=best["tp"], pp=best["pp"], ep=best["ep"], weights=best["precision"], kv=best["kv"],
                     engine=engine, input_len=I, output_len=O, cached_fraction=f, min_tokens_per_s_per_user=T,
                     price=usd, utilisation=u)
        c_in_all, c_unc, c_out = r.usd_per_m_input, r.usd_per_m_uncached_input, r.usd_per_m_output
        gpu_s = O / r.output_tok_s_per_gpu
        notes += [a for a in r.assumptions[1:2]]
    cached_price = lp.cached_input if lp.cached_input is not None else lp.input
    if lp.cached_input is None:
        notes.append(f"{lp.provider} lists no cached-input price for {lp.model}: cache hits billed at the input price")
    revenue = ((1 - f) * I * lp.input + f * I * cached_price + O * lp.output) / 1e6
    cost_req = (I * c_in_all + O * c_out) / 1e6

    def mg(cst, prc):
        return None if not prc else 1.0 - cst / prc

    return Margin(
        model=m.id, chip=c.id, input_len=I, output_len=O, cached_fraction=f, min_tps_user=T,
        disaggregated=bool(best.get("disaggregated")), shape=_shape(best, op["prefill"]), usd_per_gpu_hour=usd,
        gpu_price_source=gpu_src, utilisation=u, cost_usd_per_m_uncached_input=c_unc, cost_usd_per_m_cached_input=0.0,
        cost_usd_per_m_input=c_in_all, cost_usd_per_m_output=c_out, gpu_seconds_per_request=gpu_s,
        list_price=lp.model_dump(), revenue_per_request_usd=revenue, cost_per_request_usd=cost_req,
        gross_margin=(revenue - cost_req) / revenue if revenue > 0 else None,
        cost_profit_margin=(revenue - cost_req) / cost_req,
        margin_by_token={"uncached_input": mg(c_unc, lp.input), "cached_input": mg(0.0, cached_price),
                         "output": mg(c_out, lp.output)},
        assumptions=notes)


# ---------------------------------------------------------------- DeepSeek's published day

@dataclass
class DeepSeekDay:
    model: str
    chip: str
    input_len: int
    output_len: int
    workload_derivation: str
    cached_fraction: float
    min_tps_user: float
    shape: dict
    prefill_gpu_seconds_per_request: float
    decode_gpu_seconds_per_request: float
    requests_per_s: float
    predicted_nodes: float
    published_nodes: float
    nodes_ratio: float  # predicted / published
    predicted_prefill_nodes: float
    predicted_decode_nodes: float
    published_prefill_nodes: float  # DERIVED in the data file from the published per-node throughputs
    published_decode_nodes: float
    cost_per_day_usd: float
    published_cost_per_day_usd: float
    revenue_per_day_usd: float
    published_revenue_per_day_usd: float
    cost_profit_margin: float
    published_cost_profit_margin: float
    margin_ratio: float  # predicted / published
    gross_margin: float
    published_gross_margin: float
    decode_step_ms: dict  # the chosen decode step by operator group (what the gap is made of)
    prefill_step_ms: dict
    notes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _q(d: dict, key: str):
    return d["quoted"][key]["value"]


GROUPS = {"all-to-all (expert parallel)": ("alltoall",), "attention": ("attention",),
          "experts and dense GEMMs": ("qkv_proj", "o_proj", "mlp", "shared_experts", "experts", "lm_head"),
          "other (elementwise, all-reduce, scheduler)": ("elementwise", "allreduce", "pipeline_p2p", "scheduler")}


def step_groups(st: dict) -> dict:
    """A step's time (ms) by operator group, with the total (operators run one after another: no overlap)."""
    out = {g: 1e3 * sum(float(st.get(k, 0.0)) for k in ks) for g, ks in GROUPS.items()}
    out["step"] = 1e3 * float(st["latency"])
    return out


def _steps(m, c, best: dict, pre: dict, I: int, O: int, f: float, engine: str | None) -> tuple[dict, dict]:
    """The decode step at the chosen batch and a full prefill step with cache hits, as the planner times them."""
    from infercast.engine.step import step_time

    dd = deployment(m, c, tp=best["tp"], pp=1, ep=best["ep"], weights=best["precision"], kv=best["kv"], engine=engine)
    dec = step_time(dd, decode_seqs=float(best["concurrency"]) / dd.attn_dp, decode_ctx=I + O / 2)
    pd = deployment(m, c, tp=pre["tp"], pp=1, ep=pre["ep"], weights=pre["precision"], kv=best["kv"], engine=engine)
    new = max(1.0, I * (1 - f))
    per = max(1.0, pd.rank_tokens // new)  # as disagg.prefill_rate batches prompts
    pre_st = step_time(pd, prefill_tokens=per * new, prefill_seqs=per, prefill_ctx=I * f + (new + 1) / 2)
    return step_groups(dec), step_groups(pre_st)


def deepseek_day(chip: str = "h800", *, min_tps_user: float | None = None, eps: tuple[int, ...] = (32, 144),
                 engine: str | None = None) -> DeepSeekDay:
    """DeepSeek's published day, predicted from its token volumes and speed per user (see module docstring)."""
    d = deepseek_data()
    gpn = _q(d, "gpus_per_node")
    inp, hit, out = _q(d, "input_tokens_per_day"), _q(d, "input_cache_hit_tokens_per_day"), _q(d, "output_tokens_per_day")
    kv = _q(d, "mean_kv_length_per_output_token")
    speed = _q(d, "output_speed_per_user_tok_s")
    prices = _q(d, "r1_prices_usd_per_mtok")
    gpu_h = _q(d, "gpu_hour_price_usd")
    f = hit / inp
    ratio = inp / out
    # mean context while decoding = I + O/2 (planner's decode context) = the published mean KV length per output token
    O = round(kv / (ratio + 0.5))
    I = round(ratio * O)
    T = check_number("min_tps_user", min_tps_user, allow_none=False) if min_tps_user is not None else \
        (speed["low"] + speed["high"]) / 2  # the published average range's midpoint
    model = "deepseek-r1"
    op = operating_point(model, chip, input_len=I, output_len=O, cached_fraction=f, min_tps_user=T,
                         disaggregated=True, eps=eps, max_gpus=max(eps), weights="fp8", engine=engine)
    best = op["best"]
    if not best.get("disaggregated"):
        raise InfercastError(f"the planner chose aggregated serving on {chip}; the reproduction needs the "
                             "disaggregated point", field="chip")
    pre_s, dec_s = op["prefill_gpu_s"], op["decode_gpu_s"]
    rps = out / 86_400 / O
    gpus = rps * (pre_s + dec_s)
    nodes = gpus / gpn
    cost_day = gpus * 24 * gpu_h
    revenue = (hit * prices["input_cache_hit"] + (inp - hit) * prices["input_cache_miss"] + out * prices["output"]) / 1e6
    cpm = (revenue - cost_day) / cost_day
    dec_ms, pre_ms = _steps(get_model(model), get_chip(chip), best, op["prefill"], I, O, f, engine)
    pub_nodes = _q(d, "average_nodes")
    pub_cpm = _q(d, "cost_profit_margin")
    src = d["window"]["source"]
    notes = [
        f"workload from the published day: input/output = {inp / 1e9:.0f}B / {out / 1e9:.0f}B = {ratio:.2f}; mean "
        f"context while decoding I + O/2 = the published mean KV length {kv:,} -> O = {O:,}, I = {I:,}",
        f"{f:.1%} of input tokens hit the on-disk KV cache (published) and skip prefill compute",
        f"speed per user >= {F.num(T)} tokens/s (published average {speed['low']}-{speed['high']})",
        f"deployment: DeepSeek's expert-parallel groups (EP {', '.join(str(e) for e in eps)}), prefill and decode "
        "disaggregated, FP8 weights; the planner picks the prefill and decode shapes among them",
        f"nodes in use = requests/s x GPU-seconds per request / {gpn} GPUs per node (busy all the time they are held, "
        "as DeepSeek's average occupancy counts them)",
        f"cost at ${gpu_h:g}/GPU-hour and theoretical revenue at R1 prices for every token, as DeepSeek computes them",
    ]
    return DeepSeekDay(
        model=model, chip=get_chip(chip).id, input_len=I, output_len=O,
        workload_derivation="O = mean KV length / (input/output + 1/2); I = O x input/output",
        cached_fraction=f, min_tps_user=T, shape=_shape(best, op["prefill"]),
        prefill_gpu_seconds_per_request=pre_s, decode_gpu_seconds_per_request=dec_s, requests_per_s=rps,
        predicted_nodes=nodes, published_nodes=pub_nodes, nodes_ratio=nodes / pub_nodes,
        predicted_prefill_nodes=rps * pre_s / gpn, predicted_decode_nodes=rps * dec_s / gpn,
        published_prefill_nodes=d["derived"]["implied_prefill_nodes"]["value"],
        published_decode_nodes=d["derived"]["implied_decode_nodes"]["value"],
        cost_per_day_usd=cost_day, published_cost_per_day_usd=_q(d, "cost_per_day_usd"), revenue_per_day_usd=revenue,
        published_revenue_per_day_usd=_q(d, "theoretical_revenue_per_day_usd"), cost_profit_margin=cpm,
        published_cost_profit_margin=pub_cpm, margin_ratio=cpm / pub_cpm, gross_margin=(revenue - cost_day) / revenue,
        published_gross_margin=d["derived"]["gross_margin"]["value"], decode_step_ms=dec_ms, prefill_step_ms=pre_ms,
        notes=notes, sources=[src])


__all__ = ["Margin", "DeepSeekDay", "margin", "deepseek_day", "select_price", "priced_models", "operating_point",
           "check_date", "step_groups"]
