"""Custom hardware in the web app: POST /api/chip takes the CLI's chip file (TOML or JSON), parses it in memory,
and its token then works as a chip id in every endpoint that takes chips, with the CLI's numbers. Hostile
files and requests are 4xx naming the field, and nothing is ever written to disk."""
from __future__ import annotations

import json
import os
import sys
import threading
import uuid
import warnings
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from infercast.cli import app as cli  # noqa: E402
from infercast.web.app import create_app  # noqa: E402

from chipfiles import a10g_fields, a10g_toml  # noqa: E402

# An A10G-like card (NVIDIA A10 datasheet class: 24 GB GDDR6 at 600 GB/s; the figures tests/test_chip_file.py
# uses for AWS's A10G, whose own datasheet is not public: 70 dense bf16 TFLOP/s, PCIe 4.0 x16 32 GB/s).
A10G = a10g_toml("a10g-web", tdp_w=300, price=1.0)  # examples/a10g.toml; tdp and price: test inputs
A10G_JSON = a10g_fields("a10g-web-json")


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(allowed_hosts=["testserver"])) as c:
        yield c
        assert c.app.state.unexpected_errors == [0]


def upload(client, data: bytes | str, filename: str = "a10g.toml", headers=None):
    if isinstance(data, str):
        data = data.encode()
    return client.post("/api/chip", files={"file": (filename, data, "application/octet-stream")}, headers=headers)


def cli_json(*args) -> dict:
    r = CliRunner().invoke(cli, list(args))
    assert r.exit_code == 0, (r.stdout, getattr(r, "stderr", ""))
    return json.loads(r.stdout)


def test_an_uploaded_chip_gives_the_clis_numbers(client, tmp_path):
    r = upload(client, A10G)
    assert r.status_code == 200, r.text
    body = r.json()
    token, chip = body["token"], body["chip"]
    assert token.startswith("chip-") and len(token) == len("chip-") + 16
    assert chip["id"] == "a10g-web" and chip["memory_bw_tbps"] == 0.6 and chip["tflops"]["bf16"] == 70
    assert upload(client, A10G).json() == {**body, "reused": True}  # the same file: the same token
    path = tmp_path / "a10g.toml"
    path.write_text(A10G)

    # a fixed shape: the API's breakdown is the CLI's `estimate --chip-file` at the same batch
    r = client.get("/api/estimate", params={"model": "llama-3.1-8b", "chip": [token, "h100-sxm"], "tp": 1,
                                            "input_len": 1024, "output_len": 256})
    assert r.status_code == 200, r.text
    item = r.json()[0]
    assert item["chip"] == "a10g-web" and item["error"] is None
    conc = item["point"]["concurrency"]
    ref = cli_json("estimate", "-m", "llama-3.1-8b", "--chip-file", str(path), "--tp", "1", "--concurrency",
                   str(conc), "-i", "1024", "-o", "256", "--json")
    for k in ("output_tok_s_per_gpu", "input_tok_s_per_gpu", "tokens_per_s_per_user", "ttft_s", "tpot_s"):
        assert item["estimate"][k] == pytest.approx(ref[k], rel=1e-9), k
    # the essay's bounds: the CLI's `bounds --chip-file`
    b = client.get("/api/bounds", params={"model": "llama-3.1-8b", "chip": token, "weights": "bf16"}).json()[0]
    ref = cli_json("bounds", "-m", "llama-3.1-8b", "--chip-file", str(path), "-p", "bf16", "--json")
    assert b["bounds"]["lower_forward_passes_per_s"] == pytest.approx(ref["lower_forward_passes_per_s"])
    assert b["bounds"]["upper_forward_passes_per_s"] == pytest.approx(ref["upper_forward_passes_per_s"])
    assert "0.6 TB/s (user-supplied chip file" in b["sources"]["lower"]
    # cost at the chip file's price; the page's one-call results; the world page's overhang
    c = client.get("/api/cost", params={"model": "llama-3.1-8b", "chip": token, "tp": 1}).json()[0]
    assert c["priced"] and c["price"]["usd_per_hour"] == 1.0 and c["cost"]["usd_per_m_output"] > 0
    res = client.get("/api/results", params={"model": "llama-3.1-8b", "chip": token, "max_gpus": 4, "points": 8})
    assert res.status_code == 200 and [f["chip"] for f in res.json()["frontier"]] == ["a10g-web"]
    o = client.get("/api/overhang", params={"model": "llama-3.1-8b", "chip": token, "gpus": 100, "days": 10,
                                            "train_flop": 1e21})
    assert o.status_code == 200 and o.json()["tokens_per_s"] > 0
    assert token in [u["token"] for u in client.get("/api/chips/uploaded").json()]


def test_a_json_chip_file_uploads_too(client):
    r = upload(client, json.dumps(A10G_JSON), filename="card.json")
    assert r.status_code == 200 and r.json()["chip"]["id"] == "a10g-web-json"
    r2 = upload(client, json.dumps({**A10G_JSON, "id": "a10g-other"}), filename="noext")  # JSON by its first byte
    assert r2.status_code == 200 and r2.json()["chip"]["id"] == "a10g-other"


def test_an_unknown_or_expired_token_is_a_4xx_saying_to_upload_again(client):
    for ep, params in (("estimate", {"model": "llama-3.1-8b", "tp": 1}), ("bounds", {"model": "llama-3.1-8b"}),
                       ("frontier", {"model": "llama-3.1-8b"}), ("cost", {"model": "llama-3.1-8b"}),
                       ("results", {"model": "llama-3.1-8b"}), ("overhang", {}), ("margin", {})):
        r = client.get(f"/api/{ep}", params={**params, "chip": "chip-0123456789abcdef"})
        assert r.status_code == 404, (ep, r.text)
        assert r.json()["field"] == "chip" and "upload the chip file again" in r.json()["detail"]
    with TestClient(create_app(allowed_hosts=["testserver"], max_uploads=1)) as c:
        first = upload(c, A10G).json()["token"]
        upload(c, json.dumps(A10G_JSON), filename="b.json")
        r = c.get("/api/estimate", params={"model": "llama-3.1-8b", "chip": first, "tp": 1})
        assert r.status_code == 404 and "1 most recent chip files" in r.json()["detail"]


def test_a_chip_file_path_as_chip_is_refused_not_read(client, tmp_path):
    p = tmp_path / "a10g.toml"
    p.write_text(A10G)
    r = client.get("/api/estimate", params={"model": "llama-3.1-8b", "chip": str(p), "tp": 1})
    assert r.status_code in (404, 422) and r.json()["field"] == "chip" and "POST /api/chip" in r.json()["detail"]


def test_two_uploads_with_one_id_in_one_request_are_refused(client):
    a = upload(client, A10G.replace('id = "a10g-web"', 'id = "twin"')).json()["token"]
    b = upload(client, A10G.replace('id = "a10g-web"', 'id = "twin"').replace("0.6", "0.7")).json()["token"]
    r = client.get("/api/bounds", params={"model": "llama-3.1-8b", "chip": [a, b]})
    assert r.status_code == 422 and r.json()["field"] == "chip" and "share the id 'twin'" in r.json()["detail"]


# ------------------------------------------------------------------ hostile uploads: 4xx, and nothing written

_WRITES: list[tuple] = []
_WATCHING = threading.Event()
_HOOKED: list[bool] = []


def _audit(event: str, args: tuple) -> None:
    if not _WATCHING.is_set():
        return
    if event == "open":
        path, mode, flags = (list(args) + [None, None, None])[:3]
        if (isinstance(mode, str) and any(ch in mode for ch in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)):
            _WRITES.append((event, path))
    elif event in ("os.mkdir", "os.rename", "os.replace", "os.remove", "tempfile.mkstemp", "tempfile.mkdtemp"):
        _WRITES.append((event, args[0] if args else None))


def _listing(*roots: Path) -> set[str]:
    out = set()
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            out |= {os.path.join(dirpath, n) for n in dirnames + filenames}
            if dirpath.count(os.sep) - str(root).count(os.sep) >= 2:
                dirnames[:] = []
    return out


HOSTILE = [
    ("non-UTF-8", b"\xff\xfe\x00id = 1", "a10g.toml", 400, "UTF-8"),
    ("UTF-16", A10G.encode("utf-16"), "a10g.toml", 400, "UTF-8"),
    ("JSON NaN", json.dumps(A10G_JSON).replace("0.6", "NaN").encode(), "a.json", 400, "NaN"),
    ("TOML nan", A10G.replace("memory_bw_tbps = 0.6", "memory_bw_tbps = nan").encode(), "a.toml", 400,
     "memory_bw_tbps: must be a finite number"),
    ("TOML inf", A10G.replace("tdp_w = 300", "tdp_w = inf").encode(), "a.toml", 400, "tdp_w"),
    ("huge float", A10G.replace("memory_bw_tbps = 0.6", "memory_bw_tbps = 1e300").encode(), "a.toml", 400,
     "memory_bw_tbps: must be <="),
    ("huge integer", A10G.replace("memory_gb = 24", "memory_gb = " + "9" * 400).encode(), "a.toml", 400,
     "memory_gb"),
    ("5000 digits", A10G.replace("memory_gb = 24", "memory_gb = " + "9" * 5000).encode(), "a.toml", 400, ""),
    ("negative bandwidth", A10G.replace("memory_bw_tbps = 0.6", "memory_bw_tbps = -1").encode(), "a.toml", 400,
     "memory_bw_tbps: must be > 0 (got -1"),
    ("catalog id", A10G.replace('"a10g-web"', '"h100-sxm"').encode(), "a.toml", 400, "is a catalog chip"),
    ("catalog alias", A10G.replace('"a10g-web"', '"H100"').encode(), "a.toml", 400, "is a catalog chip"),
    ("path as id", A10G.replace('"a10g-web"', '"../../etc/x"').encode(), "a.toml", 400, "id must be"),
    ("deep TOML", ("x = " + "[" * 20_000 + "]" * 20_000).encode(), "a.toml", 400, "nest"),
    ("deep JSON", (b"[" * 30_000 + b"]" * 30_000), "a.json", 400, "nest"),
    ("over 64 kB", (A10G + "notes = '" + "x" * 70_000 + "'\n").encode(), "a.toml", 413, "larger than"),
    ("1 MB body", b"x" * 1_000_000, "a.toml", 413, "larger than"),
    ("empty", b"", "a.toml", 400, "empty"),
    ("not TOML", b"id = [[[", "a.toml", 400, "not valid TOML"),
    ("a list", b"[1, 2]", "a.json", 400, "top level"),
    ("a catalog", json.dumps({"chips": [A10G_JSON]}).encode(), "a.json", 400, "not a 'chips' list"),
    ("unknown field", (A10G + "warp_drive = 1\n").encode(), "a.toml", 400, "warp_drive: is not a chip field"),
]


@pytest.mark.parametrize("what,data,filename,status,needle", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_chip_files_are_4xx_naming_the_field_and_write_nothing(client, tmp_path, monkeypatch, what, data,
                                                                       filename, status, needle):
    monkeypatch.chdir(tmp_path)
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED.append(True)
    marker = f"infercast-chip-{uuid.uuid4().hex[:8]}"
    (tmp_path / "victim").mkdir()
    before = _listing(tmp_path)
    before_uploads = len(client.get("/api/chips/uploaded").json())
    _WRITES.clear()
    _WATCHING.set()
    try:
        r = upload(client, data, filename=f"../../{marker}/{filename}")
        r2 = upload(client, data, filename=f"{tmp_path}/victim/{marker}-{filename}")
    finally:
        _WATCHING.clear()
    assert r.status_code == r2.status_code == status, r.text[:300]
    body = r.json()
    assert body["field"] == "file" and needle in body["detail"] and len(body["detail"]) <= 600
    assert "Traceback" not in r.text
    assert body["detail"].startswith(f"uploaded '{filename}'")  # the file's name, never its path
    assert not _WRITES, _WRITES[:5]  # nothing opened for writing, no folder made, in this process
    assert _listing(tmp_path) == before  # the working folder, the name's target, is unchanged
    assert not [p for p in _listing(Path("/tmp"), Path.home()) if marker in p]
    assert len(client.get("/api/chips/uploaded").json()) == before_uploads


def test_a_bad_field_is_pointed_at_in_errors(client):
    r = upload(client, A10G.replace("memory_bw_tbps = 0.6", "memory_bw_tbps = -1").replace("year = 2021", "year = 1"))
    assert r.status_code == 400
    locs = [e["loc"] for e in r.json()["errors"]]
    assert ["file", "memory_bw_tbps"] in locs and ["file", "year"] in locs


@pytest.mark.parametrize("headers,status,field", [
    ({"origin": "http://evil.example"}, 403, "Origin"),
    ({"origin": "null"}, 403, "Origin"),
    ({"sec-fetch-site": "cross-site", "sec-fetch-mode": "cors"}, 403, "Sec-Fetch-Site"),
    ({"host": "evil.example"}, 400, "Host"),
    ({"host": "testserver.evil.example"}, 400, "Host"),
])
def test_foreign_origin_or_host_cannot_upload_a_chip(client, headers, status, field):
    cid = f"cross-site-{field.lower()}-{status}-{len(str(headers))}"
    data = A10G.replace('"a10g-web"', f'"{cid}"')
    r = upload(client, data, headers=headers)
    assert r.status_code == status and r.json()["field"] == field
    assert cid not in json.dumps(client.get("/api/chips/uploaded").json())  # nothing stored
    assert upload(client, data, headers={"origin": "http://testserver"}).status_code == 200  # the page itself


def test_openapi_documents_the_chip_upload(client):
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/chip"]["post"]
    assert {"200", "400", "403", "413", "422"} <= set(op["responses"])
    assert op["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    assert "ChipUploadOut" in spec["components"]["schemas"]
    chip_param = next(p for p in spec["paths"]["/api/estimate"]["get"]["parameters"] if p["name"] == "chip")
    assert "POST /api/chip" in chip_param["description"]
