"""Uncached homepage latency on the trained demo shop: GET /api/v1/homepage/{shopper} at a fixed arrival rate.

An open loop sends requests at their scheduled times (100 a second by default) whatever the server's
pace, and times each from its scheduled moment, so a slow server is not hidden by clients that wait
for it (coordinated omission). The mix: 60 % known shoppers at random, 20 % unknown ids, 20 % shoppers
who just acted (a fresh view event posted, then their page). The baseline sends the same load to one
shopper's cached page. A closed loop of concurrent clients then measures throughput at saturation.

It serves the dev data dir (.data, where `make run` put the demo shop and its models) and writes only
the view events of the just-active shoppers, with event ids starting `bench-homepage-`.
"""

import argparse
import json
import os
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import requests

from .common import (
    REPO_DIR,
    BenchResult,
    MemorySampler,
    OtherLoad,
    _exclusive,
    _postgres_pid,
    bench_env,
    embedded_stop,
    gunicorn_serving,
    manage,
    percentile,
)

NAME = "homepage"
DEV_DATA_DIR = REPO_DIR / ".data"
MIX = {"known": 60, "unknown": 20, "just-active": 20}
TARGET_P50_MS = 20
TARGET_P99_MS = 80
REQUEST_TIMEOUT_S = 30
SAMPLE_SHOPPERS = 5000
SAMPLE_ITEMS = 2000
RUN_MAKE = "run `make run` once first (it creates the demo shop, its API key and its first models)"

# Printed as JSON by `manage.py shell`: the demo shop's serving models, some shoppers and some items.
DEMO_SAMPLE = """
import json, random
from catalog.models import Item, Shopper
from catalog.services import api_key_authenticate
from recommender.selectors import active_versions
shop = api_key_authenticate(raw_key={key!r}).shop
shoppers = list(Shopper.objects.filter(shop=shop, events__isnull=False).distinct().values_list("external_id", flat=True))
items = list(Item.objects.filter(shop=shop, available=True).values_list("external_id", flat=True))
rng = random.Random(0)
print(json.dumps({{
    "shop": shop.slug,
    "families": sorted(version.family for version in active_versions(shop=shop)),
    "shoppers": rng.sample(shoppers, min({shoppers}, len(shoppers))),
    "items": rng.sample(items, min({items}, len(items))),
}}))
"""


@dataclass
class Demo:
    shop: str
    families: list[str]
    shoppers: list[str]
    items: list[str]


@dataclass
class Outcome:
    kind: str
    latency_ms: float
    ok: bool


@dataclass
class Load:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    peak_mib: float = 0.0
    other_cpu_percent: float = 0.0


def arguments_parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench homepage", description=__doc__)
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second in the open loop (default 100)")
    parser.add_argument("--seconds", type=float, default=30.0, help="open-loop duration (default 30)")
    parser.add_argument("--saturation-seconds", type=float, default=15.0, help="closed-loop duration (default 15)")
    parser.add_argument("--clients", type=int, default=8, help="closed-loop concurrent clients (default 8)")
    parser.add_argument("--senders", type=int, default=64, help="open-loop sender threads (default 64)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync",
                        help="default sync: on 2 cores gthread only adds GIL contention (measured: 28 vs 19 req/s at saturation)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker (default 4)")
    parser.add_argument("--warmup-seconds", type=float, default=10.0, help="light load before timing (default 10)")
    return parser.parse_args(argv)


def _demo_sample(env: dict[str, str], api_key: str) -> Demo:
    code = DEMO_SAMPLE.format(key=api_key, shoppers=SAMPLE_SHOPPERS, items=SAMPLE_ITEMS)
    found = json.loads(manage("shell", "-c", code, env=env).strip().splitlines()[-1])
    return Demo(**found)


@contextmanager
def demo_server(options: argparse.Namespace):
    """gunicorn on the dev data dir; its embedded servers are stopped after only if this run started them."""
    env = bench_env(DEV_DATA_DIR)
    log_path = DEV_DATA_DIR / "bench-homepage-gunicorn.log"
    was_running = _postgres_pid(DEV_DATA_DIR) is not None
    threads = ("--worker-class", "gthread", "--threads", str(options.threads)) if options.worker_class == "gthread" else ()
    with _exclusive(DEV_DATA_DIR / ".bench-homepage.lock"):
        try:
            with gunicorn_serving(env=env, log_path=log_path, workers=options.workers, extra_args=threads) as (process, url):
                yield url, process.pid, env
        finally:
            if not was_running:
                embedded_stop(env=env)


class Client:
    """One request of each kind, timed from the moment it was due; a requests.Session per thread."""

    def __init__(self, url: str, api_key: str, demo: Demo, run_id: str):
        self.url, self.demo, self.run_id = url, demo, run_id
        self.headers = {"Authorization": f"Token {api_key}"}
        self.local = threading.local()
        self.counter = iter(range(10**9))
        self.lock = threading.Lock()

    def _session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            self.local.session.headers.update(self.headers)
        return self.local.session

    def _page(self, shopper_id: str) -> bool:
        response = self._session().get(f"{self.url}/api/v1/homepage/{shopper_id}", timeout=REQUEST_TIMEOUT_S)
        return response.status_code == 200 and bool(response.json()["rails"])

    def _view_post(self, shopper_id: str, rng: random.Random) -> bool:
        with self.lock:
            number = next(self.counter)
        event = {
            "event_id": f"bench-homepage-{self.run_id}-{number}", "shopper_id": shopper_id, "type": "view",
            "item_id": rng.choice(self.demo.items), "occurred_at": datetime.now(timezone.utc).isoformat(),
        }
        response = self._session().post(f"{self.url}/api/v1/events", json=[event], timeout=REQUEST_TIMEOUT_S)
        return response.status_code == 200 and response.json()["created"] == 1

    def request(self, kind: str, shopper_id: str, due: float, rng: random.Random) -> Outcome:
        """`due` is the perf_counter moment the request was scheduled; a just-active page's time leaves out its event's POST."""
        try:
            posted_in = 0.0
            ok = True
            if kind == "just-active":
                started = time.perf_counter()
                ok = self._view_post(shopper_id, rng)
                posted_in = time.perf_counter() - started
            ok = self._page(shopper_id) and ok
        except requests.RequestException:
            ok = False
        return Outcome(kind, (time.perf_counter() - due - posted_in) * 1000, ok)


def _draw(rng: random.Random, demo: Demo, mix: dict[str, int]) -> tuple[str, str]:
    kind = rng.choices(list(mix), list(mix.values()))[0]
    if kind == "unknown":
        return kind, f"bench-unknown-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}"
    return kind, rng.choice(demo.shoppers)


def open_loop(client: Client, *, rate: float, seconds: float, senders: int, draw, seed: int) -> list[Outcome]:
    """Requests due every 1/rate seconds, sent by a pool; each is timed from when it was due, queueing included."""
    rng = random.Random(seed)
    total = int(rate * seconds)
    plan = [draw(rng) for _ in range(total)]
    futures = []
    with ThreadPoolExecutor(max_workers=senders) as pool:
        start = time.perf_counter() + 0.1
        for number, (kind, shopper_id) in enumerate(plan):
            due = start + number / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(client.request, kind, shopper_id, due, random.Random(rng.random())))
    return [future.result() for future in futures]


def closed_loop(client: Client, *, clients: int, seconds: float, draw, seed: int) -> list[Outcome]:
    """`clients` threads each sending its next request as soon as the last one answered."""
    deadline = time.perf_counter() + seconds

    def one_client(number: int) -> list[Outcome]:
        rng = random.Random(seed * 1000 + number)
        outcomes = []
        while time.perf_counter() < deadline:
            kind, shopper_id = draw(rng)
            outcomes.append(client.request(kind, shopper_id, time.perf_counter(), rng))
        return outcomes

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return [outcome for outcomes in pool.map(one_client, range(clients)) for outcome in outcomes]


def measured(pid: int, work) -> Load:
    with MemorySampler(pid) as memory, OtherLoad(os.getpid(), pid) as other:
        started = time.perf_counter()
        outcomes = work()
        seconds = time.perf_counter() - started
    return Load(outcomes=outcomes, seconds=seconds, peak_mib=memory.peak_mib, other_cpu_percent=other.percent)


def _row(case: str, kind: str, load: Load, outcomes: list[Outcome]) -> dict:
    latencies = [outcome.latency_ms for outcome in outcomes if outcome.ok] or [float("nan")]
    return {
        "case": case,
        "requests": kind,
        "sent": len(outcomes),
        "errors": sum(1 for outcome in outcomes if not outcome.ok),
        "p50 ms": round(percentile(latencies, 50), 1),
        "p95 ms": round(percentile(latencies, 95), 1),
        "p99 ms": round(percentile(latencies, 99), 1),
        "req/s": round(len(outcomes) / load.seconds, 1),
        "peak server MiB": round(load.peak_mib),
        "CPU used by other jobs %": round(load.other_cpu_percent),
    }


def _rows(case: str, load: Load) -> list[dict]:
    rows = [_row(case, "all", load, load.outcomes)]
    for kind in MIX:
        picked = [outcome for outcome in load.outcomes if outcome.kind == kind]
        if picked:
            rows.append(_row(case, kind, load, picked))
    return rows


def _skip_reason() -> str | None:
    if not (DEV_DATA_DIR / "demo_api_key").exists():
        return f"no demo API key at {DEV_DATA_DIR / 'demo_api_key'}; {RUN_MAKE}."
    return None


def run(argv: list[str]) -> BenchResult:
    options = arguments_parse(argv)
    reason = _skip_reason()
    if reason:
        return BenchResult(NAME, skipped=reason)
    api_key = (DEV_DATA_DIR / "demo_api_key").read_text().strip()
    with demo_server(options) as (url, pid, env):
        demo = _demo_sample(env, api_key)
        if not demo.families or not demo.shoppers:
            return BenchResult(NAME, skipped=f"the demo shop '{demo.shop}' has no serving models or no shoppers; {RUN_MAKE}.")
        client = Client(url, api_key, demo, run_id=uuid.uuid4().hex[:8])

        def mixed(rng: random.Random) -> tuple[str, str]:
            return _draw(rng, demo, MIX)

        cached_shopper = demo.shoppers[0]

        def cached(rng: random.Random) -> tuple[str, str]:
            return "cached", cached_shopper

        # Each worker loads the catalog snapshot, the models and torch on its first requests: not timed.
        open_loop(client, rate=min(options.rate, 20), seconds=options.warmup_seconds, senders=8, draw=mixed, seed=1)
        client.request("cached", cached_shopper, time.perf_counter(), random.Random(0))
        common = dict(rate=options.rate, seconds=options.seconds, senders=options.senders)
        baseline = measured(pid, lambda: open_loop(client, draw=cached, seed=2, **common))
        uncached = measured(pid, lambda: open_loop(client, draw=mixed, seed=3, **common))
        saturation = measured(
            pid, lambda: closed_loop(client, clients=options.clients, seconds=options.saturation_seconds, draw=mixed, seed=4)
        )
    saturated = _rows(f"mix, {options.clients} clients closed loop", saturation)
    rows = [
        _row(f"cached page, {options.rate:g}/s open loop", "one shopper", baseline, baseline.outcomes),
        *_rows(f"mix, {options.rate:g}/s open loop", uncached),
        *saturated,
    ]
    overall = rows[1]
    ratio = overall["p50 ms"] / rows[0]["p50 ms"] if rows[0]["p50 ms"] else float("nan")
    server = f"{options.workers} {options.worker_class} workers" + (
        f" x {options.threads} threads" if options.worker_class == "gthread" else ""
    )
    notes = [
        f"gunicorn: {server}, on the dev data dir; shop '{demo.shop}', serving families: {', '.join(demo.families)}.",
        f"Mix {', '.join(f'{share} % {kind}' for kind, share in MIX.items())}; known and just-active shoppers drawn "
        f"from {len(demo.shoppers):,} with events; a just-active page is timed after its view event's POST.",
        "Unknown shoppers share one cold-start page, so most of their requests are cache hits by design.",
        f"Mix p50 over cached-page p50: {ratio:.1f}x. Target: p50 <= {TARGET_P50_MS} ms and p99 <= {TARGET_P99_MS} ms "
        f"at {options.rate:g}/s on 2 cores; measured p50 {overall['p50 ms']} ms, p99 {overall['p99 ms']} ms.",
        f"Saturation: {saturated[0]['req/s']} requests/s with {options.clients} closed-loop clients.",
    ]
    metrics = {
        "p50_ms": overall["p50 ms"], "p95_ms": overall["p95 ms"], "p99_ms": overall["p99 ms"],
        "errors": overall["errors"], "cached_p50_ms": rows[0]["p50 ms"], "p50_ratio": round(ratio, 2),
        "saturation_rps": saturated[0]["req/s"], "peak_server_mib": max(row["peak server MiB"] for row in rows),
    }
    return BenchResult(NAME, rows=rows, notes=notes, metrics=metrics)
