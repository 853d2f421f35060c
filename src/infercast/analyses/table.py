"""The essay's table, regenerated: per chip generation, upper bound, lower bound, realistic, market.

Units are the essay's: forward passes (tokens) per chip per second.

* upper, lower, market: `essay.bounds` (FLOP bound; bandwidth bound at batch 1; a dated
  $/M-token quote over a $/chip-hour, where one exists for the model and chip).
* shape: the smallest TP x PP (TP inside the scale-up domain, PP in powers of two) whose weights
  take at most half of each GPU's memory, leaving the rest for the KV cache. For GPT-4 on A100
  that is 8 x 16 = 128 GPUs, SemiAnalysis' cluster.
* realistic prefill: input tokens/s per GPU when the replica only prefills, 8,192 prompt tokens
  per micro-batch (`serving.prefill_time`; pipeline stages overlapped, one stage step per micro-batch).
* realistic decode: output tokens/s per GPU when it only decodes, at the operating point's batch
  (`serving.static_batch` decode step, mean context I + O/2).
* realistic mixed: input + output tokens/s per GPU in steady-state continuous batching at the
  operating point (`serving.continuous`), the quantity the market figure prices.
* operating point: the largest batch that fits at the stated context (max throughput), or the
  largest meeting a tokens/s-per-user target when one is given.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from infercast.analyses.essay import bounds
from infercast.errors import InfercastError
from infercast.analyses.frontier import shapes
from infercast.specs.hardware import get_chip
from infercast.engine.memory import weight_bytes_per_gpu
from infercast.specs.model import get_model
from infercast.engine.step import deployment
from infercast.engine.serving import best_under_latency, continuous, max_concurrency, prefill_time, static_batch

ESSAY_GENERATIONS = ["a100-sxm-80gb", "h100-sxm", "h200-sxm", "b200", "b300", "gb200", "gb300"]
PREFILL_CHUNK = 8192  # prompt tokens per prefill micro-batch (TensorRT-LLM's default max_num_tokens)
WEIGHT_FRACTION = 0.5  # weights may take at most this share of HBM when picking the shape


@dataclass(frozen=True)
class Row:
    chip: str
    year: int
    precision: str
    compute_precision: str
    tp: int
    pp: int
    gpus: int
    weights_gb_per_gpu: float
    concurrency: float
    operating_point: str
    upper: float
    lower: float
    realistic_prefill: float
    realistic_decode: float
    realistic_mixed: float
    market: float | None
    market_source: str | None
    tokens_per_s_per_user: float
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


def smallest_shape(model, chip, precision: str, engine: str | None = None):
    """Smallest TP x PP (ties: less PP) whose weights are at most WEIGHT_FRACTION of HBM per GPU."""
    m, c = get_model(model), get_chip(chip)
    cand = sorted({(t, p) for (t, p, e) in shapes(m, c, max_gpus=1024) if e == 1}, key=lambda s: (s[0] * s[1], s[1]))
    for t, p in cand:
        dep = deployment(m, c, tp=t, pp=p, weights=precision, engine=engine)
        if float(weight_bytes_per_gpu(dep)) <= WEIGHT_FRACTION * c.memory_bytes:
            return dep
    raise InfercastError(f"{m.id} at {precision} does not fit on {c.id} with up to {cand[-1][0]} x {cand[-1][1]} GPUs")


def row(model, chip, precision: str = "bf16", input_len: int = 7680, output_len: int = 512,
        min_tokens_per_s_per_user: float | None = None, engine: str | None = None) -> Row:
    m, c = get_model(model), get_chip(chip)
    dep = smallest_shape(m, c, precision, engine)
    b = bounds(m, c, precision)
    cmax, lim = max_concurrency(dep, input_len, output_len)
    conc, op = float(cmax), f"max throughput ({lim})"
    if min_tokens_per_s_per_user:
        cc = best_under_latency(dep, input_len, output_len, tpot_max=1.0 / min_tokens_per_s_per_user)
        if cc is None:
            raise InfercastError(f"{m.id} on {dep.gpus} x {c.id}: no batch reaches {min_tokens_per_s_per_user:g} "
                                 "tokens/s per user; lower --min-tps")
        conc, op = float(cc), f">= {min_tokens_per_s_per_user:g} tokens/s per user"
    dec = static_batch(dep, input_len, output_len, conc)
    decode = conc / float(dec["tpot_s"]) / dep.gpus
    seqs = max(1.0, PREFILL_CHUNK / input_len)
    _, st = prefill_time(dep, input_len, seqs)
    prefill = seqs * input_len / float(st["total"]) / dep.gpus
    r = continuous(dep, input_len, output_len, conc)
    mixed = float(r["output_tok_s_per_gpu"] + r["input_tok_s_per_gpu"])
    notes = list(b.notes)
    notes.append(f"{m.id} at {precision}: {m.weight_bytes(precision) / 1e9:,.0f} GB of weights; smallest TP x PP "
                 f"with weights <= {WEIGHT_FRACTION:.0%} of HBM: {dep.tp} x {dep.pp} = {dep.gpus} GPUs")
    return Row(chip=c.id, year=c.year, precision=precision, compute_precision=b.compute_precision,
               tp=dep.tp, pp=dep.pp, gpus=dep.gpus, weights_gb_per_gpu=float(weight_bytes_per_gpu(dep)) / 1e9,
               concurrency=conc, operating_point=op, upper=b.upper_forward_passes_per_s,
               lower=b.lower_forward_passes_per_s, realistic_prefill=prefill, realistic_decode=decode,
               realistic_mixed=mixed, market=b.market_forward_passes_per_s, market_source=b.market_source,
               tokens_per_s_per_user=float(r["tokens_per_s_per_user"]), notes=tuple(notes))


def essay_table(model="gpt-4", chips=None, precision: str = "bf16", input_len: int = 7680, output_len: int = 512,
                min_tokens_per_s_per_user: float | None = None, engine: str | None = None) -> Table:
    m = get_model(model)
    rows = [row(m, c, precision, input_len, output_len, min_tokens_per_s_per_user, engine)
            for c in (chips or ESSAY_GENERATIONS)]
    op = (f"{input_len:,} prompt + {output_len:,} generated tokens; "
          + (f"largest batch with >= {min_tokens_per_s_per_user:g} tokens/s per user" if min_tokens_per_s_per_user
             else "largest batch that fits (max throughput)"))
    method = [
        "upper = peak FLOP/s / (2 x active parameters); lower = HBM bandwidth / active weight bytes (batch 1)",
        f"shape: smallest TP x PP whose weights take <= {WEIGHT_FRACTION:.0%} of HBM per GPU (TP within the scale-up domain)",
        f"realistic prefill: prefill only, {PREFILL_CHUNK:,} prompt tokens per micro-batch",
        "realistic decode: decode only at the operating point's batch; realistic mixed: continuous batching, "
        "input + output tokens per GPU-second",
        "market: $/M tokens quote / $/chip-hour (essay.bounds); only where a dated quote exists",
    ]
    return Table(model=m.id, precision=precision, input_len=input_len, output_len=output_len, operating_point=op,
                 rows=rows, method=method)


__all__ = ["Row", "Table", "essay_table", "row", "smallest_shape", "ESSAY_GENERATIONS"]
