"""Load on the web app: do light endpoints keep answering while many clients ask for the heaviest query?

    python benchmarks/web_load.py [--clients 50] [--seconds 30] [--json]

Starts `infercast serve` on 127.0.0.1 (a free port) in a subprocess, then, in one run:
1. baseline: light-endpoint latency on the idle server (/api/meta, /api/chips, /api/models,
   /static/app.js, /) and the time of one heavy request alone;
2. load: `--clients` concurrent clients repeat the heaviest `/api/results` query the server accepts
   (of queries at its per-request work limit for the models with most work, the slowest) for
   `--seconds`, honouring 429 Retry-After, while a prober in its own process times light requests;
3. abandon: `--abandon` heavy requests whose clients hang up after 0.2 s, then one heavy request
   timed again (if abandoned work kept running it would wait behind it).
Prints light p50/p99 (idle and under load, and their ratio), heavy p50/p99, counts by status (5xx
must be 0), connection errors, and the server's RSS before and after. Loopback only; every phase is
bounded in time and count.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from urllib.parse import urlencode

import httpx

LIGHT = ("/api/meta", "/api/chips", "/api/models", "/static/app.js", "/")


class LiveServer:
    """`python -m infercast serve` on 127.0.0.1:<free port>, stopped on exit."""

    def __init__(self, timeout_s: float = 60.0):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.timeout_s = timeout_s

    def __enter__(self) -> "LiveServer":
        self.log = tempfile.TemporaryFile()  # not a pipe: a chatty server must never block on it
        self.proc = subprocess.Popen([sys.executable, "-m", "infercast", "serve", "--host", "127.0.0.1",
                                      "--port", str(self.port)], stdout=subprocess.DEVNULL, stderr=self.log)
        t0 = time.time()
        while True:
            try:
                if httpx.get(self.url + "/api/meta", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.time() - t0 > self.timeout_s:
                self.__exit__()
                raise SystemExit(f"infercast serve did not start: {self.stderr_tail()[-2000:]}")
            time.sleep(0.2)

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stderr_tail(self) -> str:
        """The server's log (after it has stopped)."""
        return getattr(self, "_err", "")

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.seek(0)
        self._err = self.log.read().decode(errors="replace")
        self.log.close()


def candidate_queries(n_dense: int = 4, n_moe: int = 4) -> list[tuple[dict, int]]:
    """For the models with the most frontier work (dense and MoE), the /api/results query closest to the
    server's per-request limit: 12 chips with the most shapes, max_gpus 128, as many points as allowed."""
    from infercast.specs.hardware import all_chips
    from infercast.specs.model import all_models
    from infercast.web.schemas import MAX_CHIPS
    from infercast.web.work import MAX_CONFIGS, frontier_configs

    found = []
    # each model plain (a fixed shape), and with every search option the planner has (speculative decoding,
    # disaggregated pools, targets at the 99th percentile: each counted x2 by the work bound)
    options = {"spec_method": "eagle3", "disaggregated": "true", "percentile": 99, "min_tps_user": 20}
    for m in all_models():
        chips = sorted(all_chips(), key=lambda c: -frontier_configs(m, [c], None, 128, 1))[:MAX_CHIPS]
        for extra in ({"tp": 8}, options):
            opt = "spec_method" in extra
            per_point = frontier_configs(m, chips, None, 128, 1, opt, opt, opt)
            points = min(128, MAX_CONFIGS // max(1, per_point))
            if points >= 2:
                found.append(((bool(m.moe), opt), per_point * points, {
                    "model": m.id, "chip": ",".join(c.id for c in chips), "max_gpus": 128, "points": points, **extra}))
    found.sort(key=lambda x: -x[1])
    out = []
    for moe, n_kind in ((False, n_dense), (True, n_moe)):
        for opt in (False, True):  # half plain, half with every option
            out += [(q, n) for kind, n, q in found if kind == (moe, opt)][:max(1, n_kind // 2)]
    return out


def heaviest_query(url: str) -> tuple[str, int, float]:
    """The accepted candidate query that takes longest on this server (each timed once)."""
    best = ("", 0, -1.0)
    for q, n in candidate_queries():
        path = "/api/results?" + urlencode(q)
        code, t = timed_get(url, path)
        if code == 200 and t > best[2]:
            best = (path, n, t)
    if not best[0]:
        raise SystemExit("no candidate heavy query was answered 200")
    return best


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def ms(x: float | None) -> float | None:
    return None if x is None else round(x * 1e3, 1)


def probe_light(url: str, seconds: float, interval: float, q) -> None:
    """Time light requests for `seconds` (run in its own process, so the heavy clients' threads in this
    one do not delay the measurement by holding its GIL)."""
    lat: list[float] = []
    statuses: Counter = Counter()
    t_end = time.time() + seconds
    with httpx.Client(base_url=url, timeout=30) as c:
        i = 0
        while time.time() < t_end:
            path = LIGHT[i % len(LIGHT)]
            i += 1
            t0 = time.perf_counter()
            try:
                r = c.get(path)
                statuses[r.status_code] += 1
                lat.append(time.perf_counter() - t0)
            except httpx.HTTPError as e:
                statuses[f"error:{type(e).__name__}"] += 1
            time.sleep(interval)
    q.put((lat, statuses))


def light_prober(url: str, seconds: float, interval: float):
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=probe_light, args=(url, seconds, interval, q))
    p.start()
    return p, q


def heavy_client(url: str, path: str, deadline: float, lat: list[float], statuses: Counter) -> None:
    with httpx.Client(base_url=url, timeout=120) as c:
        while time.time() < deadline:
            t0 = time.perf_counter()
            try:
                r = c.get(path)
            except httpx.HTTPError as e:
                statuses[f"error:{type(e).__name__}"] += 1
                continue
            statuses[r.status_code] += 1
            if r.status_code == 200:
                lat.append(time.perf_counter() - t0)
            elif r.status_code == 429:
                wait = float(r.headers.get("retry-after", "1"))
                time.sleep(max(0.0, min(wait, deadline - time.time())))


def abandon(url: str, path: str, n: int) -> Counter:
    """n heavy requests whose clients hang up after 0.2 s (read timeout)."""
    out: Counter = Counter()

    def one() -> None:
        try:
            httpx.get(url + path, timeout=httpx.Timeout(5.0, read=0.2))
            out["answered"] += 1
        except httpx.TimeoutException:
            out["hung_up"] += 1
        except httpx.HTTPError as e:
            out[f"error:{type(e).__name__}"] += 1

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return out


def timed_get(url: str, path: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    r = httpx.get(url + path, timeout=120)
    return r.status_code, time.perf_counter() - t0


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0, help="length of the load phase")
    ap.add_argument("--baseline-seconds", type=float, default=5.0)
    ap.add_argument("--light-interval", type=float, default=0.05, help="pause between light requests (s)")
    ap.add_argument("--abandon", type=int, default=50, help="heavy requests abandoned after 0.2 s")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if not 1 <= a.clients <= 200 or not 0 < a.seconds <= 600:
        raise SystemExit("--clients 1..200 and --seconds up to 600 (a bounded benchmark)")

    with LiveServer() as srv:
        # warm up (catalogs and tables loaded) by finding the heaviest accepted query, before the RSS baseline
        path, configs, _ = heaviest_query(srv.url)
        out: dict = {"clients": a.clients, "seconds": a.seconds, "heavy_query": path, "heavy_configs": configs,
                     "cpus": os.cpu_count()}
        code, t_heavy_idle = timed_get(srv.url, path)
        rss0 = srv.rss_mb()

        # 1. baseline: light requests on the idle server
        prober, q = light_prober(srv.url, a.baseline_seconds, a.light_interval)
        idle_lat, idle_status = q.get(timeout=a.baseline_seconds + 120)
        prober.join()

        # 2. load: heavy clients and the light prober together
        heavy_lat: list[float] = []
        heavy_status: Counter = Counter()
        deadline = time.time() + a.seconds
        clients = [threading.Thread(target=heavy_client, args=(srv.url, path, deadline, heavy_lat, heavy_status))
                   for _ in range(a.clients)]
        for t in clients:
            t.start()
        time.sleep(min(1.0, a.seconds / 10))  # let the queue fill before timing light requests
        prober, q = light_prober(srv.url, max(1.0, deadline - time.time()), a.light_interval)
        light_lat, light_status = q.get(timeout=a.seconds + 180)
        prober.join()
        for t in clients:
            t.join(a.seconds + 180)
        rss1 = srv.rss_mb()

        # 3. abandoned requests must not keep the server busy
        gone = abandon(srv.url, path, a.abandon) if a.abandon else Counter()
        code_after, t_heavy_after = timed_get(srv.url, path)
        rss2 = srv.rss_mb()

    statuses = Counter({str(k): v for k, v in (idle_status + light_status + heavy_status).items()})
    five = sum(v for k, v in statuses.items() if k.isdigit() and int(k) >= 500)
    errors = sum(v for k, v in statuses.items() if not k.isdigit())
    out.update({
        "light_idle_p50_ms": ms(pct(idle_lat, 50)), "light_idle_p99_ms": ms(pct(idle_lat, 99)),
        "light_p50_ms": ms(pct(light_lat, 50)), "light_p99_ms": ms(pct(light_lat, 99)),
        "light_max_ms": ms(max(light_lat) if light_lat else None), "light_requests": len(light_lat),
        "light_p99_vs_idle": round(pct(light_lat, 99) / pct(idle_lat, 99), 2) if light_lat and idle_lat else None,
        "light_p99_target_ms": 300, "light_p99_met": bool(light_lat) and pct(light_lat, 99) < 0.3,
        "heavy_alone_ms": ms(t_heavy_idle), "heavy_p50_ms": ms(pct(heavy_lat, 50)),
        "heavy_p99_ms": ms(pct(heavy_lat, 99)), "heavy_ok": len(heavy_lat),
        "status_counts": dict(sorted(statuses.items())), "5xx": five, "connection_errors": errors,
        "abandoned": dict(gone), "heavy_after_abandoned_ms": ms(t_heavy_after),
        "heavy_after_abandoned_status": code_after,
        "heavy_after_abandoned_vs_alone": round(t_heavy_after / t_heavy_idle, 2),
        "rss_before_mb": round(rss0, 1), "rss_after_load_mb": round(rss1, 1), "rss_end_mb": round(rss2, 1),
        "rss_growth_mb": round(rss2 - rss0, 1),
    })
    if srv.stderr_tail().strip():
        out["server_log_tail"] = srv.stderr_tail()[-1500:]
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(f"{k:>32}: {v}")
    return out


if __name__ == "__main__":
    main()
