"""Abuse the web API the way a hostile page or user would, and count what goes wrong.

    python benchmarks/web_abuse.py [--requests 10000] [--seed 0] [--live] [--json]

Sends at least `--requests` API requests, in five parts:
1. schemathesis: requests generated from the OpenAPI document for every operation, valid and
   invalid (positive and negative generation), checked against the documented statuses and bodies;
2. hostile uploads: every field of real Hugging Face configs (tests/data/hf) set to the wrong type,
   zero, negative, NaN-like, huge or nested; traversal and absolute paths as model_type,
   _name_or_path, file name and label; broken encodings, deep nesting, oversize files; each accepted
   upload is then used in /api/results, the CSV download and /api/model/{token};
2b. hostile chip files (POST /api/chip, the CLI's --chip-file): every field of an A10G-like chip file set to
   the wrong type, zero, negative, NaN, infinite or huge; TOML and JSON NaN/inf literals, catalog ids and
   aliases, traversal and absolute paths as id and file name, broken encodings, deep nesting, oversize
   files; each accepted chip is then used by its token in every endpoint that takes chips, and unknown
   tokens are sent to each;
3. hostile query strings: every parameter with NUL, CR/LF, long, non-Latin-1, NaN, infinities,
   huge, negative, repeated and path-like values;
4. hostile requests: foreign Host and Origin, cross-site fetches, odd methods, paths and bodies.
In-process (FastAPI's TestClient) by default; `--live` sends them over loopback to `infercast serve`
on 127.0.0.1. Prints counts by status and part, 5xx (must be 0), connection errors (0), answers
that are not strict JSON or lack `{detail, field}` (0), schema violations, requests that reached the
last-resort handler (in-process: 0), and files created under /tmp, the working folder or home with
the run's marker in their name (0).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from chipfiles import a10g_fields, a10g_toml  # noqa: E402  (the example chip file, shared with the tests)

HF = Path(__file__).resolve().parents[1] / "tests" / "data" / "hf"
MARKER = f"infercast-abuse-{uuid.uuid4().hex[:8]}"


class Tally:
    def __init__(self) -> None:
        self.by_part: dict[str, Counter] = {}
        self.problems: dict[str, list[str]] = {"5xx": [], "connection": [], "not_strict_json": [],
                                               "no_detail_field": [], "schema": [], "null_numbers": [],
                                               "notes": []}
        self.n = 0

    def record(self, part: str, what: str, status: int | None, ctype: str = "", text: str = "") -> None:
        self.n += 1
        c = self.by_part.setdefault(part, Counter())
        if status is None:
            c["connection_error"] += 1
            self._note("connection", what)
            return
        c[status] += 1
        if status >= 500:
            self._note("5xx", f"{status} {what}: {text[:200]}")
        if ctype.startswith("application/json") and not what.startswith("HEAD "):  # HEAD: headers only
            try:
                body = json.loads(text, parse_constant=lambda s: (_ for _ in ()).throw(ValueError(s)))
            except ValueError:
                self._note("not_strict_json", f"{status} {what}: {text[:120]}")
                return
            if status >= 400 and not (isinstance(body, dict) and isinstance(body.get("detail"), str)
                                      and "field" in body):
                self._note("no_detail_field", f"{status} {what}: {text[:120]}")
            if status == 200 and _null_result(body):
                self._note("null_numbers", f"{what}: {_null_result(body)}")

    def _note(self, kind: str, what: str) -> None:
        if len(self.problems[kind]) < 1000:
            self.problems[kind].append(what[:300])


RESULT_NUMBERS = ("output_tok_s_per_gpu", "input_tok_s_per_gpu", "tokens_per_s_per_user", "ttft_s", "tpot_s",
                  "e2e_s", "upper_forward_passes_per_s", "lower_forward_passes_per_s", "usd_per_m_input",
                  "usd_per_m_output", "total_params", "active_params", "kv_bytes_per_token_bf16", "weight_bytes")


def _null_result(o: Any, depth: int = 0) -> str | None:
    """A result number the server sent as null: it was NaN or infinite, a silent wrong number."""
    if depth > 8:
        return None
    if isinstance(o, dict):
        for k, v in o.items():
            if k in RESULT_NUMBERS and v is None:
                return k
            found = _null_result(v, depth + 1)
            if found:
                return found
    elif isinstance(o, list):
        for v in o[:50]:
            found = _null_result(v, depth + 1)
            if found:
                return found
    return None


# ------------------------------------------------------------------ transports

class InProcess:
    def __init__(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from fastapi.testclient import TestClient
        from infercast.web.app import create_app

        self.app = create_app(allowed_hosts=["testserver"])
        self.client = TestClient(self.app, raise_server_exceptions=False)  # a crash is a 500 to count
        self.base = "http://testserver"
        self.host = "testserver"

    def send(self, method: str, path: str, **kw: Any):
        r = self.client.request(method, path, **kw)
        return r.status_code, r.headers.get("content-type", ""), r.text

    def schema(self):
        import schemathesis

        return schemathesis.openapi.from_asgi("/openapi.json", self.app)

    def unexpected(self) -> int | None:
        return self.app.state.unexpected_errors[0]

    def close(self) -> None:
        self.client.close()


class Live:
    def __init__(self) -> None:
        import httpx

        sys.path.insert(0, str(Path(__file__).parent))
        from web_load import LiveServer

        self.server = LiveServer().__enter__()
        self.base = self.server.url
        self.host = f"127.0.0.1:{self.server.port}"
        self.client = httpx.Client(base_url=self.base, timeout=120)
        self.httpx = httpx

    def send(self, method: str, path: str, **kw: Any):
        try:
            r = self.client.request(method, path, **kw)
        except self.httpx.HTTPError as e:
            return None, "", repr(e)
        return r.status_code, r.headers.get("content-type", ""), r.text

    def schema(self):
        import schemathesis

        return schemathesis.openapi.from_url(self.base + "/openapi.json")

    def unexpected(self) -> int | None:
        return None  # counted from the server's log once it has stopped (see main)

    def close(self) -> None:
        self.client.close()
        self.server.__exit__()


# ------------------------------------------------------------------ part 1: schemathesis

def schemathesis_part(t, tally: Tally, per_op: int, seed: int) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from schemathesis import GenerationMode
    from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                     status_code_conformance)

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    schema = t.schema()
    for result in schema.get_all_operations():
        op = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @hseed(seed)
            @settings(max_examples=per_op, database=None, deadline=None, phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy(generation_mode=mode))
            def run(case) -> None:
                what = f"{op.label} [{mode.value}] {case.path_parameters or ''} {case.query or ''}"[:300]
                try:
                    r = case.call()
                except Exception as e:  # noqa: BLE001 - a dropped connection is a finding, not a crash
                    tally.record("schemathesis", what, None, text=repr(e))
                    return
                ctype = (r.headers.get("content-type") or [""])[0]
                tally.record("schemathesis", what, r.status_code, ctype, r.text)
                try:
                    case.validate_response(r, checks=checks)
                except BaseExceptionGroup as e:  # schemathesis's FailureGroup: collected, reported below
                    tally._note("schema", f"{what}: {str(e)[:300]}")

            try:
                run()
            except Exception as e:  # noqa: BLE001 - e.g. no invalid request exists for an operation without inputs
                tally._note("notes", f"{op.label} [{mode.value}] generation stopped: {str(e)[:150]}")
            except BaseExceptionGroup as e:  # a check failed outside validate_response: count it, go on
                tally._note("schema", f"{op.label} [{mode.value}]: {str(e)[:300]}")


# ------------------------------------------------------------------ part 2: hostile uploads

BAD_VALUES: list[Any] = [None, [], [8], "12", "abc", "", 0, -1, 1.5, -0.5, 1e308, -1e308, 10 ** 30, 10 ** 300,
                         True, {}, {"a": 1}, "NaN", "Infinity", 2 ** 63, 1e-300]
HOSTILE_TEXT = [f"../../{MARKER}", f"/tmp/{MARKER}", f"..\\..\\{MARKER}", f"{MARKER}/../../x", "Ünïcødé-模型",
                "evil\r\nSet-Cookie: x=1", "nul\x00byte", "q\"uote;semi", "=HYPERLINK(\"http://x\")", "x" * 300,
                "x" * 100_000, "", " ", "😀" * 100, "\u202e\u0645", "<script>alert(1)</script>"]


def _configs() -> list[tuple[str, dict]]:
    return [(p.parent.name, json.loads(p.read_text())) for p in sorted(HF.glob("*/config.json"))]


def _upload_then_use(t, tally: Tally, data: bytes, what: str, filename: str = "config.json",
                     label: str | None = None, follow: bool = True) -> None:
    files = {"file": (filename, data, "application/json")}
    status, ctype, text = t.send("POST", "/api/model", files=files, data={"name": label} if label is not None else None)
    tally.record("uploads", what, status, ctype, text)
    if status != 200 or not follow:
        return
    token = json.loads(text)["token"]
    for path in (f"/api/results?model={token}&chip=h100-sxm,mi300x,tpu-v5e&tp=1&points=4&max_gpus=8",
                 f"/api/results?model={token}&chip=b200&tp=8&points=4&max_gpus=16&min_tps_user=20&max_ttft=1",
                 f"/api/results.csv?model={token}&chip=h100-sxm&tp=1&points=4&table=frontier",
                 f"/api/results.csv?model={token}&chip=h100-sxm&tp=2&points=4",
                 f"/api/model/{token}"):
        status, ctype, text = t.send("GET", path)
        tally.record("uploads", f"{what} -> {path.split('?')[0]}", status, ctype, text)


def uploads_part(t, tally: Tally, rng: random.Random, budget: int) -> None:
    configs = _configs()
    start = tally.n
    # structural problems
    base = json.dumps(configs[0][1]).encode()
    for data, what in [
        (b"", "empty"), (b"   ", "blank"), (b"{not json", "not json"), (b"[1, 2]", "array"), (b"null", "null"),
        (b"[" * 100_000 + b"]" * 100_000, "nested 100k"), (b'{"a":' * 40 + b"1" + b"}" * 40, "nested 40"),
        (b"\xff\xfe\x00\x01garbage", "binary"), ("{\"model_type\": \"llama\"}".encode("utf-16"), "utf-16"),
        (b"\xef\xbb\xbf" + base, "utf-8 BOM"), (base.replace(b'"llama"', b'"ll\\u0000ama"'), "NUL in model_type"),
        (base[: len(base) // 2], "truncated"), (base + b"x" * 1_100_000, "oversize"),
        (b'{"model_type": "llama", "num_hidden_layers": NaN}', "NaN literal"),
        (b'{"model_type": "llama", "num_hidden_layers": ' + b"9" * 5000 + b"}", "5000 digits"),
        (b'{"model_type": "llama", "num_hidden_layers": 1e999}', "1e999"),
    ]:
        _upload_then_use(t, tally, data, f"structure: {what}")
    # names: model_type, _name_or_path, file name and label
    for name, cfg in configs:
        for text in HOSTILE_TEXT:
            _upload_then_use(t, tally, json.dumps({**cfg, "model_type": text}).encode(), f"{name} model_type={text[:40]!r}",
                             follow=False)
            _upload_then_use(t, tally, json.dumps({**cfg, "_name_or_path": text}).encode(),
                             f"{name} _name_or_path={text[:40]!r}", follow=rng.random() < 0.3)
        for text in HOSTILE_TEXT[:8]:
            stripped = {k: v for k, v in cfg.items() if k != "_name_or_path"}
            stripped["_salt"] = rng.random()  # a new upload each time, not the cached token
            _upload_then_use(t, tally, json.dumps(stripped).encode(), f"{name} filename/label={text[:40]!r}",
                             filename=text.replace("\x00", "") or "config.json", label=text[:200], follow=False)
    # every field of every config, set to each bad value (a sample when over budget)
    cases = []
    for name, cfg in configs:
        fields = [(k, None) for k, v in cfg.items() if not isinstance(v, (dict, list)) or k == "layer_types"]
        if isinstance(cfg.get("text_config"), dict):
            fields += [("text_config", k) for k in cfg["text_config"]]
        for f in fields:
            for v in BAD_VALUES:
                cases.append((name, cfg, f, v))
    rng.shuffle(cases)
    for name, cfg, (k, sub), v in cases:
        if tally.n - start >= budget:
            break
        c = json.loads(json.dumps(cfg))
        if sub is None:
            c[k] = v
        else:
            c[k][sub] = v
        try:
            data = json.dumps(c).encode()
        except ValueError:
            continue
        _upload_then_use(t, tally, data, f"{name} {k}{'.' + sub if sub else ''}={str(v)[:30]}",
                         follow=rng.random() < 0.5)


# ------------------------------------------------------------------ part 2b: hostile chip files

CHIP = a10g_fields("a10g-abuse", tdp_w=300, price=1.0)  # examples/a10g.toml (tests/chipfiles.py)
CHIP_TOML = a10g_toml("a10g-abuse-toml", price=1.0)
CHIP_USES = ["/api/results?model=llama-3.1-8b&chip={t},h100-sxm&points=4&max_gpus=8",
             "/api/estimate?model=llama-3.1-8b&chip={t}&tp=1", "/api/bounds?model=llama-3.1-70b&chip={t}",
             "/api/cost?model=llama-3.1-8b&chip={t}&tp=2", "/api/frontier?model=llama-3.1-8b&chip={t}&max_gpus=4",
             "/api/results.csv?model=llama-3.1-8b&chip={t}&tp=1&table=frontier&points=4",
             "/api/overhang?model=llama-3.1-8b&chip={t}&gpus=64&days=10&train_flop=1e21",
             "/api/margin?chip={t}&input_len=1000&output_len=100"]


def _chip_then_use(t, tally: Tally, data: bytes, what: str, filename: str = "chip.json", follow: bool = True) -> None:
    status, ctype, text = t.send("POST", "/api/chip", files={"file": (filename, data, "application/octet-stream")})
    tally.record("chips", what, status, ctype, text)
    if status != 200 or not follow:
        return
    token = json.loads(text)["token"]
    for path in CHIP_USES:
        status, ctype, text = t.send("GET", path.format(t=token))
        tally.record("chips", f"{what} -> {path.split('?')[0]}", status, ctype, text)


def chips_part(t, tally: Tally, rng: random.Random, budget: int) -> None:
    start = tally.n
    base = json.dumps(CHIP).encode()
    for data, what, name in [
        (base, "valid JSON", "a10g.json"), (CHIP_TOML.encode(), "valid TOML", "a10g.toml"),
        (b"", "empty", "c.toml"), (b"   ", "blank", "c.toml"), (b"id = [[[", "not TOML", "c.toml"),
        (b"{not json", "not JSON", "c.json"), (b"[1, 2]", "array", "c.json"), (b"null", "null", "c.json"),
        (json.dumps({"chips": [CHIP]}).encode(), "a catalog", "c.json"),
        (b"\xff\xfe\x00\x01garbage", "binary", "c.toml"), (CHIP_TOML.encode("utf-16"), "utf-16", "c.toml"),
        (b"\xef\xbb\xbf" + CHIP_TOML.encode(), "utf-8 BOM", "c.toml"),
        (b"x = " + b"[" * 30_000 + b"]" * 30_000, "TOML nested 30k", "c.toml"),
        (b"[" * 30_000 + b"]" * 30_000, "JSON nested 30k", "c.json"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "JSON nested 40", "c.json"),
        (base.replace(b"0.6", b"NaN"), "JSON NaN", "c.json"), (base.replace(b"0.6", b"Infinity"), "JSON inf", "c.json"),
        (base.replace(b"0.6", b"1e999"), "JSON 1e999", "c.json"),
        (CHIP_TOML.replace("0.6", "nan").encode(), "TOML nan", "c.toml"),
        (CHIP_TOML.replace("0.6", "-inf").encode(), "TOML -inf", "c.toml"),
        (CHIP_TOML.replace("= 24", "= " + "9" * 5000).encode(), "5000 digits", "c.toml"),
        (CHIP_TOML.encode() + b"notes = '" + b"x" * 70_000 + b"'\n", "over 64 kB", "c.toml"),
        (b"x" * 1_100_000, "1.1 MB", "c.toml"), (base + b"x" * 1_000_000, "1 MB JSON", "c.json"),
    ]:
        _chip_then_use(t, tally, data, f"chip structure: {what}", filename=name)
    for cid in ("h100-sxm", "H100", "mi300x", "A100", "chip-0000000000000000", "upload-0000000000000000"):
        _chip_then_use(t, tally, json.dumps({**CHIP, "id": cid}).encode(), f"chip id={cid}")
    for text in HOSTILE_TEXT:
        _chip_then_use(t, tally, json.dumps({**CHIP, "id": text}).encode(), f"chip id={text[:40]!r}", follow=False)
        _chip_then_use(t, tally, json.dumps({**CHIP, "id": f"n{rng.getrandbits(32)}", "name": text, "notes": text,
                                             "sources": {"all": text}}).encode(),
                       f"chip name/notes={text[:40]!r}", follow=rng.random() < 0.3)
        _chip_then_use(t, tally, json.dumps({**CHIP, "id": f"f{rng.getrandbits(32)}"}).encode(),
                       f"chip filename={text[:40]!r}", filename=text.replace("\x00", "") or "c.json", follow=False)
    for path in CHIP_USES:  # tokens this server never gave, and chip-file paths
        for tok in ("chip-0000000000000000", "chip-", "chip-" + "f" * 40, f"/tmp/{MARKER}.toml", f"../../{MARKER}.json"):
            status, ctype, text = t.send("GET", path.format(t=tok))
            tally.record("chips", f"GET {path.split('?')[0]} chip={tok[:30]}", status, ctype, text)
    cases = [(k, v) for k in list(CHIP) + ["tflops.bf16", "price.usd_per_hour", "aliases", "memory_binary"]
             for v in BAD_VALUES]
    rng.shuffle(cases)
    for k, v in cases:
        if tally.n - start >= budget:
            break
        c = json.loads(json.dumps(CHIP))
        c["id"] = f"bad{rng.getrandbits(40)}"
        if k == "price.usd_per_hour":
            c["price"] = {"usd_per_hour": v, "date": "2025-01-01", "source": "abuse"}
        elif "." in k:
            c["tflops"] = {**c["tflops"], "bf16": v}
        else:
            c[k] = v
        try:
            data = json.dumps(c).encode()
        except ValueError:
            continue
        _chip_then_use(t, tally, data, f"chip {k}={str(v)[:30]}", follow=rng.random() < 0.2)


# ------------------------------------------------------------------ part 3: hostile query strings

PARAMS = ["model", "chip", "weights", "kv", "engine", "input_len", "output_len", "gpus", "tp", "pp", "ep",
          "concurrency", "min_tps_user", "max_ttft", "max_gpus", "points", "table"]
QUERY_VALUES = ["", " ", "\x00", "%00", "\r\n", "x" * 5000, "Ünïcødé-模型", "-1", "0", "1", "3", "7", "1e308",
                "-1e308", "inf", "-inf", "nan", "NaN", "1e-320", "9" * 400, "1.5", "true", "[]", "{}",
                f"../../{MARKER}", f"/tmp/{MARKER}.json", "upload-0000000000000000", "h100-sxm," * 20,
                "%ff%fe", "10000000", "10000001", "128", "129", "fp8", "int4", "vllm 0.6"]
ENDPOINTS = ["/api/estimate", "/api/bounds", "/api/cost", "/api/results", "/api/frontier", "/api/results.csv"]


def queries_part(t, tally: Tally, rng: random.Random) -> None:
    from urllib.parse import quote

    for p in PARAMS:
        for v in QUERY_VALUES:
            ep = ENDPOINTS[(PARAMS.index(p) + QUERY_VALUES.index(v)) % len(ENDPOINTS)]
            light = "chip=h100-sxm&points=4&max_gpus=8&" if p not in ("chip", "points", "max_gpus") else ""
            raw = v if v.startswith("%") else quote(v, safe=",")
            path = f"{ep}?{light}{p}={raw}"
            status, ctype, text = t.send("GET", path)
            tally.record("queries", path[:200], status, ctype, text)
    # repeated and combined parameters
    for _ in range(200):
        parts = [f"{rng.choice(PARAMS)}={quote(rng.choice(QUERY_VALUES)[:50], safe=',')}" for _ in range(rng.randint(1, 6))]
        path = f"{rng.choice(ENDPOINTS)}?chip=h100-sxm&points=4&" + "&".join(parts)
        status, ctype, text = t.send("GET", path)
        tally.record("queries", path[:200], status, ctype, text)


# ------------------------------------------------------------------ part 4: hostile requests

def requests_part(t, tally: Tally) -> None:
    host = t.host
    cfg = _configs()[0][1]
    body = json.dumps({**cfg, "_name_or_path": f"org/{MARKER}-origin"}).encode()
    hdr_cases: list[tuple[str, str, dict]] = []
    for h in ("evil.example", "evil.example:80", "localhost.evil.example", f"{host}.evil", "127.0.0.1:1",
              "[::1]:99999", "a b", "", "x" * 2000, "127.0.0.1:8000@evil", "%00"):
        hdr_cases += [("GET", "/api/meta", {"host": h}), ("GET", "/", {"host": h}),
                      ("POST", "/api/model", {"host": h}), ("POST", "/api/chip", {"host": h})]
    for o in ("http://evil.example", "null", f"http://{host}.evil", f"https://{host}", "file://", "http://",
              "x" * 500, f"http://{host}/path"):
        hdr_cases += [("POST", "/api/model", {"origin": o}), ("GET", "/api/results?chip=h100-sxm", {"origin": o}),
                      ("POST", "/api/chip", {"origin": o})]
    for site, mode in (("cross-site", "no-cors"), ("cross-site", "cors"), ("cross-site", "navigate"),
                       ("same-site", "cors"), ("none", "navigate")):
        hdr_cases += [("GET", "/api/results?chip=h100-sxm&points=4", {"sec-fetch-site": site, "sec-fetch-mode": mode}),
                      ("POST", "/api/model", {"sec-fetch-site": site, "sec-fetch-mode": mode}),
                      ("POST", "/api/chip", {"sec-fetch-site": site, "sec-fetch-mode": mode})]
    for method, path, headers in hdr_cases:
        kw: dict = {"headers": headers}
        if method == "POST" and path == "/api/chip":
            kw["files"] = {"file": ("chip.toml", CHIP_TOML.replace("a10g-abuse-toml", f"{MARKER}-origin").encode(),
                                    "application/toml")}
        elif method == "POST":
            kw["files"] = {"file": ("config.json", body, "application/json")}
        try:
            status, ctype, text = t.send(method, path, **kw)
        except Exception as e:  # noqa: BLE001 - the client refused to send such a header: not a server finding
            tally._note("notes", f"client could not send {headers}: {type(e).__name__}")
            continue
        tally.record("requests", f"{method} {path} {str(headers)[:80]}", status, ctype, text)
    paths = ["/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/%00", "/static/",
             "/static/index.html", "/static/app.js%00.html", "/vendor/../web/app.py", "/api/model/%2e%2e%2f%2e%2e",
             "/api/model/" + "x" * 300, "/api/model/%00", "/api/model/upload-" + "0" * 16, "/" + "a" * 4000,
             "/api", "/api/", "/docs", "/redoc", "/openapi.json", "/api/results.csv?table=../../x",
             "/api/results.json", "//api/meta", "/api/meta?meta=1"]
    for p in paths:
        status, ctype, text = t.send("GET", p)
        tally.record("requests", f"GET {p[:80]}", status, ctype, text)
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE"):
        for p in ("/api/model", "/api/results", "/", "/api/meta"):
            status, ctype, text = t.send(method, p)
            tally.record("requests", f"{method} {p}", status, ctype, text)
    bodies = [
        ({"content": b"x" * 2_000_000, "headers": {"content-type": "application/json"}}, "2 MB body"),
        ({"content": iter([b"--b\r\n" + b"x" * 600_000] * 3),
          "headers": {"content-type": "multipart/form-data; boundary=b"}}, "chunked 1.8 MB"),
        ({"content": b"--b\r\n", "headers": {"content-type": "multipart/form-data"}}, "no boundary"),
        ({"content": b"garbage", "headers": {"content-type": "multipart/form-data; boundary=b"}}, "bad multipart"),
        ({"content": "".join(f"--b\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nv\r\n" for i in range(2000))
          .encode() + b"--b--\r\n", "headers": {"content-type": "multipart/form-data; boundary=b"}}, "2000 fields"),
        ({"files": [("file", ("a.json", body, "application/json")), ("file", ("b.json", body, "application/json"))]},
         "two files"),
        ({"data": {"name": "x"}}, "no file"),
        ({"content": body, "headers": {"content-type": "application/json"}}, "raw JSON"),
        ({"content": b"a=b", "headers": {"content-type": "application/x-www-form-urlencoded"}}, "urlencoded"),
    ]
    for kw, what in bodies:
        status, ctype, text = t.send("POST", "/api/model", **kw)
        tally.record("requests", f"POST /api/model {what}", status, ctype, text)


def marked_files() -> list[str]:
    found = []
    for root in {Path("/tmp"), Path.cwd(), Path.home()}:
        for dirpath, dirnames, filenames in os.walk(root):
            found += [os.path.join(dirpath, n) for n in dirnames + filenames if MARKER in n]
            if dirpath.count(os.sep) - str(root).count(os.sep) >= 4:
                dirnames[:] = []
    return found


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=10_000, help="at least this many requests (at most 50,000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--live", action="store_true", help="over loopback to `infercast serve` on 127.0.0.1")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if not 100 <= a.requests <= 50_000:
        raise SystemExit("--requests between 100 and 50,000 (a bounded campaign)")
    import logging

    logging.getLogger("infercast.web").setLevel(logging.CRITICAL)  # counted below instead
    logging.getLogger("python_multipart").setLevel(logging.CRITICAL)  # malformed bodies are the point here
    logging.getLogger("multipart").setLevel(logging.CRITICAL)
    rng = random.Random(a.seed)
    t0 = time.time()
    transport = Live() if a.live else InProcess()
    tally = Tally()
    try:
        requests_part(transport, tally)
        queries_part(transport, tally, rng)
        uploads_part(transport, tally, rng, budget=max(500, (a.requests - tally.n) // 2))
        chips_part(transport, tally, rng, budget=max(300, (a.requests - tally.n) // 3))
        n_ops = 13 * 2
        while tally.n < a.requests:  # schemathesis fills the rest, in rounds with fresh seeds
            per_op = max(10, (a.requests - tally.n) // n_ops + 1)
            schemathesis_part(transport, tally, per_op, a.seed + tally.n)
        unexpected = transport.unexpected()
    finally:
        transport.close()
    statuses = sum(tally.by_part.values(), Counter())
    out = {
        "mode": "live" if a.live else "in-process", "seed": a.seed, "seconds": round(time.time() - t0, 1),
        "requests": tally.n,
        "by_part": {k: sum(v.values()) for k, v in tally.by_part.items()},
        "status_counts": {str(k): v for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))},
        "5xx": sum(v for k, v in statuses.items() if isinstance(k, int) and k >= 500),
        "connection_errors": statuses.get("connection_error", 0),
        "not_strict_json": len(tally.problems["not_strict_json"]),
        "errors_without_detail_field": len(tally.problems["no_detail_field"]),
        "results_with_null_numbers": len(tally.problems["null_numbers"]),
        "schema_violations": len(tally.problems["schema"]),
        "last_resort_answers": unexpected,
        "files_created_with_marker": marked_files(),
        "examples": {k: v[:5] for k, v in tally.problems.items() if v and k != "notes"},
        "notes": len(tally.problems["notes"]),
    }
    if a.live:
        log = transport.server.stderr_tail()
        out["last_resort_answers"] = log.count("unexpected error on")  # LastResort logs each one
        if log.strip():
            out["server_log_tail"] = log[-2000:]
    print(json.dumps(out, indent=2) if a.json else "\n".join(f"{k:>28}: {v}" for k, v in out.items()))
    return out


if __name__ == "__main__":
    main()
