"""What the browser tests share: Debian's chromium driven by Playwright against a live uvicorn server on loopback.

Importing this module skips the importing test module when Playwright, uvicorn or chromium is missing
(`make test` installs all three)."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time

import pytest

CHROMIUM = os.environ.get("INFERCAST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
uvicorn = pytest.importorskip("uvicorn", reason="uvicorn is not installed")
if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(CHROMIUM):
    pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server():
    """The app served by uvicorn in a thread on a free loopback port; yields its base URL."""
    from infercast.web.app import create_app

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    t0 = time.time()
    while not srv.started:
        if time.time() - t0 > 10 or not th.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        th.join(timeout=5)


@contextlib.contextmanager
def chromium():
    """Debian's chromium under Playwright, closed afterwards; the test skips when it cannot be launched here."""
    with sync_api.sync_playwright() as pw:
        try:
            b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS, timeout=20_000)
        except Exception as e:  # a chromium Playwright cannot drive here
            pytest.skip(f"could not launch {CHROMIUM}: {str(e).splitlines()[0]}")
        try:
            yield b
        finally:
            b.close()


def new_page(browser, width: int = 1440, height: int = 1000, timeout_ms: int = 15_000):
    """A page whose `errors` collects script errors and Content-Security-Policy violations (the page must cause
    none; a violation is reported on the console)."""
    pg = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    pg.errors = errors
    pg.set_default_timeout(timeout_ms)
    return pg
