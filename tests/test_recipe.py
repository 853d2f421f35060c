"""Launch recipes: every flag, config key and choice a recipe emits is an argument name the engine documents
(data/engine_args.json, each list with the document and version it was read from), and the numbers are the
point's."""
from __future__ import annotations

import json
import math
import shlex

import pytest
from typer.testing import CliRunner

from infercast.analyses.recipe import engine_args, hf_repo, recipe
from infercast.cli import app
from infercast.engine.speculative import speculation
from infercast.errors import InfercastError

DOC = engine_args()


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        out[key] = v
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
    return out


def undocumented(launch) -> list[str]:
    """Every name in the launch that its engine does not document (empty: all documented)."""
    doc = DOC[launch.engine]
    bad = []
    argv = list(launch.argv)
    assert argv[:len(doc["command"])] == doc["command"]
    start = len(doc["command"])
    for i, a in enumerate(argv[start:], start=start):
        if a.startswith("-"):
            if a not in doc["flags"]:
                bad.append(a)
            elif a in doc.get("choices", {}) and argv[i + 1] not in doc["choices"][a]:
                bad.append(f"{a} {argv[i + 1]}")
    if "--speculative-config" in argv:
        cfg = json.loads(argv[argv.index("--speculative-config") + 1])
        bad += [f"speculative_config.{k}" for k in cfg if k not in doc["speculative_config_keys"]]
        if cfg.get("method") not in doc["choices"]["speculative_config.method"]:
            bad.append(f"speculative_config.method {cfg.get('method')}")
    for key, value in _flat(launch.config or {}).items():
        if key not in doc.get("config_keys", []):
            bad.append(key)
        elif key in doc.get("choices", {}) and value not in doc["choices"][key]:
            bad.append(f"{key} {value}")
    return bad


POINTS = [  # (model, point, spec): dense, pipeline, FP8 weights and KV, MoE over TP, attention DP, speculation
    ("llama-3.1-70b", dict(tp=8, pp=1, ep=1, dp=1, precision="bf16", kv="bf16", concurrency=96), None),
    ("llama-3.1-405b", dict(tp=8, pp=2, ep=1, dp=1, precision="fp8", kv="fp8", concurrency=64.5), None),
    ("llama-3.1-70b", dict(tp=1, pp=1, ep=1, dp=1, precision="fp4", kv="fp8", concurrency=40), None),
    ("mixtral-8x7b", dict(tp=4, pp=1, ep=4, dp=1, precision="bf16", kv="bf16", concurrency=128), None),
    ("deepseek-v3", dict(tp=1, pp=1, ep=8, dp=8, precision="fp8", kv="fp8", concurrency=512), None),
    ("deepseek-v3", dict(tp=8, pp=1, ep=8, dp=1, precision="fp8", kv="bf16", concurrency=32,
                         speculative="mtp"), "mtp"),
    ("llama-3.1-70b", dict(tp=4, pp=1, ep=1, dp=1, precision="bf16", kv="bf16", concurrency=16,
                           speculative="eagle3"), "eagle3"),
    ("llama-3.1-70b", dict(tp=4, pp=1, ep=1, dp=1, precision="bf16", kv="bf16", concurrency=16,
                           speculative="eagle"), "eagle"),
    ("llama-3.1-8b", dict(tp=1, pp=1, ep=1, dp=1, precision="bf16", kv="bf16", concurrency=8,
                          speculative="ngram"), "ngram"),
    ("llama-3.1-70b", dict(tp=4, pp=1, ep=1, dp=1, precision="bf16", kv="bf16", concurrency=8,
                           speculative="draft"), "draft"),
    ("gpt-oss-120b", dict(tp=2, pp=1, ep=2, dp=1, precision="fp4", kv="bf16", concurrency=64), None),
]


def _spec(name):
    if name is None:
        return None
    return speculation(name, draft_model="llama-3.1-8b") if name == "draft" else speculation(name)


@pytest.mark.parametrize("model,point,spec", POINTS)
def test_every_emitted_name_is_documented_for_the_engine_version(model, point, spec):
    rec = recipe(model, point, chip="h100-sxm", input_len=1024, output_len=256, replicas=3, spec=_spec(spec))
    assert {x.engine for x in rec.launches} == {"vllm", "sglang", "tensorrt-llm"}
    for launch in rec.launches:
        assert undocumented(launch) == [], launch.command
        assert launch.version == DOC[launch.engine]["version"]
        assert shlex.split(launch.command) == list(launch.argv)  # pastes into a shell as it is


def test_the_check_can_fail():
    """The documented lists tell engines apart: another engine's spelling is refused."""
    rec = recipe("llama-3.1-70b", POINTS[0][1], input_len=1024, output_len=256)
    v, s, t = rec.launches
    assert undocumented(v.__class__(v.engine, v.version, v.argv + ("--tp_size", "8"))) == ["--tp_size"]
    assert undocumented(s.__class__(s.engine, s.version, s.argv + ("--kv-cache-dtype", "fp8"))) == ["--kv-cache-dtype fp8"]
    assert undocumented(t.__class__(t.engine, t.version, t.argv, t.config_file,
                                    {"kv_cache_config": {"dtype": "fp16"}})) == ["kv_cache_config.dtype fp16"]


def test_every_engine_names_its_sources_and_version():
    for name, doc in DOC.items():
        assert doc["version"] and doc["command"] and doc["flags"] and doc["sections"]
        assert all(isinstance(v, str) and len(v) > 20 for v in doc["sources"].values()), name
        assert "https://" in doc["sources"]["flags"] and "commit" in doc["sources"]["flags"]
        assert len(doc["flags"]) == len(set(doc["flags"]))


def test_the_numbers_are_the_points():
    point = dict(tp=1, pp=2, ep=8, dp=8, precision="fp8", kv="fp8", concurrency=238.4)
    v, s, t = recipe("deepseek-v3", point, input_len=1000, output_len=200).launches
    arg = lambda launch, flag: launch.argv[launch.argv.index(flag) + 1]  # noqa: E731
    per_rank = str(math.ceil(238.4 / 8))
    assert arg(v, "--tensor-parallel-size") == "1" and arg(v, "--data-parallel-size") == "8"
    assert arg(v, "--pipeline-parallel-size") == "2" and "--enable-expert-parallel" in v.argv
    assert arg(v, "--max-num-seqs") == per_rank and arg(v, "--max-model-len") == "1200"
    assert arg(s, "--tp-size") == "8" and arg(s, "--dp-size") == "8" and "--enable-dp-attention" in s.argv
    assert arg(s, "--max-running-requests") == "239" and arg(s, "--kv-cache-dtype") == "fp8_e4m3"
    assert arg(t, "--tp_size") == "8" and arg(t, "--ep_size") == "8" and arg(t, "--max_batch_size") == per_rank
    assert t.config["enable_attention_dp"] is True and t.config["kv_cache_config"] == {"dtype": "fp8"}
    assert "enable_attention_dp: true" in t.config_text()
    assert v.argv[2] == s.argv[s.argv.index("--model-path") + 1] == "deepseek-ai/DeepSeek-V3" == hf_repo("deepseek-v3")


def test_fp8_weights_of_a_bf16_checkpoint():
    point = dict(tp=2, pp=1, ep=1, dp=1, precision="fp8", kv="fp8", concurrency=64)
    v, s, t = recipe("llama-3.1-70b", point, input_len=1024, output_len=256).launches
    assert "--quantization" in v.argv and "--quantization" in s.argv
    assert any("checkpoint" in n for n in t.notes)  # TensorRT-LLM reads the precision from the checkpoint


def test_a_disaggregated_point_is_refused():
    with pytest.raises(InfercastError) as e:
        recipe("llama-3.1-70b", dict(tp=1, pp=1, ep=1, dp=1, precision="fp8", kv="fp8", concurrency=8,
                                     disaggregated="prefill tp1; decode tp1"), input_len=1024, output_len=256)
    assert "disaggregated" in str(e.value)


def test_recipes_through_the_cli():
    runner = CliRunner()
    r = runner.invoke(app, ["estimate", "-m", "llama-3.1-70b", "-c", "h100-sxm", "--min-tps-user", "20", "--recipe",
                            "--json"])
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    rec = d["recipe"]
    assert rec["shape"]["tp"] == d["tp"] and rec["shape"]["pp"] == d["pp"] and len(rec["launches"]) == 3
    r = runner.invoke(app, ["size", "-m", "llama-3.1-70b", "-c", "h100-sxm", "--tokens-per-day", "1e9",
                            "--min-tps-user", "30", "--recipe"])
    assert r.exit_code == 0, r.stderr
    assert "vllm serve meta-llama/Llama-3.1-70B" in r.stdout and "trtllm-serve" in r.stdout
    assert "python -m sglang.launch_server" in r.stdout
