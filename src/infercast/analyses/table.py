"""The essay's table, regenerated: per chip generation, upper bound, lower bound, realistic, market.

Units are the essay's: forward passes (tokens) per chip per second.

* upper, lower, market: `essay.bounds` (FLOP bound on matmul FLOPs, with the essay's 2 x active
  approximation beside it; bandwidth bound at batch 1; a dated $/M-token quote over a $/chip-hour).
* operating point and shape: the planner (`engine.planner.plan`) searches every shape (TP, PP with
  micro-batches, EP with attention data-parallel, disaggregated pools) at the table's precision for
  the highest throughput per GPU, at max throughput or at a tokens/s-per-user target.
* realistic mixed: input + output tokens/s per GPU at that point, the quantity the market figure
  prices; with its tokens/s per user beside it.
* realistic prefill: input tokens/s per GPU of the shape that prefills fastest (full steps of
  prompts, `disagg.prefill_rate`); realistic decode: output tokens/s per GPU when the chosen shape
  only decodes at the point's batch (`disagg.decode_tpot`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from infercast.analyses.essay import bounds
from infercast.engine.disagg import decode_tpot, prefill_rate
from infercast.engine.memory import weight_bytes_per_gpu
from infercast.engine.planner import Space, Targets, Workload, plan
from infercast.engine.step import deployment
from infercast.errors import InfercastError
from infercast.specs.hardware import get_chip
from infercast.specs.model import get_model

ESSAY_GENERATIONS = ["a100-sxm-80gb", "h100-sxm", "h200-sxm", "b200", "b300", "gb200", "gb300"]
MAX_GPUS = 256  # per replica: a GPT-4-class model at 16-bit needs 100+ GPUs of 80 GB


@dataclass(frozen=True)
class Row:
    chip: str
    year: int
    precision: str
    compute_precision: str
    tp: int
    pp: int
    ep: int
    dp: int
    gpus: int
    weights_gb_per_gpu: float
    concurrency: float
    operating_point: str
    upper: float
    essay_upper: float
    lower: float
    realistic_prefill: float
    realistic_decode: float
    realistic_mixed: float
    market: float | None
    market_source: str | None
    tokens_per_s_per_user: float
    disaggregated: str | None = None
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Table:
    model: str
    precision: str
    input_len: int
    output_len: int
    operating_point: str
    rows: list[Row]
    method: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def row(model, chip, precision: str = "bf16", input_len: int = 7680, output_len: int = 512,
        min_tokens_per_s_per_user: float | None = None, engine: str | None = None) -> Row:
    m, c = get_model(model), get_chip(chip)
    b = bounds(m, c, precision)
    targets = Targets(min_tps_user=min_tokens_per_s_per_user)
    p = plan(m, c, Workload(input_len, output_len), targets,
             Space(precisions=(precision,), max_gpus=MAX_GPUS, engine=engine, disaggregated=True),
             frontiers=False)
    best = p.best
    if best is None:
        raise InfercastError(f"{m.id} on {c.id}: no shape reaches {min_tokens_per_s_per_user:g} tokens/s per user at "
                             f"{precision}; lower the target", field="min_tps_user")
    dep = deployment(m, c, tp=best["tp"], pp=best["pp"], ep=best["ep"], weights=precision, engine=engine)
    I, O = float(input_len), float(output_len)
    prefill = p.best_prefill["input_tok_s_per_gpu"] if p.best_prefill else float(prefill_rate(dep, I)[0]) * I / dep.gpus
    conc = float(best["concurrency"])
    decode = conc / float(decode_tpot(dep, conc, I + O / 2)) / dep.gpus
    mixed = best["output_tok_s_per_gpu"] + best["input_tok_s_per_gpu"]
    op = f">= {min_tokens_per_s_per_user:g} tokens/s per user" if targets.any else "max throughput"
    notes = list(b.notes) + [f"planner: best of {p.n:,} configurations (shapes up to {MAX_GPUS} GPUs, concurrency) "
                             f"at {op}: tp {dep.tp} x pp {dep.pp}" + (f", ep {dep.ep} (attention dp {dep.attn_dp})"
                                                                       if dep.ep > 1 else "") +
                             (f"; {best['disaggregated']}" if best["disaggregated"] else "")]
    return Row(chip=c.id, year=c.year, precision=precision, compute_precision=b.compute_precision,
               tp=dep.tp, pp=dep.pp, ep=dep.ep, dp=dep.attn_dp, gpus=dep.gpus,
               weights_gb_per_gpu=float(weight_bytes_per_gpu(dep)) / 1e9, concurrency=conc, operating_point=op,
               upper=b.upper_forward_passes_per_s, essay_upper=b.essay_upper_forward_passes_per_s,
               lower=b.lower_forward_passes_per_s, realistic_prefill=prefill, realistic_decode=decode,
               realistic_mixed=mixed, market=b.market_forward_passes_per_s, market_source=b.market_source,
               tokens_per_s_per_user=best["tokens_per_s_per_user"], disaggregated=best["disaggregated"],
               notes=tuple(notes))


def essay_table(model="gpt-4", chips=None, precision: str = "bf16", input_len: int = 7680, output_len: int = 512,
                min_tokens_per_s_per_user: float | None = None, engine: str | None = None) -> Table:
    m = get_model(model)
    rows = [row(m, c, precision, input_len, output_len, min_tokens_per_s_per_user, engine)
            for c in (chips or ESSAY_GENERATIONS)]
    op = (f"{input_len:,} prompt + {output_len:,} generated tokens; "
          + (f"best throughput with >= {min_tokens_per_s_per_user:g} tokens/s per user" if min_tokens_per_s_per_user
             else "best throughput (max throughput)"))
    method = [
        "upper = peak FLOP/s / matmul FLOPs per token (essay: / 2 x active parameters); lower = HBM bandwidth / "
        "active weight bytes (batch 1)",
        f"shape and batch: the planner's best over TP, PP, EP/attention-DP and disaggregated prefill/decode pools, "
        f"up to {MAX_GPUS} GPUs per replica",
        "realistic prefill: prompts only, on the shape that prefills fastest; realistic decode: decode only on the "
        "chosen shape at the point's batch; "
        "realistic mixed: the point itself, input + output tokens per GPU-second, with its tokens/s per user",
        "market: $/M tokens quote / $/chip-hour (essay.bounds); only where a dated quote exists",
    ]
    return Table(model=m.id, precision=precision, input_len=input_len, output_len=output_len, operating_point=op,
                 rows=rows, method=method)


__all__ = ["Row", "Table", "essay_table", "row", "ESSAY_GENERATIONS"]
