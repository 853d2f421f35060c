"""The web page in a real browser: Debian's chromium driven by Playwright against a live uvicorn server.

Loads the page from a shared URL, checks that the view is restored from the query string, changes the
output length and the chip selection, waits for the numbers and the frontier chart to change, checks the
URL follows, shows a field error for impossible input, and saves a screenshot (to docs/img/web.png
when INFERCAST_SCREENSHOT=1, else a temporary folder).
Skips cleanly when chromium or Playwright is missing.
"""
from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("INFERCAST_CHROMIUM", "/usr/bin/chromium")
# the README's picture is refreshed only on request (INFERCAST_SCREENSHOT=1); otherwise tests leave the tree alone
README_SHOT = Path(__file__).resolve().parents[1] / "docs" / "img" / "web.png"
LLAMA_CFG = Path(__file__).parent / "data" / "hf" / "Llama-3.1-8B" / "config.json"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
uvicorn = pytest.importorskip("uvicorn", reason="uvicorn is not installed")
if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(CHROMIUM):
    pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    from infercast.web.app import create_app

    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    t0 = time.time()
    while not srv.started:
        if time.time() - t0 > 10 or not th.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    th.join(timeout=5)


@pytest.fixture(scope="module")
def page(server):
    with sync_api.sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS, timeout=20_000)
        except Exception as e:  # a chromium Playwright cannot drive here
            pytest.skip(f"could not launch {CHROMIUM}: {str(e).splitlines()[0]}")
        pg = browser.new_page(viewport={"width": 1440, "height": 1000})
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        # a Content-Security-Policy violation is reported on the console: the page must cause none
        pg.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        pg.errors = errors
        pg.set_default_timeout(15_000)
        yield pg
        browser.close()


def _renders(pg) -> int:
    return int(pg.evaluate("Number(document.body.dataset.renders || 0)"))


def _wait_until(pg, expr: str, timeout: float = 15.0) -> None:
    """Poll a JS expression. (Playwright's wait_for_function evaluates strings with eval, which the
    app's Content-Security-Policy rightly refuses; evaluate() goes through the debugger protocol.)"""
    t0 = time.time()
    while not pg.evaluate(expr):
        if time.time() - t0 > timeout:
            pytest.fail(f"timed out waiting for {expr}")
        time.sleep(0.05)


def _wait_render_after(pg, n: int) -> None:
    _wait_until(pg, f"Number(document.body.dataset.renders || 0) > {n}")


def _first_estimate(pg) -> str:
    return pg.inner_text("#estimate-table tbody tr:first-child td:nth-child(2)")


def _chart_signature(pg) -> str:
    return pg.evaluate("JSON.stringify(document.getElementById('frontier-chart').data.map(t => [t.name, t.y]))")


def test_page_updates_with_inputs_and_saves_screenshot(server, page, tmp_path):
    pg = page
    # a shared link: the view must come back from the query string (min_tps: the name older links used)
    pg.goto(f"{server}/?model=llama-3.1-70b&chip=h100-sxm&chip=b200&chip=mi300x&weights=fp8&tp=2"
            f"&input_len=1024&output_len=256&min_tps=20")
    _wait_until(pg, "Number(document.body.dataset.renders || 0) >= 1")
    assert pg.input_value("#output_len") == "256"
    assert pg.input_value("#min_tps_user") == "20" and "min_tps_user=20" in pg.url
    assert pg.input_value("#weights") == "fp8"
    assert pg.is_checked("#chip-list input[value='b200']")
    assert not pg.is_checked("#chip-list input[value='h200-sxm']")
    rows = pg.locator("#estimate-table tbody tr")
    assert rows.count() == 3
    assert "tok/s" in _first_estimate(pg)
    n_traces = pg.evaluate("document.getElementById('frontier-chart').data.filter(t => t.mode === 'lines+markers').length")
    assert n_traces == 3  # one frontier trace per chip
    assert pg.locator("#frontier-chart .main-svg").count() > 0  # Plotly drew (served locally, no CDN)
    assert "$" in pg.inner_text("#cost-table")

    # change the output length: numbers, chart and URL follow
    before_num, before_chart, n = _first_estimate(pg), _chart_signature(pg), _renders(pg)
    pg.fill("#output_len", "2048")
    _wait_render_after(pg, n)
    assert _first_estimate(pg) != before_num
    assert _chart_signature(pg) != before_chart
    assert "output_len=2048" in pg.url

    # add a chip without a price: a fourth trace, and the cost table says it has no price
    n = _renders(pg)
    pg.check("#chip-list input[value='mi355x']")
    _wait_render_after(pg, n)
    assert "chip=mi355x" in pg.url
    assert pg.evaluate("document.getElementById('frontier-chart').data.filter(t => t.mode === 'lines+markers').length") == 4
    assert "no price" in pg.inner_text("#cost-table")

    # impossible input: the message appears beside the field, results go stale, no crash
    pg.fill("#tp", "3")
    pg.wait_for_selector(".field[data-field='tp'].invalid")
    assert "does not divide" in pg.inner_text(".field[data-field='tp'] .field-error")
    n = _renders(pg)
    pg.fill("#tp", "2")
    _wait_render_after(pg, n)
    assert pg.locator(".field.invalid").count() == 0

    # the sidebar scrolls within the window: make the window as tall as the page for the picture
    pg.set_viewport_size({"width": 1440, "height": int(pg.evaluate("document.documentElement.scrollHeight")) + 40})
    pg.evaluate("document.getElementById('chip-list').scrollTop = 0")
    pg.wait_for_timeout(400)  # let Plotly re-layout and finish its transitions
    README_SHOT.parent.mkdir(parents=True, exist_ok=True)
    shot = README_SHOT if os.environ.get("INFERCAST_SCREENSHOT") else tmp_path / "web.png"
    pg.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000

    # upload a Hugging Face config.json: it becomes the selected model and the results follow
    n = _renders(pg)
    pg.set_input_files("#upload", str(LLAMA_CFG))
    _wait_render_after(pg, n)
    assert pg.input_value("#model").startswith("upload-")
    assert "Llama-3.1-8B" in pg.inner_text("#model-summary")
    assert "model=upload-" in pg.url

    # a broken upload: the reason appears beside the model input (the API names the form field `file`)
    pg.set_input_files("#upload", files=[{"name": "config.json", "mimeType": "application/json",
                                           "buffer": b"{not json"}])
    pg.wait_for_selector(".field[data-field='model'].invalid")
    assert "not valid JSON" in pg.inner_text(".field[data-field='model'] .field-error")
    assert not pg.errors, pg.errors
