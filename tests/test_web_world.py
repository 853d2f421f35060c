"""The world endpoints (issue #14) over HTTP: /api/world, /api/overhang, /api/margin, /api/margin/deepseek and the
page /world. Answers follow the library, errors are 4xx naming the query parameter, the page has no inline
script, and the same promises hold as for the other endpoints (Host/Origin checks, headers, the work pool)."""
from __future__ import annotations

import re
import warnings

import pytest

pytest.importorskip("fastapi")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from infercast.analyses.margin import deepseek_day  # noqa: E402
from infercast.analyses.overhang import overhang  # noqa: E402
from infercast.analyses.world import world  # noqa: E402
from infercast.web.app import create_app  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(allowed_hosts=["testserver"])) as c:
        yield c
        assert c.app.state.unexpected_errors == [0]


def test_openapi_lists_the_world_endpoints(client):
    spec = client.get("/openapi.json").json()
    for path in ("/api/world", "/api/overhang", "/api/margin", "/api/margin/deepseek"):
        assert path in spec["paths"], path
    params = {p["name"] for p in spec["paths"]["/api/world"]["get"]["parameters"]}
    assert {"year", "model", "min_tps_user", "inference_share", "utilisation", "samples", "seed",
            "tokens_per_workday"} <= params
    assert "/world" not in spec["paths"]


def test_world_answer_is_the_librarys(client):
    r = client.get("/api/world?year=2023&model=llama-3-8b&samples=200&seed=2")
    assert r.status_code == 200, r.text
    d = r.json()
    w = world(2023, model="llama-3-8b", samples=200, seed=2)
    assert d["tokens_per_day"] == pytest.approx(w.tokens_per_day)
    assert d["stock"]["h100e"] == pytest.approx(w.stock["h100e"])
    assert [x["input"] for x in d["drivers"]] == [x["input"] for x in w.drivers]


def test_overhang_contract(client):
    r = client.get("/api/overhang?train_flop=1e23&chip=h100-sxm&gpus=64&days=10&model=llama-3-8b&min_tps_user=20")
    assert r.status_code == 200, r.text
    d = r.json()
    o = overhang(1e23, "h100-sxm", 64, 10, "llama-3-8b", 20)
    assert d["copies"] == pytest.approx(d["tokens_per_s"] / 20) and d["copies"] == pytest.approx(o.copies)
    assert {"implied_training_utilisation", "tokens_per_s", "copies", "tokens_per_day", "shape"} <= set(d)


def test_margin_and_deepseek(client):
    r = client.get("/api/margin?model=deepseek-v3&chip=h800&cached_fraction=0.5")
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["list_price"]["date"] and d["list_price"]["source"] and d["cost_usd_per_m_cached_input"] == 0
    r = client.get("/api/margin/deepseek")
    assert r.status_code == 200
    assert r.json()["predicted_nodes"] == pytest.approx(deepseek_day().predicted_nodes)


@pytest.mark.parametrize("url, status, field", [
    ("/api/world?year=2021", 422, "year"), ("/api/world?inference_share=2", 422, "inference_share"),
    ("/api/world?utilisation=lognormal:p10=0.2,p90=0.5", 422, "utilisation"),
    ("/api/world?samples=100000", 422, "samples"), ("/api/world?model=nope", 404, "model"),
    ("/api/world?colour=red", 422, "colour"), ("/api/world?input_len=1000000", 422, "input_len"),
    ("/api/overhang?chip=nope", 404, "chip"), ("/api/overhang?days=0", 422, "days"),
    ("/api/overhang?train_flop=nan", 422, "train_flop"), ("/api/overhang?peak_precision=fp7", 422, "peak_precision"),
    ("/api/overhang?model=llama-3-8b&chip=h100-sxm&gpus=8&min_tps_user=100000", 422, "min_tps_user"),
    ("/api/margin?model=llama-3-8b&chip=h100-sxm", 422, "model"), ("/api/margin?date=soon", 422, "date"),
    ("/api/margin?provider=nobody", 422, "provider"), ("/api/margin?cached_fraction=1", 422, "cached_fraction"),
    ("/api/margin?model=/etc/passwd", 404, "model"),
])
def test_errors_are_4xx_naming_the_parameter(client, url, status, field):
    r = client.get(url)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["field"] == field and body["detail"]


def test_unknown_parameter_lists_this_endpoints_parameters(client):
    d = client.get("/api/world?colour=red").json()["detail"]
    assert "inference_share" in d and "chip" not in d.split("known:")[1]


def test_page_has_no_inline_script_and_is_guarded(client):
    r = client.get("/world")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    html = r.text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert not re.search(r"\sstyle\s*=", html), "inline style"
    assert "script-src 'self'" in r.headers["content-security-policy"]
    for name in ("world.js", "world.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert client.get("/world", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/api/margin/deepseek", headers={"Origin": "https://evil.example"}).status_code == 403


def test_world_serves_an_uploaded_config(client):
    from pathlib import Path

    cfg = Path(__file__).parent / "data" / "hf" / "Llama-3.1-8B" / "config.json"
    r = client.post("/api/model", files={"file": ("config.json", cfg.read_bytes(), "application/json")})
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    r = client.get(f"/api/world?year=2023&model={token}&samples=100")
    assert r.status_code == 200, r.text
    assert r.json()["tokens_per_day"]["p50"] > 0
