"""The web app's JSON API (FastAPI TestClient): every endpoint, the OpenAPI schema, uploads, and 4xx
answers with a message and the field to blame for bad input (never a 500)."""
from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
with warnings.catch_warnings():  # starlette's note about httpx vs httpx2, raised on import
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from infercast import bounds, estimate, get_chip  # noqa: E402
from infercast.engine.planner import Space, Targets, Workload, plan  # noqa: E402
from infercast.engine.speculative import speculation  # noqa: E402
from infercast.web.app import create_app  # noqa: E402

HF = Path(__file__).parent / "data" / "hf"
LLAMA_CFG = HF / "Llama-3.1-8B" / "config.json"
Q = "model=llama-3.1-70b&chip=h100-sxm&chip=b200&tp=4&input_len=1024&output_len=256"


@pytest.fixture(scope="module")
def client():
    # TestClient's Host is "testserver": the app is told to answer to it, as `serve --allow-host` would
    with TestClient(create_app(allowed_hosts=["testserver"])) as c:
        yield c
        assert c.app.state.unexpected_errors == [0]


def test_openapi_schema_lists_the_api(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    for path in ("/api/chips", "/api/models", "/api/bounds", "/api/estimate", "/api/frontier", "/api/cost",
                 "/api/results", "/api/model"):
        assert path in spec["paths"], path
    assert "post" in spec["paths"]["/api/model"]
    params = {p["name"] for p in spec["paths"]["/api/estimate"]["get"]["parameters"]}
    assert {"model", "chip", "weights", "input_len", "output_len", "gpus", "tp", "pp", "ep", "min_tps_user",
            "max_ttft", "max_tpot", "percentile", "spec_method", "spec_tokens", "spec_acceptance", "spec_draft",
            "disaggregated", "max_gpus"} <= params
    from infercast.vocabulary import TERMS

    assert params - {"chip"} <= set(TERMS)  # one vocabulary: every query parameter is a term of it
    assert "EstimateItem" in spec["components"]["schemas"]


def test_openapi_declares_the_error_bodies_the_app_sends(client):
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # FastAPI's default 422 is not sent
    assert set(spec["components"]["schemas"]["ErrorOut"]["properties"]) >= {"detail", "field"}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for code in ("400", "403", "404", "413", "422", "429"):
                ref = op["responses"][code]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorOut"), (method, path, code)
            assert "Retry-After" in op["responses"]["429"]["headers"]


def test_serve_answers_to_the_hosts_it_was_started_with(monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    from infercast.cli import app as cli_app

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    r = CliRunner().invoke(cli_app, ["serve", "--port", str(port), "--allow-host", "box.lan"])
    assert r.exit_code == 0, r.output
    assert seen["host"] == "127.0.0.1" and seen["port"] == port
    assert {"127.0.0.1", "localhost", "[::1]", "box.lan"} <= seen["app"].state.allowed_hosts


def test_catalog_endpoints(client):
    chips = client.get("/api/chips").json()
    ids = {c["id"] for c in chips}
    assert {"h100-sxm", "b200", "mi300x"} <= ids
    h100 = next(c for c in chips if c["id"] == "h100-sxm")
    assert h100["price"]["date"] and h100["sources"]["bandwidth"]
    models = client.get("/api/models").json()
    m = next(x for x in models if x["id"] == "llama-3.1-70b")
    assert 69e9 < m["total_params"] < 72e9 and m["attention"] == "GQA"
    meta = client.get("/api/meta").json()
    assert "fp8" in meta["precisions"] and "vllm" in meta["engines"]
    assert client.get("/api/model/llama-3.1-70b").json()["id"] == "llama-3.1-70b"


def test_bounds_match_the_library(client):
    r = client.get("/api/bounds?" + Q + "&weights=fp8")
    assert r.status_code == 200
    items = r.json()
    assert [i["chip"] for i in items] == ["h100-sxm", "b200"]
    ref = bounds("llama-3.1-70b", "h100-sxm", "fp8")
    b = items[0]["bounds"]
    assert b["upper_forward_passes_per_s"] == pytest.approx(ref.upper_forward_passes_per_s)
    assert b["lower_forward_passes_per_s"] == pytest.approx(ref.lower_forward_passes_per_s)
    assert "TB/s" in items[0]["sources"]["lower"]


def test_fixed_shape_matches_the_library_with_breakdown(client):
    # a fixed shape: the planner picks only the batch (max throughput without targets), at the released dtype
    r = client.get("/api/estimate?" + Q)
    assert r.status_code == 200
    item = r.json()[0]
    pt, e = item["point"], item["estimate"]
    ref = plan("llama-3.1-70b", "h100-sxm", Workload(1024, 256), Targets(),
               Space(precisions=("bf16",), tps=(4,), pps=(1,), eps=(1,), max_gpus=4, points=48), frontiers=False).best
    assert pt["chosen_by"] == "fixed shape" and (pt["tp"], pt["pp"], pt["ep"], pt["precision"]) == (4, 1, 1, "bf16")
    assert pt["output_tok_s_per_gpu"] == pytest.approx(ref["output_tok_s_per_gpu"])
    assert pt["concurrency"] == ref["concurrency"]
    # the breakdown is the library's estimate at that shape and batch: the same numbers
    lib = estimate("llama-3.1-70b", "h100-sxm", tp=4, input_len=1024, output_len=256, concurrency=pt["concurrency"])
    assert e["output_tok_s_per_gpu"] == pytest.approx(lib.output_tok_s_per_gpu) == pytest.approx(pt["output_tok_s_per_gpu"])
    # the largest batch that fits is no better than the planner's batch
    mx = estimate("llama-3.1-70b", "h100-sxm", tp=4, input_len=1024, output_len=256, max_throughput=True)
    assert pt["output_tok_s_per_gpu"] >= mx.output_tok_s_per_gpu * (1 - 1e-9)
    from infercast.engine.step import BOUND_CLASSES

    assert set(e["bound_shares"]) == set(BOUND_CLASSES)
    assert e["operators"] and all(o["provenance"]["source"] in ("profile", "table", "fallback") for o in e["operators"])
    assert e["decode_step_ms"]["mlp"] > 0
    assert e["memory"]["weights_gb"] > 0 and e["batch_limit"] and e["efficiency_source"]
    # a latency target picks a smaller batch
    r2 = client.get("/api/estimate?" + Q + "&min_tps_user=20")
    p2 = r2.json()[0]["point"]
    assert p2["tokens_per_s_per_user"] >= 20 * 0.999 and p2["concurrency"] < pt["concurrency"]
    assert p2["targets"] == ">= 20 tokens/s per user"
    # chips may be comma-separated too
    assert len(client.get("/api/estimate?model=llama-3.1-70b&chip=h100-sxm,b200&tp=4").json()) == 2


def test_frontier_one_curve_per_chip(client):
    r = client.get("/api/frontier?" + Q + "&min_tps_user=30")
    assert r.status_code == 200
    items = r.json()
    assert len(items) == 2
    for f in items:
        pts = f["points"]
        assert len(pts) >= 5 and f["configs"] > len(pts)
        ys = [p["output_tok_s_per_gpu"] for p in pts]
        xs = [p["tokens_per_s_per_user"] for p in pts]
        assert ys == sorted(ys, reverse=True) and xs == sorted(xs)  # a Pareto front
        assert f["best_meeting_targets"]["tokens_per_s_per_user"] >= 30
        assert max(p["gpus"] for p in pts) <= 64  # max_gpus: 64 by default


def test_cost_uses_the_dated_price_and_says_when_missing(client):
    assert get_chip("mi355x").price is None
    r = client.get("/api/cost?" + Q + "&chip=mi355x")
    assert r.status_code == 200
    items = {i["chip"]: i for i in r.json()}
    h = items["h100-sxm"]
    assert h["priced"] and h["price"]["date"]
    assert h["cost"]["usd_per_m_output"] > h["cost"]["usd_per_m_input"] > 0
    assert h["cost"]["usd_per_gpu_hour"] == get_chip("h100-sxm").price.usd_per_hour
    m = items["mi355x"]
    assert not m["priced"] and m["cost"] is None and "no dated $/hour" in m["error"]["detail"]


def test_results_json_and_csv(client):
    r = client.get("/api/results?" + Q)
    assert r.status_code == 200
    d = r.json()
    assert d["model"]["id"] == "llama-3.1-70b" and d["inputs"]["tp"] == 4
    assert {len(d[k]) for k in ("bounds", "estimate", "frontier", "cost")} == {2}
    r = client.get("/api/results.csv?" + Q)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [x["chip"] for x in rows] == ["h100-sxm", "b200"]
    assert float(rows[0]["output_tok_s_per_gpu"]) > 0 and float(rows[0]["usd_per_m_output"]) > 0
    fr = list(csv.DictReader(io.StringIO(client.get("/api/results.csv?table=frontier&" + Q).text)))
    assert {x["chip"] for x in fr} == {"h100-sxm", "b200"} and len(fr) > 10


@pytest.mark.parametrize("query,status,field,needle", [
    ("chip=h100-sxn&tp=4", 404, "chip", "h100-sxm"),  # suggestion
    ("model=gpt-5", 404, "model", "unknown model"),
    ("tp=3", 422, "tp", "does not divide"),
    ("input_len=0", 422, "input_len", "greater than or equal to 1"),
    ("output_len=abc", 422, "output_len", "valid integer"),
    ("weights=fp7", 422, "weights", "unknown precision"),
    ("kv=fp7", 422, "kv", "unknown precision"),
    ("engine=magic", 422, "engine", "unknown engine"),
    ("chip=h100-sxm&tp=1", 422, "tp", "does not fit"),
    ("gpus=6&tp=4", 422, "gpus", "multiple"),
    ("chip=h100-sxm&tp=4&min_tps_user=100000", 422, "min_tps_user", "no batch size meets"),
    ("chip=h100-sxm&min_tps_user=100000", 422, "min_tps_user", "no shape up to 64 GPUs"),
    ("chip=h100-sxm&tp=4&max_tpot=0.000001", 422, "max_tpot", "TPOT <= 0.001 ms"),
    ("pp=4", 422, "pp", "give tp too"),
    ("ep=8", 422, "ep", "give tp too"),
    ("gpus=8", 422, "gpus", "give tp too"),
    ("concurrency=8", 422, "concurrency", "give tp too"),
    ("tp=4&concurrency=8&spec_method=mtp", 422, "concurrency", "speculative decoding"),
    ("tp=4&concurrency=8&disaggregated=true", 422, "concurrency", "disaggregated"),
    ("spec_tokens=3", 422, "spec_tokens", "spec_method"),
    ("spec_acceptance=0.5", 422, "spec_acceptance", "spec_method"),
    ("spec_method=telepathy", 422, "spec_method", "unknown speculative method"),
    ("spec_method=mtp&spec_tokens=17", 422, "spec_tokens", "less than or equal to 16"),
    ("spec_method=mtp&spec_acceptance=1.5", 422, "spec_acceptance", "less than or equal to 1"),
    ("spec_method=draft", 422, "spec_draft", "draft model"),
    ("spec_method=draft&spec_draft=../../etc/passwd", 404, "spec_draft", "unknown model"),
    ("percentile=75", 422, "percentile", "50, 90, 95, 99"),
    ("disaggregated=maybe", 422, "disaggregated", "valid boolean"),
    ("max_gpus=129", 422, "max_gpus", "less than or equal to 128"),
    ("min_tps_user=-1", 422, "min_tps_user", "greater than or equal to"),
    ("min_tps=20", 422, "min_tps", "did you mean min_tps_user"),  # an unknown parameter is never ignored
    ("pipeline=4", 422, "pipeline", "unknown query parameter"),
    ("tp=1&pp=100&model=llama-3.1-8b&chip=h100-sxm", 422, "pp", "layers"),
    ("input_len=100000000", 422, "input_len", "less than or equal to 10000000"),
    ("max_ttft=nan", 422, "max_ttft", "finite"),
    ("chip=", 422, "chip", "at least one chip"),
    ("model=/etc/config.json", 422, "model", "upload"),
    ("model=upload-0123456789ab", 404, "model", "upload the config.json again"),
])
@pytest.mark.parametrize("endpoint", ["/api/estimate", "/api/results"])
def test_bad_input_is_4xx_with_reason_and_field(client, endpoint, query, status, field, needle):
    r = client.get(f"{endpoint}?{query}")
    assert r.status_code == status, r.text
    body = r.json()
    assert needle in body["detail"]
    assert body["field"] == field


def test_unknown_chip_lists_suggestions(client):
    body = client.get("/api/bounds?chip=h100-sxn").json()
    assert "h100-sxm" in body["suggestions"]


def test_one_failing_chip_does_not_hide_the_others(client):
    # llama-3.1-405b at fp8 fits 4 x MI300X (192 GB) but not 4 x L40S (48 GB)
    r = client.get("/api/estimate?model=llama-3.1-405b&chip=mi300x&chip=l40s&tp=4&weights=fp8")
    assert r.status_code == 200
    a, b = r.json()
    assert a["estimate"] is not None and a["error"] is None
    assert b["estimate"] is None and "does not fit" in b["error"]["detail"] and b["error"]["field"] == "tp"
    # a frontier precision the chip has no native rate for runs weight-only there (fp8 weights, 16-bit math)
    f = client.get("/api/frontier?model=llama-3.1-8b&chip=a100-sxm-80gb&chip=h100-sxm&tp=1&weights=fp8").json()
    assert f[0]["points"] and f[1]["points"] and all(p["precision"] == "fp8" for p in f[0]["points"])


def test_results_when_one_chip_fails_and_when_all_do(client):
    # one chip failing keeps the others' results in every section
    r = client.get("/api/results?model=llama-3.1-405b&chip=mi300x&chip=l40s&tp=4&weights=fp8")
    assert r.status_code == 200
    d = r.json()
    est = {i["chip"]: i for i in d["estimate"]}
    assert est["mi300x"]["point"] and est["l40s"]["error"]["field"] == "tp"
    cost = {i["chip"]: i for i in d["cost"]}
    assert cost["mi300x"]["cost"] and "does not fit" in cost["l40s"]["error"]["detail"]
    # every chip failing: 422, with each chip's own reason (the page shows them on the chips' rows)
    r = client.get("/api/results?model=llama-3.1-405b&chip=l40s&chip=rtx-4090&tp=2&weights=bf16")
    assert r.status_code == 422
    body = r.json()
    assert [c["chip"] for c in body["chips"]] == ["l40s", "rtx-4090"]
    assert all("does not fit" in c["detail"] and c["field"] == "tp" for c in body["chips"])
    assert body["field"] == "tp"


def test_planner_chooses_the_shape_by_default(client):
    # no tp: the planner's best shape, precision and batch for the targets, the same as the library's
    q = "model=llama-3.1-70b&chip=h100-sxm&input_len=1024&output_len=256&min_tps_user=30&max_gpus=16"
    item = client.get("/api/estimate?" + q).json()[0]
    pt = item["point"]
    ref = plan("llama-3.1-70b", "h100-sxm", Workload(1024, 256), Targets(min_tps_user=30),
               Space(max_gpus=16, points=32)).best
    assert pt["chosen_by"] == "planner"
    for k in ("precision", "tp", "pp", "ep", "dp", "gpus", "concurrency"):
        assert pt[k] == ref[k], k
    assert pt["output_tok_s_per_gpu"] == pytest.approx(ref["output_tok_s_per_gpu"])
    assert pt["tokens_per_s_per_user"] >= 30
    # the frontier's best point meeting the target is the same point, and cost is priced there
    f = client.get("/api/frontier?" + q).json()[0]
    assert f["best_meeting_targets"]["output_tok_s_per_gpu"] == pytest.approx(pt["output_tok_s_per_gpu"])
    c = client.get("/api/cost?" + q).json()[0]["cost"]
    assert (c["tp"], c["pp"], c["ep"], c["weights"]) == (pt["tp"], pt["pp"], pt["ep"], pt["precision"])
    assert c["tokens_per_s_per_user"] == pytest.approx(pt["tokens_per_s_per_user"], rel=1e-6)
    assert c["operating_point"].startswith("the planner's choice")


def test_gpt4_and_deepseek_v3_on_h100_need_pp_or_ep(client):
    # 1.8 T (GPT-4) and 671 B (DeepSeek-V3) parameters do not fit 8 x 80 GB: the planner spreads them wider
    for model in ("gpt-4", "deepseek-v3"):
        r = client.get(f"/api/results?model={model}&chip=h100-sxm&min_tps_user=20")
        assert r.status_code == 200, r.text
        pt = r.json()["estimate"][0]["point"]
        assert pt["gpus"] > 8 and (pt["pp"] > 1 or pt["ep"] > pt["tp"]), pt
        assert pt["tokens_per_s_per_user"] >= 20
    # a fixed shape with PP and EP wider than TP: attention runs data-parallel over ep / tp groups
    r = client.get("/api/estimate?model=gpt-4&chip=h100-sxm&tp=4&pp=2&ep=16&weights=fp8")
    item = r.json()[0]
    pt = item["point"]
    assert (pt["tp"], pt["pp"], pt["ep"], pt["dp"], pt["gpus"]) == (4, 2, 16, 4, 32)
    assert (item["estimate"]["tp"], item["estimate"]["pp"], item["estimate"]["ep"]) == (4, 2, 16)
    # GPUs in total: replicas of the fixed shape
    pt2 = client.get("/api/estimate?model=gpt-4&chip=h100-sxm&tp=4&pp=2&ep=16&weights=fp8&gpus=64").json()[0]["point"]
    assert pt2["replicas"] == 2 and pt2["output_tok_s_per_gpu"] == pytest.approx(pt["output_tok_s_per_gpu"])


def test_speculative_decoding_and_disaggregation_reach_the_planner(client):
    q = "model=llama-3.1-70b&chip=h100-sxm&min_tps_user=40&max_gpus=8"
    plain = client.get("/api/estimate?" + q).json()[0]["point"]
    spec = client.get("/api/estimate?" + q + "&spec_method=eagle3&spec_tokens=2&spec_acceptance=0.7").json()[0]
    pt = spec["point"]
    s = speculation("eagle3", 2, 0.7)
    assert pt["speculative"] == s.describe() and "2.19 tokens per verify step" in pt["speculative"]  # 1 + 0.7 (1 + 0.7)
    ref = plan("llama-3.1-70b", "h100-sxm", Workload(), Targets(min_tps_user=40),
               Space(max_gpus=8, points=32, speculative=(s,))).best
    assert pt["output_tok_s_per_gpu"] == pytest.approx(ref["output_tok_s_per_gpu"])
    assert pt["output_tok_s_per_gpu"] != pytest.approx(plain["output_tok_s_per_gpu"])
    assert any("without the drafter" in n for n in spec["notes"])  # the breakdown says what it shows
    frontier = client.get("/api/frontier?" + q + "&spec_method=eagle3").json()[0]["points"]
    assert all(p["speculative"] and "eagle3" in p["speculative"] for p in frontier)
    # a draft model is named by its catalog id
    d = client.get("/api/estimate?" + q + "&spec_method=draft&spec_draft=llama-3.1-8b").json()[0]
    assert "draft" in d["point"]["speculative"]
    # disaggregated pools join the search: some frontier points are pools, labelled with both shapes
    f = client.get("/api/frontier?" + q + "&disaggregated=true").json()[0]
    assert any(p["disaggregated"] and "prefill" in p["disaggregated"] for p in f["points"] + [f["max_throughput"]])


def test_percentile_targets_are_checked_at_the_tail(client):
    q = "model=llama-3.1-70b&chip=h100-sxm&tp=4&min_tps_user=30"
    p50 = client.get("/api/estimate?" + q).json()[0]["point"]
    p99 = client.get("/api/estimate?" + q + "&percentile=99").json()[0]["point"]
    assert p99["concurrency"] < p50["concurrency"]  # room for the Poisson spread of requests in flight
    assert "99th percentile" in p99["targets"]
    ref = plan("llama-3.1-70b", "h100-sxm", Workload(), Targets(min_tps_user=30, percentile=99),
               Space(precisions=("bf16",), tps=(4,), pps=(1,), eps=(1,), max_gpus=4, points=48), frontiers=False).best
    assert p99["concurrency"] == ref["concurrency"]


def test_fixed_concurrency_says_when_it_misses_the_targets(client):
    item = client.get("/api/estimate?model=llama-3.1-70b&chip=h100-sxm&tp=4&concurrency=64&min_tps_user=50").json()[0]
    pt = item["point"]
    assert pt["chosen_by"] == "fixed concurrency" and pt["concurrency"] == 64
    lib = estimate("llama-3.1-70b", "h100-sxm", tp=4, concurrency=64)
    assert pt["tokens_per_s_per_user"] == pytest.approx(lib.tokens_per_s_per_user)
    assert pt["tokens_per_s_per_user"] < 50
    assert any("below the target 50" in n for n in item["notes"])


def test_meta_lists_the_techniques_with_their_sources(client):
    meta = client.get("/api/meta").json()
    assert set(meta["spec_methods"]) == {"mtp", "eagle", "eagle3", "draft", "ngram"}
    assert meta["spec_methods"]["mtp"]["tokens"] == 1 and "DeepSeek-V3" in meta["spec_methods"]["mtp"]["source"]
    assert meta["percentiles"] == [50, 90, 95, 99]
    assert meta["defaults"]["tp"] is None and meta["defaults"]["max_gpus"] == 64


def test_upload_config_json_then_use_its_token(client):
    data = LLAMA_CFG.read_bytes()
    r = client.post("/api/model", files={"file": ("config.json", data, "application/json")})
    assert r.status_code == 200, r.text
    up = r.json()
    token, m = up["token"], up["model"]
    assert token.startswith("upload-") and m["uploaded"] and m["token"] == token
    assert m["id"] == "llama-3.1-8b" and 7.9e9 < m["total_params"] < 8.2e9
    assert "/tmp" not in m["params_source"] and "uploaded 'config.json'" in m["params_source"]
    # usable in later requests, listed, and re-uploading returns the same token
    e = client.get(f"/api/estimate?model={token}&chip=h100-sxm&tp=1").json()[0]["estimate"]
    assert e["model"] == "llama-3.1-8b" and e["output_tok_s_per_gpu"] > 0
    assert client.get(f"/api/results?model={token}&chip=h100-sxm&tp=1").json()["model"]["token"] == token
    assert token in {x.get("token") for x in client.get("/api/models").json()}
    again = client.post("/api/model", files={"file": ("config.json", data, "application/json")}).json()
    assert again["token"] == token and again["reused"]


@pytest.mark.parametrize("content,needle", [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "JSON object"),
    (json.dumps({"model_type": "bert", "hidden_size": 8}).encode(), "unsupported model_type"),
    (json.dumps({"model_type": "llama", "hidden_size": 4096}).encode(), "num_hidden_layers"),
    (b"", "empty"),
])
def test_bad_upload_is_400_with_reason(client, content, needle):
    r = client.post("/api/model", files={"file": ("config.json", content, "application/json")})
    assert r.status_code == 400, r.text
    body = r.json()
    assert needle in body["detail"] and body["field"] == "file"
    assert "/tmp" not in body["detail"]


def test_upload_without_file_is_422(client):
    r = client.post("/api/model")
    assert r.status_code == 422 and r.json()["field"] == "file"


def test_page_and_offline_plotly(client):
    html = client.get("/")
    assert html.status_code == 200 and "/vendor/plotly.min.js" in html.text
    assert "cdn" not in html.text.lower()
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200
    js = client.get("/vendor/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert "javascript" in js.headers["content-type"]


def test_no_nan_or_infinity_in_json(client):
    r = client.get("/api/results?" + Q + "&min_tps_user=25&max_ttft=2")
    assert r.status_code == 200
    json.loads(r.text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


def test_a_hybrid_linear_attention_config_uploads_and_estimates(client):
    """A Qwen3.5 config.json (Gated DeltaNet in 3 of 4 layers): uploaded, listed with its attention kind, estimated."""
    from infercast.specs.hfconfig import shipped_config

    data = shipped_config("Qwen/Qwen3.5-35B-A3B").read_bytes()
    r = client.post("/api/model", files={"file": ("config.json", data, "application/json")})
    assert r.status_code == 200, r.text
    token, m = r.json()["token"], r.json()["model"]
    assert 34e9 < m["total_params"] < 36e9 and m["attention"] == "GQA+GDN"
    assert m["state_bytes_per_seq"] == 30 * (32 * 128 * 128 * 4 + (2 * 16 * 128 + 32 * 128) * 3 * 2)
    e = client.get(f"/api/estimate?model={token}&chip=h200-sxm&tp=1").json()[0]["estimate"]
    assert e["output_tok_s_per_gpu"] > 0
    gdn = [o for o in e["operators"] if o["kind"] == "linear_attention"]
    assert gdn and gdn[0]["provenance"]["source"] == "table" and "gdn_perf" in gdn[0]["provenance"]["detail"]
