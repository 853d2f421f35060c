"""Measure one device's ceilings (copy bandwidth, GEMM rates, attention, launch costs) into a profile.

The profile is the format `efficiency.efficiency_for(chip, profile)` reads (shared/data/profiles/,
documented in docs/calibration.md). PyTorch is optional (`pip install 'infercast[gpu]'`): it is
imported only inside the functions here, and a missing install is a one-line `InfercastError`.

Timing: CUDA events on a GPU, `time.perf_counter` on the CPU; every figure is the median of repeats.
On the CPU (`device='cpu'`) the same code runs at tiny sizes so that tests finish in seconds.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import platform
import re
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from infercast.errors import InfercastError

NO_TORCH = "PyTorch is not installed: pip install 'infercast[gpu]' (or torch==2.13.0 for the CPU build)"

GiB = 1 << 30
MiB = 1 << 20

# Device name (as torch reports it) -> catalog chip id. Checked in order, first match wins, so the
# more specific names come first (GB200 before B200, H200 NVL before H200, H100 PCIe before H100).
# A `None` id means "known, but not in the catalog".
CATALOG_IDS: list[tuple[str, str | None]] = [
    ("GH200", "gh200"),
    ("GB300", "gb300"),
    ("GB200", "gb200"),
    ("B300", "b300"),
    ("B200", "b200"),
    ("H200 NVL", "h200-nvl"),
    ("H200", "h200-sxm"),
    ("H100 NVL", None),
    ("H100 PCIE", "h100-pcie"),
    ("H100 80GB HBM3", "h100-sxm"),
    ("H100 SXM", "h100-sxm"),
    ("H100", "h100-sxm"),
    ("A100 SXM4 80GB", "a100-sxm-80gb"),
    ("A100 SXM 80GB", "a100-sxm-80gb"),
    ("L40S", "l40s"),
    ("RTX PRO 6000", "rtx-pro-6000"),
    ("RTX 5090", "rtx-5090"),
    ("RTX 4090", "rtx-4090"),
    ("MI355X", "mi355x"),
    ("MI325X", "mi325x"),
    ("MI300X", "mi300x"),
    ("MI250X", "mi250x"),
    ("ARC PRO B60", "arc-pro-b60"),
]


def catalog_id(device_name: str | None) -> str | None:
    """The catalog chip id of a device name such as 'NVIDIA H100 80GB HBM3'; None when unknown or CPU."""
    if not device_name:
        return None
    key = re.sub(r"\((R|TM)\)", "", device_name.upper())
    key = re.sub(r"[\s_\-]+", " ", key)
    for pattern, cid in CATALOG_IDS:  # whole words only: 'H100' must not match 'GH100'
        if re.search(rf"(?<![A-Z0-9]){re.escape(pattern)}(?![A-Z0-9])", key):
            return cid
    return None


# ---------------------------------------------------------------------------------------- torch
def require_torch():
    """The `torch` module, or a clear InfercastError (CLI: exit 2, no traceback) when it is missing."""
    try:
        import torch  # noqa: PLC0415
    except ImportError:
        raise InfercastError(NO_TORCH) from None
    return torch


def resolve_device(torch, device: str | None):
    """`torch.device` for 'cuda' / 'cuda:N' / 'cpu', with a clear error when no GPU is visible."""
    name = (device or "cuda").strip().lower()
    if name in ("gpu", "rocm"):
        name = "cuda"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            why = "this PyTorch build has no CUDA/ROCm support" if not (torch.version.cuda or torch.version.hip) \
                else "no GPU is visible (check the driver and CUDA_VISIBLE_DEVICES)"
            raise InfercastError(f"--device {name}: {why} (torch {torch.__version__}); "
                                 "use --device cpu to run the same code at tiny sizes")
        dev = torch.device(name)
        if dev.index is None:  # torch >= 2.11's set_device / mem_get_info refuse a CUDA device without an index
            dev = torch.device("cuda", torch.cuda.current_device())
        if dev.index >= torch.cuda.device_count():
            raise InfercastError(f"--device {name}: only {torch.cuda.device_count()} GPU(s) visible; "
                                 "use --device cuda:0")
        return dev
    if name == "cpu":
        return torch.device("cpu")
    raise InfercastError(f"--device '{device}': use cuda (a GPU) or cpu")


def _driver_version() -> str | None:
    try:
        r = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                           capture_output=True, text=True, timeout=10)
        if r.returncode == 0 and r.stdout.strip():
            return r.stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def device_info(torch, dev) -> dict[str, Any]:
    """Name, catalog id, driver and software versions of the device."""
    info: dict[str, Any] = {"torch": torch.__version__}
    if dev.type == "cuda":
        props = torch.cuda.get_device_properties(dev)
        name = props.name
        info["device"] = name
        info["catalog_id"] = catalog_id(name)
        info["device_type"] = "cuda"
        info["memory_gb"] = round(props.total_memory / 1e9, 2)
        info["sm_count"] = props.multi_processor_count
        if torch.version.hip:
            info["rocm"] = torch.version.hip
            info["capability"] = getattr(props, "gcnArchName", None)
            info["software"] = f"torch {torch.__version__}, ROCm {torch.version.hip}"
            info["driver"] = None
        else:
            info["cuda"] = torch.version.cuda
            info["capability"] = f"{props.major}.{props.minor}"
            info["software"] = f"torch {torch.__version__}, CUDA {torch.version.cuda}"
            drv = _driver_version()
            if drv is None:
                try:
                    v = torch._C._cuda_getDriverVersion()  # CUDA driver API version, e.g. 12080
                    drv = f"CUDA driver API {v // 1000}.{(v % 1000) // 10}"
                except Exception:  # noqa: BLE001 - informational only
                    drv = None
            info["driver"] = drv
    else:
        info["device"] = f"CPU {platform.processor() or platform.machine()} ({torch.get_num_threads()} threads)"
        info["catalog_id"] = None
        info["device_type"] = "cpu"
        info["software"] = f"torch {torch.__version__}, CPU"
        info["cuda"] = None
        info["driver"] = None
    return info


# ---------------------------------------------------------------------------------------- timing
class Timer:
    """Median milliseconds of a callable: CUDA events on a GPU, perf_counter on the CPU."""

    def __init__(self, torch, dev):
        self.torch, self.dev = torch, dev
        self.cuda = dev.type == "cuda"

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize(self.dev)

    def ms(self, fn: Callable[[], Any], repeats: int, warmup: int = 2, inner: int = 1) -> float:
        """Median over `repeats` of the time of `inner` back-to-back calls, divided by `inner`."""
        for _ in range(warmup):
            fn()
        self.sync()
        times = []
        if self.cuda:
            ev = [(self.torch.cuda.Event(enable_timing=True), self.torch.cuda.Event(enable_timing=True))
                  for _ in range(repeats)]
            for a, b in ev:
                a.record()
                for _ in range(inner):
                    fn()
                b.record()
            self.sync()
            times = [a.elapsed_time(b) / inner for a, b in ev]
        else:
            for _ in range(repeats):
                t0 = time.perf_counter()
                for _ in range(inner):
                    fn()
                times.append((time.perf_counter() - t0) * 1e3 / inner)
        return statistics.median(times)


def graphed(torch, dev, fn: Callable[[], Any]) -> Callable[[], Any]:
    """Capture `fn` in a CUDA graph (after warm-up on a side stream); returns the replay callable."""
    s = torch.cuda.Stream(dev)
    s.wait_stream(torch.cuda.current_stream(dev))
    with torch.cuda.stream(s):
        for _ in range(2):
            fn()
    torch.cuda.current_stream(dev).wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()

    def replay():
        g.replay()

    replay.graph = g
    return replay


# ---------------------------------------------------------------------------------------- sizes
@dataclass
class Sizes:
    copy_bytes: int
    gemm_nk: int
    gemm_m: list[int]
    fp8_m: list[int]
    shape_m: list[int]
    shape_div: int  # model shapes divided by this (CPU: tiny)
    prefill: list[tuple[int, int, int, int]]  # (batch, heads, seq, head_dim)
    decode: list[tuple[int, int, int, int, int]]  # (batch, kv_heads, group, context, head_dim)
    launch_kernels: int
    repeats: int
    moe_tokens: list[int] = field(default_factory=list)  # tokens entering one routed-expert layer
    notes: list[str] = field(default_factory=list)


def plan_sizes(dev_type: str, quick: bool, free_bytes: int | None = None) -> Sizes:
    if dev_type == "cpu":
        return Sizes(copy_bytes=16 * MiB, gemm_nk=256, gemm_m=[1, 2, 4, 8, 16, 32, 64, 128, 256], fp8_m=[],
                     shape_m=[1, 16, 64], shape_div=16,
                     prefill=[(1, 4, 128, 64), (1, 4, 256, 64)],
                     decode=[(2, 2, 4, 128, 64), (2, 2, 4, 1024, 64)],
                     launch_kernels=200, repeats=5 if quick else 9, moe_tokens=[1, 8, 32])
    ms = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]
    copy = 1 * GiB if quick else 4 * GiB
    if free_bytes is not None:  # source + destination must fit with room to spare
        while copy > 64 * MiB and 2 * copy > 0.6 * free_bytes:
            copy //= 2
    s = Sizes(copy_bytes=copy, gemm_nk=8192,
              gemm_m=[1, 16, 64, 256, 1024, 4096] if quick else ms,
              fp8_m=[16, 64, 256, 1024, 4096] if quick else [m for m in ms if m >= 16],
              shape_m=[1, 32, 256, 2048] if quick else [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096],
              shape_div=1,
              # attention from latency-bound to bandwidth- or compute-bound sizes (kernels.profile interpolates)
              prefill=[(1, 32, 4096, 128)] if quick else [(1, 32, 256, 128), (1, 32, 512, 128), (1, 32, 1024, 128),
                                                          (1, 32, 2048, 128), (1, 32, 4096, 128),
                                                          (1, 32, 8192, 128), (4, 32, 4096, 128)],
              decode=[(32, 8, 4, 4096, 128)] if quick else [(1, 8, 4, 256, 128), (1, 8, 4, 1024, 128),
                                                            (1, 8, 4, 4096, 128), (8, 8, 4, 1024, 128),
                                                            (32, 8, 4, 1024, 128), (128, 8, 4, 1024, 128),
                                                            (32, 8, 4, 4096, 128), (16, 8, 4, 16384, 128),
                                                            (8, 8, 4, 65536, 128)],
              launch_kernels=2000, repeats=10 if quick else 25,
              # from one decode token (a few experts' weights) to a prefill chunk (every expert compute-bound)
              moe_tokens=[1, 4, 16, 64, 256, 1024, 4096] if quick else
              [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384])
    if copy < (1 * GiB if quick else 4 * GiB):
        s.notes.append(f"copy buffer reduced to {copy / GiB:.2f} GiB to fit free memory")
    return s


# ---------------------------------------------------------------------------------------- measurements
def measure_copy(torch, dev, timer: Timer, nbytes: int, repeats: int) -> dict:
    n = nbytes // 2
    src = torch.empty(n, dtype=torch.bfloat16, device=dev).fill_(1.0)
    dst = torch.empty_like(src)
    ms = timer.ms(lambda: dst.copy_(src), repeats=repeats, warmup=3)
    del src, dst
    return {"copy_bytes": nbytes, "copy_ms": float(f"{ms:.5g}"), "copy_gbps": round(2 * nbytes / (ms * 1e-3) / 1e9, 1)}


def _gemm_row(dtype: str, M: int, N: int, K: int, ms: float, **extra) -> dict:
    row = {"dtype": dtype, "M": M, "N": N, "K": K, "ms": float(f"{ms:.5g}"),
           "tflops": float(f"{2.0 * M * N * K / (ms * 1e-3) / 1e12:.4g}")}
    row.update(extra)
    return row


def _gemm_time(torch, dev, timer: Timer, M: int, N: int, K: int, dtype, repeats: int) -> float:
    """[M,K] @ [K,N] with three weight buffers rotated, so that the cache does not hold the weight."""
    ws = [torch.randn(K, N, dtype=dtype, device=dev) for _ in range(3)]
    x = torch.randn(M, K, dtype=dtype, device=dev)
    out = torch.empty(M, N, dtype=dtype, device=dev)

    def three():
        for w in ws:
            torch.matmul(x, w, out=out)

    ms = timer.ms(three, repeats=repeats, warmup=2) / 3
    del ws, x, out
    return ms


def fp8_support(torch, dev) -> tuple[Any, str | None]:
    """(fp8 dtype, None) where torch._scaled_mm can run, else (None, reason)."""
    if dev.type != "cuda":
        return None, "fp8 GEMM skipped: CPU"
    if not hasattr(torch, "_scaled_mm"):
        return None, "fp8 GEMM skipped: this torch has no torch._scaled_mm"
    if torch.version.hip:
        arch = getattr(torch.cuda.get_device_properties(dev), "gcnArchName", "")
        if "gfx94" in arch:
            return torch.float8_e4m3fnuz, None
        if "gfx95" in arch:
            return torch.float8_e4m3fn, None
        return None, f"fp8 GEMM skipped: ROCm arch {arch or '?'} has no fp8 matrix cores"
    cap = torch.cuda.get_device_capability(dev)
    if cap < (8, 9):
        return None, f"fp8 GEMM skipped: CUDA capability {cap[0]}.{cap[1]} < 8.9"
    return torch.float8_e4m3fn, None


def _fp8_time(torch, dev, timer: Timer, M: int, N: int, K: int, f8, repeats: int) -> float:
    # _scaled_mm wants A row-major [M,K] and B column-major [K,N]: B = W.t() with W [N,K] contiguous
    ws = [torch.randn(N, K, device=dev, dtype=torch.bfloat16).to(f8).t() for _ in range(3)]
    x = torch.randn(M, K, device=dev, dtype=torch.bfloat16).to(f8)
    one = torch.ones((), device=dev, dtype=torch.float32)

    def three():
        for w in ws:
            torch._scaled_mm(x, w, scale_a=one, scale_b=one, out_dtype=torch.bfloat16)

    ms = timer.ms(three, repeats=repeats, warmup=2) / 3
    del ws, x
    return ms


def model_gemm_shapes(model: str = "llama-3-8b", div: int = 1) -> list[tuple[str, int, int]]:
    """(name, N, K) of the weight matrices of one decoder layer plus lm_head (fused QKV, fused gate+up)."""
    from infercast.specs.model import get_model

    m = get_model(model)
    d, hd = m.d_model, m.head_dim

    def r(x: int) -> int:
        return max(16, (x // div) // 16 * 16)

    shapes = [("qkv", (m.heads + 2 * m.kv_heads) * hd, d), ("o", d, m.heads * hd)]
    if m.mlp == "gated":
        shapes += [("gate_up", 2 * m.d_ff, d), ("down", d, m.d_ff)]
    else:
        shapes += [("up", m.d_ff, d), ("down", d, m.d_ff)]
    shapes.append(("lm_head", m.vocab, d))
    return [(f"{model} {n}", r(N), r(K)) for n, N, K in shapes]


def model_moe_shapes(model: str, div: int = 1) -> list[tuple[str, int, int, int, int, bool]]:
    """(name, hidden, expert inter size, top-k, experts, gated) of a catalog model's routed experts; [] if dense."""
    from infercast.specs.model import get_model

    m = get_model(model)
    if not m.moe:
        return []
    r = (lambda x: max(16, (x // div) // 16 * 16))
    return [(f"{model} experts", r(m.d_model), r(m.moe.expert_d_ff), m.moe.active, m.moe.experts, m.mlp == "gated")]


def measure_moe(torch, dev, timer: Timer, shapes, tokens: list[int], repeats: int, dtype) -> list[dict]:
    """One routed-expert layer (`gpu.moe.RoutedExperts`: top-k, permutation, two grouped GEMMs, combine; the router
    GEMM computed beforehand, outside the timing) per shape and token count, in a CUDA graph on a GPU. The routing is
    a random router's over random inputs: close to uniform."""
    from infercast.gpu.moe import RoutedExperts

    rows = []
    for name, d, ff, k, E, gated in shapes:
        layer = RoutedExperts(torch, dev, dtype, d, ff, E, k, gated)
        for T in tokens:
            x = torch.randn(T, d, device=dev, dtype=dtype)
            logits = torch.nn.functional.linear(x, layer.router)
            fn = (lambda x=x, logits=logits: layer(x, logits))
            if dev.type == "cuda":
                fn = graphed(torch, dev, fn)
            ms = timer.ms(fn, repeats=repeats, warmup=3)
            flops = 2.0 * (3 if gated else 2) * d * ff * T * k
            rows.append({"shape": name, "dtype": "bf16", "hidden": d, "inter": ff, "topk": k, "experts": E,
                         "gated": gated, "tokens": T, "ms": round(ms, 6),
                         "tflops": round(flops / (ms * 1e-3) / 1e12, 3)})
            del fn, x, logits
        del layer
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return rows


def measure_attention_prefill(torch, dev, timer: Timer, cfgs, repeats: int, dtype) -> list[dict]:
    F = torch.nn.functional
    rows = []
    for B, H, S, D in cfgs:
        q = torch.randn(B, H, S, D, dtype=dtype, device=dev)
        k, v = torch.randn_like(q), torch.randn_like(q)
        ms = timer.ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), repeats=repeats)
        flops = 4.0 * B * H * S * S * D / 2  # QK^T and AV, causal: half the square
        rows.append({"batch": B, "heads": H, "seq": S, "head_dim": D, "ms": float(f"{ms:.5g}"),
                     "tflops": float(f"{flops / (ms * 1e-3) / 1e12:.4g}")})
        del q, k, v
    return rows


def measure_attention_decode(torch, dev, timer: Timer, cfgs, repeats: int, dtype) -> list[dict]:
    """One query token per sequence against `context` cached tokens; a KV group's query heads are
    laid out as query positions (as in `infercast measure`), so GQA reads each KV head once."""
    F = torch.nn.functional
    rows = []
    esize = torch.empty((), dtype=dtype).element_size()
    for B, KV, G, C, D in cfgs:
        q = torch.randn(B, KV, G, D, dtype=dtype, device=dev)
        k = torch.randn(B, KV, C, D, dtype=dtype, device=dev)
        v = torch.randn_like(k)
        ms = timer.ms(lambda: F.scaled_dot_product_attention(q, k, v), repeats=repeats)
        kv_bytes = 2 * B * KV * C * D * esize
        rows.append({"batch": B, "kv_heads": KV, "group": G, "context": C, "head_dim": D, "ms": float(f"{ms:.5g}"),
                     "kv_bytes": kv_bytes, "gbps": round(kv_bytes / (ms * 1e-3) / 1e9, 1)})
        del q, k, v
    return rows


def measure_launch(torch, dev, timer: Timer, n: int, repeats: int) -> dict:
    """Per-kernel cost of a tiny kernel launched eagerly, and replayed from a CUDA graph."""
    x = torch.zeros(1, device=dev)

    def eager():
        for _ in range(n):
            x.add_(1.0)

    launch_ms = timer.ms(eager, repeats=max(3, repeats // 3), warmup=1)
    out = {"launch_us": round(launch_ms * 1e3 / n, 3)}
    if dev.type == "cuda":
        s = torch.cuda.Stream(dev)
        s.wait_stream(torch.cuda.current_stream(dev))
        with torch.cuda.stream(s):
            x.add_(1.0)
        torch.cuda.current_stream(dev).wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            for _ in range(n):
                x.add_(1.0)
        graph_ms = timer.ms(g.replay, repeats=repeats, warmup=2)
        out["graph_kernel_us"] = round(graph_ms * 1e3 / n, 3)
        del g
    else:  # no graphs on the CPU: each "kernel" is an eager op
        out["graph_kernel_us"] = out["launch_us"]
    return out


def _smi(torch, dev) -> dict:
    """SM clock (MHz) and board power (W) now, where NVML answers (nvidia-ml-py); {} elsewhere."""
    out = {}
    for key, fn in (("sm_clock_mhz", "clock_rate"), ("power_w", "power_draw")):
        try:
            v = getattr(torch.cuda, fn)(dev)
            out[key] = round(v / 1000.0, 1) if key == "power_w" else int(v)
        except Exception:  # noqa: BLE001 - no NVML, ROCm, or an older torch: the figure is simply absent
            pass
    return out


def measure_sustained(torch, dev, seconds: float, n: int = 8192, window_s: float = 0.5) -> dict:
    """bf16 n x n x n GEMMs back to back for `seconds`: TFLOP/s per window, with clock and power.

    A short burst (the GEMM rows above) runs at the boost clock; a chip at its power limit clocks down
    in sustained compute-bound work (a long prefill, a saturated server). `ratio` = the last windows'
    rate over the first window's."""
    a = torch.randn(n, n, dtype=torch.bfloat16, device=dev)
    b = torch.randn(n, n, dtype=torch.bfloat16, device=dev)
    c = torch.empty(n, n, dtype=torch.bfloat16, device=dev)
    flop = 2.0 * n ** 3
    torch.matmul(a, b, out=c)
    torch.cuda.synchronize(dev)
    t0 = time.perf_counter()
    ev = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    k = 8
    windows = []
    while time.perf_counter() - t0 < seconds:
        ev[0].record()
        for _ in range(k):
            torch.matmul(a, b, out=c)
        ev[1].record()
        torch.cuda.synchronize(dev)
        ms = ev[0].elapsed_time(ev[1])
        windows.append({"t_s": round(time.perf_counter() - t0, 2), "tflops": round(k * flop / (ms * 1e-3) / 1e12, 1),
                        **_smi(torch, dev)})
        k = max(1, int(window_s * 1e3 * k / ms))
    del a, b, c
    first = windows[0]["tflops"]
    last = statistics.median(w["tflops"] for w in windows[-3:])
    return {"seconds": round(time.perf_counter() - t0, 1), "n": n, "tflops_first": first, "tflops_last": last,
            "ratio": round(last / first, 3), "windows": windows}


# ---------------------------------------------------------------------------------------- driver
def calibrate(device: str | None = "cuda", quick: bool = False,
              progress: Callable[[str, float], None] | None = None, models: tuple[str, ...] = ("llama-3-8b",),
              sustained_s: float = 0.0) -> dict:
    """Measure the device and return a calibration profile (a JSON-ready dict).

    `models`: catalog models whose weight shapes (one decoder layer and lm_head, at TP 1) are timed over M,
    in bf16 and, where the card runs it, fp8; a MoE model's routed-expert layer is timed over the tokens
    entering it (`moe`, bf16, grouped GEMMs, where this PyTorch has them).
    `sustained_s` > 0 (a GPU only) adds `gemm_sustained`: back-to-back
    GEMMs for that long, to see the clock fall at the power limit. `progress(label, fraction_done)` is called
    between steps.
    """
    torch = require_torch()
    dev = resolve_device(torch, device)
    t_start = time.perf_counter()
    info = device_info(torch, dev)
    free = None
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
        free, _ = torch.cuda.mem_get_info(dev)
    sz = plan_sizes(dev.type, quick, free)
    timer = Timer(torch, dev)
    notes = list(sz.notes)
    bf16 = torch.bfloat16
    f8, f8_note = fp8_support(torch, dev)
    if f8_note:
        notes.append(f8_note)
    shapes = []
    for mid in dict.fromkeys(models or ("llama-3-8b",)):
        shapes += [sh for sh in model_gemm_shapes(mid, sz.shape_div) if sh[1:] not in {x[1:] for x in shapes}]

    steps: list[tuple[str, Callable[[], None]]] = []
    prof: dict[str, Any] = {}
    gemm: list[dict] = []
    gemm_shapes: list[dict] = []
    fp8_failed: list[str] = []

    def step_copy():
        prof.update(measure_copy(torch, dev, timer, sz.copy_bytes, sz.repeats))

    steps.append(("copy bandwidth", step_copy))
    nk = sz.gemm_nk
    for M in sz.gemm_m:
        steps.append((f"GEMM bf16 M={M}", lambda M=M: gemm.append(
            _gemm_row("bf16", M, nk, nk, _gemm_time(torch, dev, timer, M, nk, nk, bf16, sz.repeats)))))
    if f8 is not None:
        def fp8_step(M):
            if fp8_failed:
                return
            try:
                gemm.append(_gemm_row("fp8", M, nk, nk, _fp8_time(torch, dev, timer, M, nk, nk, f8, sz.repeats)))
            except (RuntimeError, TypeError) as e:  # an unsupported layout or arch: record and stop trying
                fp8_failed.append(f"fp8 GEMM failed ({str(e).splitlines()[0][:160]}); fp8 rows omitted")
        for M in sz.fp8_m:
            steps.append((f"GEMM fp8 M={M}", lambda M=M: fp8_step(M)))
    for name, N, K in shapes:
        def shape_step(name=name, N=N, K=K):
            reps = max(3, sz.repeats // 2)
            for M in sz.shape_m:
                gemm_shapes.append(_gemm_row("bf16", M, N, K, _gemm_time(torch, dev, timer, M, N, K, bf16, reps),
                                             shape=name))
            if f8 is None or fp8_failed:
                return
            try:  # the same shapes in fp8 (per-tensor scaled, torch._scaled_mm): fp8 checkpoints' linear layers
                for M in sorted({max(16, m) for m in sz.shape_m}):  # cuBLASLt fp8 wants M % 16 == 0
                    gemm_shapes.append(_gemm_row("fp8", M, N, K, _fp8_time(torch, dev, timer, M, N, K, f8, reps),
                                                 shape=name))
            except (RuntimeError, TypeError) as e:
                fp8_failed.append(f"fp8 GEMM failed ({str(e).splitlines()[0][:160]}); fp8 rows omitted")
        steps.append((f"GEMM {name}", shape_step))
    moe_shapes = [sh for mid in dict.fromkeys(models or ()) for sh in model_moe_shapes(mid, sz.shape_div)]
    if moe_shapes:
        from infercast.gpu.moe import grouped_failure

        why_not = grouped_failure(torch, dev, bf16)
        if why_not is None:
            steps.append(("MoE layers", lambda: prof.update(
                moe=measure_moe(torch, dev, timer, moe_shapes, sz.moe_tokens, max(3, sz.repeats // 2), bf16))))
        else:
            notes.append(f"MoE layers not timed: {why_not}")
    steps.append(("attention prefill", lambda: prof.update(
        attention_prefill=measure_attention_prefill(torch, dev, timer, sz.prefill, sz.repeats, bf16))))
    steps.append(("attention decode", lambda: prof.update(
        attention_decode=measure_attention_decode(torch, dev, timer, sz.decode, sz.repeats, bf16))))
    steps.append(("launch overhead", lambda: prof.update(
        measure_launch(torch, dev, timer, sz.launch_kernels, sz.repeats))))
    if dev.type == "cuda" and sustained_s > 0:
        steps.append((f"sustained GEMM ({sustained_s:g} s)", lambda: prof.update(
            gemm_sustained=measure_sustained(torch, dev, sustained_s))))

    with torch.inference_mode():
        for i, (label, fn) in enumerate(steps):
            if progress:
                progress(label, i / len(steps))
            fn()
            if dev.type == "cuda":
                torch.cuda.empty_cache()
    if progress:
        progress("done", 1.0)
    notes += fp8_failed

    gemm.sort(key=lambda r: (r["dtype"] != "bf16", r["dtype"], r["M"]))
    out: dict[str, Any] = {
        "device": info["device"], "catalog_id": info["catalog_id"],
        "measured": dt.date.today().isoformat(), "software": info["software"],
        "torch": info["torch"], "cuda": info.get("cuda"), "driver": info.get("driver"),
    }
    for k in ("rocm", "device_type", "capability", "memory_gb", "sm_count"):
        if k in info:
            out[k] = info[k]
    out["quick"] = quick
    out["copy_gbps"] = prof["copy_gbps"]
    out["copy_bytes"] = prof["copy_bytes"]
    out["gemm"] = gemm
    out["gemm_shapes"] = gemm_shapes
    ap, ad = prof["attention_prefill"], prof["attention_decode"]
    out["attention_prefill_tflops"] = max(r["tflops"] for r in ap)
    out["attention_prefill"] = ap
    out["attention_decode_gbps"] = max(r["gbps"] for r in ad)
    out["attention_decode"] = ad
    if prof.get("moe"):
        out["moe"] = prof["moe"]
        out["moe_routing"] = ("softmax top-k of a random router over random inputs (close to uniform); the router "
                              "GEMM is not timed")
    out["launch_us"] = prof["launch_us"]
    out["graph_kernel_us"] = prof["graph_kernel_us"]
    if "gemm_sustained" in prof:
        out["gemm_sustained"] = prof["gemm_sustained"]
    out["elapsed_s"] = round(time.perf_counter() - t_start, 1)
    if dev.type == "cpu":
        notes.append("CPU run at tiny sizes (copy 16 MiB, GEMM N=K=256, model shapes /16): a smoke test of "
                     "the method, not a chip in the catalog; graph_kernel_us = launch_us (no CUDA graphs)")
    out["notes"] = notes
    return out


def write_profile(profile: dict, path: str | Path) -> Path:
    p = Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(profile, indent=1) + "\n")
    return p


def summary_lines(profile: dict) -> list[str]:
    """A few human lines: the figures `efficiency_for` reads."""
    g = profile.get("gemm", [])
    best = {}
    for r in g:
        best[r["dtype"]] = max(best.get(r["dtype"], 0.0), r["tflops"])
    skinny = [r for r in g if r["M"] <= 64]
    stream = statistics.median(r["N"] * r["K"] * (1 if r["dtype"] == "fp8" else 2) / (r["ms"] * 1e-3) / 1e9
                               for r in skinny) if skinny else math.nan
    lines = [f"device: {profile['device']} (catalog id: {profile.get('catalog_id') or '-'}), {profile['software']}",
             f"copy: {profile['copy_gbps']:,.1f} GB/s (read + write)",
             "GEMM best: " + ", ".join(f"{k} {v:,.1f} TFLOP/s" for k, v in best.items()),
             f"skinny GEMM (M <= 64) weight stream: {stream:,.1f} GB/s (median)",
             f"attention: prefill {profile['attention_prefill_tflops']:,.1f} TFLOP/s, "
             f"decode {profile['attention_decode_gbps']:,.1f} GB/s of KV",
             *([f"MoE layers: {len(moe)} timings of {', '.join(dict.fromkeys(r['shape'] for r in moe))}, "
                f"best {max(r['tflops'] for r in moe):,.1f} TFLOP/s"] if (moe := profile.get("moe")) else []),
             f"launch: {profile['launch_us']:.2f} us eager, {profile['graph_kernel_us']:.2f} us per kernel in a graph",
             *([f"sustained bf16 GEMM: {g['tflops_first']:,.1f} -> {g['tflops_last']:,.1f} TFLOP/s over {g['seconds']:g} s "
                f"(x{g['ratio']:.2f})"] if (g := profile.get("gemm_sustained")) else []),
             f"took {profile.get('elapsed_s', 0):.0f} s"]
    return lines + [f"note: {n}" for n in profile.get("notes", [])]
