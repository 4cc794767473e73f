"""Homepage latency on the trained demo shop: GET /api/v1/homepage/{shopper} at a fixed rate, under locust.

The load comes from locust (bench/locustfile.py), run headless as a child process so gevent's
monkey-patching never touches this one. At a fixed rate (100 requests/s by default) `--users` locust
users (FastHttpUser) each send one request every users/rate seconds from a random phase; a user whose
request comes back late sends its next one at once and never catches up, so a server that cannot keep
up shows as an achieved rate (req/s) below the target. Latency is locust's response time of each page
GET. The mix: 60 % known shoppers at random, 20 % unknown ids, 20 % shoppers who just acted (a fresh
view event posted, then their page; only the page is timed). The baseline sends the same load to one
shopper's cached page.

Known and just-active shoppers are drawn from the `--precomputed` most recently active ones, whose
pages `manage.py precompute_homepages` caches first, as the worker does every 10 minutes: a known
shopper's page is then a cache hit, and a just-active one is composed fresh (their event dropped it).
The same mix is run again over shoppers whose pages nobody precomputed, so that every known page is
composed on request too. `--clients` users with no wait then measure throughput at saturation on the
precomputed mix. Last, the cache is emptied and every page is asked right after a view event of its
shopper, shoppers drawn uniformly among all the demo's, at the fixed rate and in a closed loop: no
cache or precompute can answer those. Every request is logged by the locustfile, and percentiles are
computed here over the whole log.

It serves the dev data dir (.data, where `make run` put the demo shop and its models) and writes only
the view events of the just-active shoppers, with event ids starting `bench-homepage-`.
"""

import argparse
import json
import os
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

from .common import (
    BenchResult,
    MemorySampler,
    OtherLoad,
    _exclusive,
    _postgres_pid,
    dev_data_env,
    gunicorn_serving,
    manage,
    percentile,
)
from .common.swarm import DEV_DATA_DIR, INSTALL_LOCUST, LOCUST, PRECOMPUTED, RUN_MAKE, Demo, Outcome, Swarm

NAME = "homepage"
MIX = {"known": 60, "unknown": 20, "just-active": 20}
FRESH = {"just-active": 100}
TARGET_FRESH_SATURATION = 150
CACHE_EMPTY = "from django.core.cache import cache; cache.clear()"
TARGET_P50_MS = 20
TARGET_P99_MS = 80
OTHER_SHOPPERS = 5000
SAMPLE_ITEMS = 2000
WARMUP_USERS = 10
WARMUP_RATE_MAX = 20

# Printed as JSON by `manage.py shell`: the demo shop's serving models, the shoppers the precompute
# picks, as many others at random, and some items.
DEMO_SAMPLE = """
import json, random
from django.conf import settings
from catalog.models import Item, Shopper
from catalog.services import api_key_authenticate
from homepage.services import shoppers_recently_active
from recommender.selectors import active_versions
shop = api_key_authenticate(raw_key={key!r}).shop
recent = [s.external_id for s in shoppers_recently_active(shop=shop, days=settings.VITRINE_PRECOMPUTE_DAYS, limit={precomputed})]
taken = set(recent)
everyone = list(Shopper.objects.filter(shop=shop, events__isnull=False, personalization_opt_out=False).distinct()
                .values_list("external_id", flat=True))
others = [s for s in everyone if s not in taken]
items = list(Item.objects.filter(shop=shop, available=True).values_list("external_id", flat=True))
rng = random.Random(0)
print(json.dumps({{
    "shop": shop.slug,
    "families": sorted(version.family for version in active_versions(shop=shop)),
    "shoppers": recent,
    "others": rng.sample(others, min({others}, len(others))),
    "items": rng.sample(items, min({items}, len(items))),
    "everyone": everyone,
}}))
"""


@dataclass
class Load:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    peak_mib: float = 0.0
    other_cpu_percent: float = 0.0


def _whole_seconds(text: str) -> int:
    """Locust's --run-time takes whole seconds, and 0 would mean forever."""
    seconds = int(text)
    if seconds < 1:
        raise argparse.ArgumentTypeError("at least 1 second")
    return seconds


def arguments_parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench homepage", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="target requests per second in the fixed-rate cases (default 100)")
    parser.add_argument("--seconds", type=_whole_seconds, default=60, help="duration of each fixed-rate case (default 60)")
    parser.add_argument("--saturation-seconds", type=_whole_seconds, default=15, help="saturation duration (default 15)")
    parser.add_argument("--clients", type=int, default=8, help="locust users with no wait at saturation (default 8)")
    parser.add_argument("--users", type=int, default=50,
                        help="locust users sharing the fixed rate, each at rate/users requests/s (default 50)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4, as gunicorn.conf.py serves)")
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync",
                        help="default sync: on 2 cores gthread only adds GIL contention (measured: 28 vs 19 req/s at saturation)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker (default 4)")
    parser.add_argument("--warmup-seconds", type=int, default=10, help="light load before timing, not recorded; 0: none (default 10)")
    parser.add_argument("--precomputed", type=int, default=PRECOMPUTED,
                        help=f"most recently active shoppers whose pages are precomputed and who make the mix (default {PRECOMPUTED})")
    return parser.parse_args(argv)


def _demo_sample(env: dict[str, str], api_key: str, precomputed: int) -> Demo:
    code = DEMO_SAMPLE.format(key=api_key, precomputed=precomputed, others=OTHER_SHOPPERS, items=SAMPLE_ITEMS)
    found = json.loads(manage("shell", "-c", code, env=env).strip().splitlines()[-1])
    return Demo(**found)


@contextmanager
def demo_server(options: argparse.Namespace):
    """gunicorn on the dev data dir; its embedded servers are stopped after only if this run started them."""
    log_path = DEV_DATA_DIR / "bench-homepage-gunicorn.log"
    threads = ("--worker-class", "gthread", "--threads", str(options.threads)) if options.worker_class == "gthread" else ()
    with _exclusive(DEV_DATA_DIR / ".bench-homepage.lock"), dev_data_env(DEV_DATA_DIR) as env:
        with gunicorn_serving(env=env, log_path=log_path, workers=options.workers, extra_args=threads) as (process, url):
            yield url, process.pid, env


def _precompute(env: dict[str, str], shop: str, count: int) -> float:
    """Seconds taken to cache the pages of the `count` most recently active shoppers, as the worker's schedule does."""
    started = time.perf_counter()
    manage("precompute_homepages", "--shop", shop, "--limit", str(count), env=env)
    return time.perf_counter() - started


def measured(pid: int, work) -> Load:
    # Locust runs as this process's child, so OtherLoad(os.getpid(), …) counts its CPU as ours, running or reaped.
    with MemorySampler(pid) as memory, OtherLoad(os.getpid(), pid, _postgres_pid(DEV_DATA_DIR)) as other:
        outcomes, seconds = work()
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
    if not LOCUST.exists():
        return f"locust, the load generator, is not installed; {INSTALL_LOCUST}."
    return None


def run(argv: list[str]) -> BenchResult:
    options = arguments_parse(argv)
    reason = _skip_reason()
    if reason:
        return BenchResult(NAME, skipped=reason)
    api_key = (DEV_DATA_DIR / "demo_api_key").read_text().strip()
    with demo_server(options) as (url, pid, env), tempfile.TemporaryDirectory(prefix="bench-homepage-") as workdir:
        demo = _demo_sample(env, api_key, options.precomputed)
        if not demo.families or not demo.shoppers or not demo.others:
            return BenchResult(NAME, skipped=f"the demo shop '{demo.shop}' has no serving models or too few shoppers; {RUN_MAKE}.")
        swarm = Swarm(url, api_key, demo, Path(workdir))
        precompute_s = _precompute(env, demo.shop, options.precomputed)
        # Workers load the catalog, rules and models as they start (gunicorn.conf.py); the counts shared by
        # a shop's pages and the baseline's page are cached on first use: not timed. The warm-up's
        # shoppers are the others, so it leaves the precomputed pages as they are.
        if options.warmup_seconds:
            swarm.run(MIX, shoppers=demo.others, users=WARMUP_USERS, seconds=options.warmup_seconds,
                      rate=min(options.rate, WARMUP_RATE_MAX), seed=1, warm_cached=True)
        fixed_rate = dict(users=options.users, seconds=options.seconds, rate=options.rate)
        baseline = measured(pid, lambda: swarm.run({"cached": 100}, shoppers=demo.shoppers, seed=2, **fixed_rate))
        precomputed = measured(pid, lambda: swarm.run(MIX, shoppers=demo.shoppers, seed=3, **fixed_rate))
        uncached = measured(pid, lambda: swarm.run(MIX, shoppers=demo.others, seed=4, **fixed_rate))
        saturation = measured(pid, lambda: swarm.run(
            MIX, shoppers=demo.shoppers, users=options.clients, seconds=options.saturation_seconds, rate=0, seed=5
        ))
        manage("shell", "-c", CACHE_EMPTY, env=env)
        if options.warmup_seconds:  # the shop's shared counts, not any shopper's page (each page follows a new event)
            swarm.run(FRESH, shoppers=demo.everyone, users=WARMUP_USERS, seconds=options.warmup_seconds,
                      rate=min(options.rate, WARMUP_RATE_MAX), seed=6)
        fresh_rate = measured(pid, lambda: swarm.run(FRESH, shoppers=demo.everyone, seed=7, **fixed_rate))
        fresh_saturation = measured(pid, lambda: swarm.run(
            FRESH, shoppers=demo.everyone, users=options.clients, seconds=options.saturation_seconds, rate=0, seed=8
        ))
    fixed = f"{options.rate:g}/s, {options.users} users"
    saturated = _rows(f"mix, precomputed, {options.clients} users closed loop", saturation)
    every_fresh = _row(f"every page fresh, {fixed}", "after its view", fresh_rate, fresh_rate.outcomes)
    fresh_saturated = _row(f"every page fresh, {options.clients} users closed loop", "after its view", fresh_saturation,
                           fresh_saturation.outcomes)
    rows = [
        _row(f"cached page, {fixed}", "one shopper", baseline, baseline.outcomes),
        *_rows(f"mix, precomputed, {fixed}", precomputed),
        *_rows(f"mix, nothing precomputed, {fixed}", uncached),
        *saturated,
        every_fresh,
        fresh_saturated,
    ]
    fresh = next(row for row in rows if row["case"].startswith("mix, nothing") and row["requests"] == "all")
    overall = rows[1]
    ratio = overall["p50 ms"] / rows[0]["p50 ms"] if rows[0]["p50 ms"] else float("nan")
    server = f"{options.workers} {options.worker_class} workers" + (
        f" x {options.threads} threads" if options.worker_class == "gthread" else ""
    )
    notes = [
        f"gunicorn: {server}, on the dev data dir; shop '{demo.shop}', serving families: {', '.join(demo.families)}.",
        f"Load generator: locust {version('locust')} (FastHttpUser), headless in its own process on the same cores; "
        f"{options.users} users each at {options.rate / options.users:g} requests/s from a random phase, without "
        "catching up when late (req/s is the achieved rate); latency is locust's response time of the page GET.",
        f"Mix {', '.join(f'{share} % {kind}' for kind, share in MIX.items())}; a just-active page is timed after its "
        "view event's POST. Unknown shoppers share one cold-start page, so most of their requests are cache hits by design.",
        f"Precomputed: the pages of the {len(demo.shoppers):,} most recently active shoppers, cached by "
        f"`manage.py precompute_homepages` in {precompute_s:.0f} s before the runs (as the worker does every 10 minutes); "
        "known and just-active shoppers are drawn from them.",
        f"Nothing precomputed: known and just-active shoppers drawn from {len(demo.others):,} others, so every page of "
        f"theirs is composed on request: p50 {fresh['p50 ms']} ms, p99 {fresh['p99 ms']} ms at an achieved {fresh['req/s']}/s.",
        f"Mix p50 over cached-page p50: {ratio:.1f}x. Target: p50 <= {TARGET_P50_MS} ms and p99 <= {TARGET_P99_MS} ms "
        f"at {options.rate:g}/s on 2 cores; measured p50 {overall['p50 ms']} ms, p99 {overall['p99 ms']} ms "
        f"at an achieved {overall['req/s']}/s.",
        f"Saturation: {saturated[0]['req/s']} requests/s with {options.clients} locust users in a closed loop (no wait).",
        f"Every page fresh: the cache emptied, then each page asked right after its shopper's view event (POSTed, so "
        f"the page must reflect it), shoppers drawn uniformly among all {len(demo.everyone):,}: p50 {every_fresh['p50 ms']} ms, "
        f"p99 {every_fresh['p99 ms']} ms at an achieved {every_fresh['req/s']} pages/s plus as many events (target: p50 <= "
        f"{TARGET_P50_MS} ms, p99 <= {TARGET_P99_MS} ms at {options.rate:g}/s); closed loop {fresh_saturated['req/s']} "
        f"fresh pages/s (target >= {TARGET_FRESH_SATURATION})."
    ]
    metrics = {
        "p50_ms": overall["p50 ms"], "p95_ms": overall["p95 ms"], "p99_ms": overall["p99 ms"],
        "errors": overall["errors"], "cached_p50_ms": rows[0]["p50 ms"], "p50_ratio": round(ratio, 2),
        "saturation_rps": saturated[0]["req/s"], "uncached_p50_ms": fresh["p50 ms"], "uncached_p99_ms": fresh["p99 ms"],
        "fresh_p50_ms": every_fresh["p50 ms"], "fresh_p99_ms": every_fresh["p99 ms"],
        "fresh_saturation_pps": fresh_saturated["req/s"], "precompute_s": round(precompute_s), "peak_server_mib": max(row["peak server MiB"] for row in rows),
    }
    return BenchResult(NAME, rows=rows, notes=notes, metrics=metrics)
