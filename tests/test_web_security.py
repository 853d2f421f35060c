"""The local server cannot be turned against its user: uploads never touch the filesystem, foreign
Host and cross-site requests are refused, bodies and uploads are capped, every response carries the
security headers, file names in Content-Disposition are plain ASCII, and one request's work is bounded
(429 past the queue, work stopped when its client leaves)."""
from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import threading
import time
import uuid
import warnings
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from infercast.web.app import create_app  # noqa: E402
from infercast.web.errors import ClientGone, WebInputError  # noqa: E402
from infercast.web.security import ascii_filename  # noqa: E402
from infercast.web.work import MAX_CONFIGS, WorkPool  # noqa: E402

HF = Path(__file__).parent / "data" / "hf"
LLAMA = json.loads((HF / "Llama-3.1-8B" / "config.json").read_text())
STATIC = Path(__file__).resolve().parents[1] / "src" / "infercast" / "web" / "static"


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(allowed_hosts=["testserver"])) as c:
        yield c
        assert c.app.state.unexpected_errors == [0]


def _upload(client, cfg, filename="config.json", headers=None, name=None):
    data = cfg if isinstance(cfg, bytes) else json.dumps(cfg).encode()
    return client.post("/api/model", files={"file": (filename, data, "application/json")},
                       data={"name": name} if name is not None else None, headers=headers)


# ------------------------------------------------------------------ uploads never touch the filesystem

_WRITES: list[tuple] = []
_WATCHING = threading.Event()


def _audit(event: str, args: tuple) -> None:
    """Record every file opened for writing and every directory or file created, moved or deleted."""
    if not _WATCHING.is_set():
        return
    if event == "open":
        path, mode, flags = (list(args) + [None, None, None])[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if writing:
            _WRITES.append((event, path))
    elif event in ("os.mkdir", "os.rename", "os.replace", "os.remove", "os.rmdir", "os.symlink", "os.link",
                   "tempfile.mkstemp", "tempfile.mkdtemp", "shutil.copyfile", "shutil.move"):
        _WRITES.append((event, args[0] if args else None))


_HOOKED: list[bool] = []


def _watch_writes() -> None:
    """Install the audit hook once (it cannot be removed; it is inert unless _WATCHING is set)."""
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED.append(True)


def _paths_named(marker: str, roots: list[Path]) -> list[str]:
    found = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            found += [os.path.join(dirpath, n) for n in dirnames + filenames if marker in n]
            if dirpath.count(os.sep) - str(root).count(os.sep) >= 3:
                dirnames[:] = []  # bounded walk: the attack wrote at most 2 levels below its target
    return found


def test_hostile_names_in_an_upload_create_nothing_anywhere(client, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = f"infercast-traversal-{uuid.uuid4().hex[:8]}"
    target = tmp_path / "victim"
    target.mkdir()
    attacks = [
        {**LLAMA, "model_type": f"../../{marker}"},
        {**LLAMA, "model_type": f"{target}/{marker}"},
        {**LLAMA, "model_type": f"/tmp/{marker}"},
        {**LLAMA, "model_type": f"..\\..\\{marker}"},
        {k: v for k, v in {**LLAMA, "model_type": f"../{marker}"}.items() if k != "_name_or_path"},
        {**LLAMA, "_name_or_path": f"../../../../tmp/{marker}"},
        {**LLAMA, "_name_or_path": f"{target}/{marker}"},
    ]
    _watch_writes()
    _WRITES.clear()
    _WATCHING.set()
    try:
        (tmp_path / "probe").write_text("the audit hook sees writes")  # the watch works...
        assert _WRITES and str(_WRITES[-1][1]).endswith("probe")
        _WRITES.clear()  # ...and from here on must see none
        answers = [_upload(client, cfg, filename=f"../../{marker}/config.json") for cfg in attacks]
        answers.append(_upload(client, {k: v for k, v in LLAMA.items() if k != "_name_or_path"},
                               filename=f"/tmp/{marker}.json", name=f"../../{marker}"))
    finally:
        _WATCHING.clear()
    assert [r.status_code for r in answers] == [400, 400, 400, 400, 400, 200, 200, 200]
    assert not _WRITES, f"the upload wrote to the filesystem: {_WRITES[:5]}"
    assert not _paths_named(marker, [Path("/tmp"), tmp_path, Path.cwd()])
    for r in answers:
        body = r.json()
        assert "Traceback" not in json.dumps(body)
        if r.status_code == 200:
            assert re.fullmatch(r"[a-z0-9._-]+", body["model"]["id"]), body["model"]["id"]
            assert "/" not in body["model"]["id"]


@pytest.mark.parametrize("content,needle", [
    (b"[" * 100_000 + b"]" * 100_000, "nested"),  # deep nesting: no RecursionError
    (json.dumps({**LLAMA, "x": json.loads("[" * 40 + "]" * 40)}).encode(), "nested"),
    (b'{"model_type": "llama", "num_hidden_layers": NaN}', "not a config.json"),
    (b'{"model_type": "llama", "num_hidden_layers": ' + b"9" * 5000 + b"}", "not a config.json"),
    (json.dumps({**LLAMA, "num_hidden_layers": [32]}).encode(), "num_hidden_layers must be a whole number"),
    (json.dumps({**LLAMA, "num_attention_heads": "many"}).encode(), "num_attention_heads must be a whole number"),
    (json.dumps({**LLAMA, "num_attention_heads": 0}).encode(), ""),
    (json.dumps({**LLAMA, "hidden_size": 1e300}).encode(), ""),
    (json.dumps({**LLAMA, "num_hidden_layers": 10 ** 30}).encode(), "num_hidden_layers"),
    (json.dumps({**LLAMA, "sliding_window": -5, "model_type": "mistral"}).encode(), "sliding_window"),
    (json.dumps({**LLAMA, "model_type": ["llama"]}).encode(), ""),
    (json.dumps({**LLAMA, "model_type": "x" * 100_000}).encode(), "unsupported model_type"),
    ("{\"model_type\": \"llama\"}".encode("utf-16"), "UTF-8"),
    (b"\xff\xfe\x00garbage", "UTF-8"),
])
def test_hostile_upload_is_400_with_a_short_reason(client, content, needle):
    r = _upload(client, content)
    assert r.status_code == 400, r.text[:300]
    body = r.json()
    assert needle in body["detail"] and body["field"] == "file"
    assert len(body["detail"]) <= 600  # an attacker's 100 kB field is not echoed back


def test_upload_size_caps(client):
    # the declared body is too large: refused before it is read
    r = client.post("/api/model", content=b"x" * 2_000_000, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["field"] == "file"
    # a chunked body without a length, too large once streamed
    r = client.post("/api/model", content=iter([b"--b\r\n" + b"x" * 600_000] * 3),
                    headers={"content-type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413 and r.json()["field"] == "file"
    # within the body cap but over the file cap
    big = json.dumps({**LLAMA, "pad": "x" * 1_000_000})[:1_040_000].encode()
    r = _upload(client, big)
    assert r.status_code == 413 and "larger than" in r.json()["detail"]


def test_uploads_kept_are_capped_least_recently_used_first():
    with TestClient(create_app(allowed_hosts=["testserver"], max_uploads=2)) as c:
        tokens = [_upload(c, {**LLAMA, "_name_or_path": f"org/model-{i}"}).json()["token"] for i in range(3)]
        assert len(set(tokens)) == 3
        assert c.get(f"/api/model/{tokens[0]}").status_code == 404  # evicted
        gone = c.get(f"/api/estimate?model={tokens[0]}&chip=h100-sxm&tp=1")
        assert gone.status_code == 404 and "2 most recent uploads" in gone.json()["detail"]
        assert c.get(f"/api/model/{tokens[2]}").json()["token"] == tokens[2]
        assert len([m for m in c.get("/api/models").json() if m["uploaded"]]) == 2


def test_a_model_name_is_never_read_as_a_path(client, tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(LLAMA))
    for name in (str(cfg), str(tmp_path), "../../etc/passwd", "/etc/passwd"):
        r = client.get("/api/estimate", params={"model": name, "chip": "h100-sxm", "tp": 1})
        assert r.status_code in (404, 422) and r.json()["field"] == "model"
        # nor is a draft model's name (speculative decoding): catalog ids only
        r = client.get("/api/estimate", params={"model": "llama-3.1-70b", "chip": "h100-sxm", "spec_method": "draft",
                                                "spec_draft": name})
        assert r.status_code in (404, 422) and r.json()["field"] == "spec_draft"


# ------------------------------------------------------------------ Host and Origin


@pytest.mark.parametrize("host,status", [
    ("127.0.0.1:8000", 200), ("localhost:8000", 200), ("[::1]:8000", 200), ("LOCALHOST:8000", 200),
    ("evil.example:8000", 400), ("evil.example", 400), ("localhost:9000", 400), ("127.0.0.1", 400),
    ("localhost.evil.example:8000", 400), ("127.0.0.1:8000@evil", 400), ("", 400),
])
def test_only_loopback_names_on_the_servers_port_are_answered(host, status):
    with TestClient(create_app(), base_url="http://127.0.0.1:8000") as c:
        r = c.get("/api/meta", headers={"host": host})
        assert r.status_code == status, (host, r.text)
        if status != 200:
            assert r.json()["field"] == "Host"


def test_allowed_hosts_follow_how_serve_was_started():
    app = create_app(allowed_hosts=["myhost.lan"], bound_host="192.168.1.5")
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        for host in ("myhost.lan:8000", "192.168.1.5:8000", "127.0.0.1:8000"):
            assert c.get("/api/meta", headers={"host": host}).status_code == 200
        assert c.get("/api/meta", headers={"host": "other.lan:8000"}).status_code == 400
    assert "0.0.0.0" not in create_app(bound_host="0.0.0.0").state.allowed_hosts


def test_cross_site_requests_are_refused_and_change_nothing(client):
    before = len(client.get("/api/models").json())
    cfg = {**LLAMA, "_name_or_path": "org/cross-site"}
    for headers in ({"origin": "http://evil.example"}, {"origin": "null"}, {"origin": "http://testserver:8080"},
                    {"origin": "https://testserver"}, {"sec-fetch-site": "cross-site", "sec-fetch-mode": "cors"}):
        r = _upload(client, cfg, headers=headers)
        assert r.status_code == 403, (headers, r.text)
        assert r.json()["field"] in ("Origin", "Sec-Fetch-Site")
    assert len(client.get("/api/models").json()) == before  # nothing was stored
    # a foreign page cannot use the API either (an <img> or fetch from another site)
    assert client.get("/api/results", headers={"origin": "http://evil.example"}).status_code == 403
    assert client.get("/api/results", headers={"sec-fetch-site": "cross-site", "sec-fetch-mode": "no-cors"}
                      ).status_code == 403
    # a link from another site to the page still opens it; the page's own requests and curl work
    assert client.get("/", headers={"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate"}).status_code == 200
    assert _upload(client, cfg, headers={"origin": "http://testserver", "sec-fetch-site": "same-origin"}
                   ).status_code == 200
    assert _upload(client, {**cfg, "_name_or_path": "org/curl"}).status_code == 200


# ------------------------------------------------------------------ headers


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/api/meta", "/api/estimate?tp=3", "/nowhere",
                                  "/openapi.json", "/api/model/unknown-model"])
def test_security_headers_on_every_response(client, path):
    r = client.get(path)
    csp = r.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert directives["frame-ancestors"] == "'none'" and directives["default-src"] == "'none'"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"


def test_page_has_no_inline_script_or_handlers():
    html = (STATIC / "index.html").read_text()
    for m in re.finditer(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S):
        assert "src=" in m.group(1) and not m.group(2).strip(), "inline script in index.html"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler in index.html"
    assert "<style" not in html and "javascript:" not in html


@pytest.mark.parametrize("name", [
    "Ünïcødé-模型", "evil\r\nSet-Cookie: x=1", "nul\x00byte", "q\"uote;semi", "x" * 300, "../../etc/passwd", "",
])
def test_content_disposition_is_strict_ascii(client, name):
    token = _upload(client, {**LLAMA, "_name_or_path": name}).json()["token"]
    r = client.get(f"/api/results.csv?model={token}&chip=h100-sxm&tp=1")
    assert r.status_code == 200
    cd = r.headers["content-disposition"]
    m = re.fullmatch(r'attachment; filename="([A-Za-z0-9._-]{1,100})"', cd)
    assert m, cd
    assert m.group(1).endswith("-summary.csv") and ".." not in m.group(1).strip(".")


def test_ascii_filename():
    assert ascii_filename("infercast-llama-3.1-70b-summary.csv") == "infercast-llama-3.1-70b-summary.csv"
    assert ascii_filename("a/b\\c\r\nd\x00é.csv") == "a-b-c-d-.csv"
    long = ascii_filename("m" * 500 + ".csv")
    assert len(long) == 100 and long.endswith(".csv")
    assert ascii_filename("....") == "infercast"


def test_csv_cells_are_not_spreadsheet_formulas(client):
    token = _upload(client, {**LLAMA, "_name_or_path": "=HYPERLINK(\"http://evil\")"}).json()["token"]
    text = client.get(f"/api/results.csv?model={token}&chip=h100-sxm&tp=1").text
    assert "\n=" not in text and ",=" not in text


# ------------------------------------------------------------------ bounded work


def test_work_past_the_limit_is_refused_naming_the_field(client):
    chips = "h100-sxm,b200,mi300x,tpu-v5p,gb200,h200-sxm,b300,mi355x,tpu-v7,gaudi3,trainium2,mi325x"
    r = client.get(f"/api/results?model=deepseek-v3&chip={chips}&max_gpus=128&points=128")
    assert r.status_code == 422
    body = r.json()
    assert body["field"] == "points" and f"{MAX_CONFIGS:,}" in body["detail"]
    assert client.get(f"/api/frontier?model=deepseek-v3&chip={chips}&max_gpus=128&points=128").status_code == 422
    assert client.get("/api/meta").json()["max_configs"] == MAX_CONFIGS


def test_search_options_count_in_the_work_bound(client):
    # speculative decoding, disaggregation and a tail percentile each make the search dearer: a request
    # inside the bound without them is refused with them, before any work is done
    from infercast.specs.hardware import get_chip
    from infercast.specs.model import get_model
    from infercast.web.work import check_work, frontier_configs

    m, chips = get_model("deepseek-v3"), [get_chip(c) for c in ("h100-sxm", "b200", "mi300x")]
    per_point = frontier_configs(m, chips, None, 128, 1)
    points = MAX_CONFIGS // per_point  # as many as the bound allows without the options
    assert check_work(m, chips, None, 128, points) <= MAX_CONFIGS
    assert frontier_configs(m, chips, None, 128, points, True, True, True) == 8 * frontier_configs(m, chips, None, 128, points)
    q = {"model": "deepseek-v3", "chip": "h100-sxm,b200,mi300x", "max_gpus": 128, "points": points}
    for extra in ({"spec_method": "mtp"}, {"disaggregated": "true"}, {"percentile": 99}):
        r = client.get("/api/results", params={**q, **extra, "min_tps_user": 20})
        assert r.status_code == 422 and r.json()["field"] == "points", r.text
        assert "count twice" in r.json()["detail"]


class _FakeRequest:
    """What WorkPool needs of a request: whether its client is still there."""

    def __init__(self, gone_after: float | None = None):
        self.t0, self.gone_after = time.monotonic(), gone_after

    async def is_disconnected(self) -> bool:
        return self.gone_after is not None and time.monotonic() - self.t0 > self.gone_after


def test_pool_refuses_past_its_queue_with_retry_after():
    async def scenario():
        pool = WorkPool(workers=1, queue=1)
        release = threading.Event()
        slow = [asyncio.ensure_future(pool.run(_FakeRequest(), lambda cancel: release.wait(5))) for _ in range(2)]
        await asyncio.sleep(0.2)  # one running, one waiting
        with pytest.raises(WebInputError) as e:
            await pool.run(_FakeRequest(), lambda cancel: 1)
        release.set()
        await asyncio.gather(*slow)
        assert await pool.run(_FakeRequest(), lambda cancel: 2) == 2  # room again
        return e.value, pool

    err, pool = asyncio.run(scenario())
    assert err.status_code == 429 and int(err.headers["Retry-After"]) >= 1
    assert pool.stats["refused"] == 1 and pool.admitted == 0


def test_work_stops_when_its_client_has_gone():
    steps: list[int] = []

    def job(cancel):  # like compute.do_*: a check between per-chip computations
        for i in range(100):
            cancel.check()
            steps.append(i)
            time.sleep(0.02)
        return "finished"

    async def scenario():
        pool = WorkPool(workers=1, queue=4)
        release = threading.Event()
        blocker = asyncio.ensure_future(pool.run(_FakeRequest(), lambda cancel: release.wait(5)))
        await asyncio.sleep(0.05)
        # this one leaves while queued: its work never starts
        with pytest.raises(ClientGone):
            await pool.run(_FakeRequest(gone_after=0.2), lambda cancel: steps.append(-1))
        release.set()
        await blocker
        # this one leaves while running: its work stops between steps
        with pytest.raises(ClientGone):
            await pool.run(_FakeRequest(gone_after=0.3), job)
        return pool

    pool = asyncio.run(scenario())
    assert -1 not in steps and 3 < len(steps) < 60
    assert pool.stats["stopped"] == 2 and pool.admitted == 0


def test_light_endpoints_answer_while_heavy_work_queues():
    """Not a timing test: with one worker busy and the queue full, the catalog still answers 200
    (it never enters the pool), and a further heavy request gets 429, not a wait."""
    import httpx

    app = create_app(allowed_hosts=["testserver"], workers=1, queue=0)
    release = threading.Event()

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            pool = app.state.pool
            blocker = asyncio.ensure_future(pool.run(_FakeRequest(), lambda cancel: release.wait(10)))
            await asyncio.sleep(0.1)
            light = [await c.get(p) for p in ("/api/meta", "/api/chips", "/api/models", "/static/app.js")]
            heavy = await c.get("/api/results?chip=h100-sxm")
            release.set()
            await blocker
            after = await c.get("/api/results?chip=h100-sxm")
            return light, heavy, after

    light, heavy, after = asyncio.run(scenario())
    assert [r.status_code for r in light] == [200] * 4
    assert heavy.status_code == 429 and int(heavy.headers["retry-after"]) >= 1 and "busy" in heavy.json()["detail"]
    assert after.status_code == 200
