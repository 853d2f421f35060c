"""The world page (/world) in a real browser (Debian's chromium via Playwright, a live uvicorn server): the
DeepSeek comparison loads, each form computes and renders, an impossible input is shown beside its field, and
the page breaks no Content-Security-Policy rule. Skips cleanly when chromium or Playwright is missing."""
from __future__ import annotations

import time

import pytest

from browserkit import chromium, live_server, new_page


@pytest.fixture(scope="module")
def server():
    with live_server() as url:
        yield url


@pytest.fixture(scope="module")
def page(server):
    with chromium() as b:
        yield new_page(b, 1280, 1000, timeout_ms=30_000)


def _renders(pg) -> int:
    return int(pg.evaluate("Number(document.body.dataset.renders || 0)"))


def _wait_until(pg, expr: str, timeout: float = 60.0) -> None:
    t0 = time.time()  # evaluate(), not wait_for_function: the CSP refuses eval
    while not pg.evaluate(expr):
        if time.time() - t0 > timeout:
            pytest.fail(f"timed out waiting for {expr}")
        time.sleep(0.05)


def test_world_page_computes_each_question(server, page):
    pg = page
    pg.goto(f"{server}/world")
    _wait_until(pg, "Number(document.body.dataset.renders || 0) >= 1")  # DeepSeek's day, loaded at once
    assert "published" in pg.inner_text("#deepseek-out") and "infercast" in pg.inner_text("#deepseek-out")

    pg.select_option("#world-form select[name=model]", "llama-3-8b")
    pg.fill("#world-form input[name=year]", "2023")
    pg.fill("#world-form input[name=samples]", "200")
    n = _renders(pg)
    pg.click("#world-form button[type=submit]")
    _wait_until(pg, f"Number(document.body.dataset.renders || 0) > {n}")
    text = pg.inner_text("#world-out")
    assert "tokens/day" in text and "Drivers" in text and "hopper" in text
    assert pg.locator("#world-chart .main-svg").count() > 0  # Plotly drew (served locally)

    pg.fill("#world-form input[name=inference_share]", "2")
    pg.click("#world-form button[type=submit]")
    pg.wait_for_selector("#world-form .field[data-field='inference_share'].bad")
    assert "within 0..1" in pg.inner_text("#world-form .field-error")

    n = _renders(pg)
    pg.select_option("#overhang-form select[name=model]", "llama-3-8b")
    pg.select_option("#overhang-form select[name=chip]", "h100-sxm")
    pg.fill("#overhang-form input[name=gpus]", "64")
    pg.click("#overhang-form button[type=submit]")
    _wait_until(pg, f"Number(document.body.dataset.renders || 0) > {n}")
    assert "copies" in pg.inner_text("#overhang-out")

    n = _renders(pg)
    pg.click("#margin-form button[type=submit]")  # defaults: deepseek-v3 on h800, half the prompt cached
    _wait_until(pg, f"Number(document.body.dataset.renders || 0) > {n}")
    assert "gross margin" in pg.inner_text("#margin-out")
    assert not pg.errors, pg.errors
