"""What one homepage costs the server, in one process and with no other load: the page of a shopper who
just acted (composed fresh), the view event's ingest before it, and a cached page as the baseline; and the
same pages while an experiment runs, to show what serving one adds.

Under load (bench/homepage.py) these costs queue behind each other and the load generator on the same
cores, so they move with everything else the machine does; alone, they show what a change to the
composition itself gained. It runs on the dev data dir (.data, where `make run` put the demo shop and
its models), with the web workers' single-threaded numerics (config/threads.py), through the same
service calls the API makes, and writes only view events whose ids start `bench-compose-`, and the experiments
it runs (named bench-compose, deleted after; their audit entries stay) with a draft it discards.
"""

import argparse
import json

from config.threads import numerics_single_threaded

from .common import BenchResult, dev_data_env, manage, percentile
from .common.swarm import DEV_DATA_DIR, PRECOMPUTED, RUN_MAKE

NAME = "compose"

# Printed as JSON by `manage.py shell`. Per round: a shopper's page is served twice (the second a cache
# hit, timed), a view event of theirs is ingested (timed), and their page is served again, composed fresh (timed).
TIMING = """
import json, random, time, uuid
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from catalog.models import Item
from catalog.services import api_key_authenticate, event_batch_ingest
from homepage.services import homepage_serve, shoppers_recently_active
from merchandising.experiments.models import Variant
from merchandising.experiments.services import experiment_create, experiment_start, experiment_stop, variant_add
from merchandising.services import default_rails_ensure, draft_discard, draft_open, rules_change
shop = api_key_authenticate(raw_key={key!r}).shop
shoppers = [s.external_id for s in shoppers_recently_active(shop=shop, days=settings.VITRINE_PRECOMPUTE_DAYS, limit={shoppers})]
items = list(Item.objects.filter(shop=shop, available=True).values_list("external_id", flat=True))
rng = random.Random(0)
# The experiment of the blocks that run in one: control against a draft that retitles the first rail, all traffic.
author, _ = get_user_model().objects.get_or_create(username="bench-compose")
draft = draft_open(shop=shop, author=author)
rules_change(shop=shop, actor=author, operation="rail_update", summary="Bench", rail=default_rails_ensure(shop=shop)[0],
             title="Picked for you")
def experiment_started():
    experiment = experiment_create(shop=shop, actor=None, name="bench-compose", primary_metric="click_through")
    variant_add(experiment=experiment, actor=None, key="control", name="Control", share=0.5, kind=Variant.Kind.CONTROL)
    variant_add(experiment=experiment, actor=None, key="b", name="B", share=0.5, kind=Variant.Kind.DRAFT, draft=draft)
    return experiment_start(experiment=experiment, actor=None)
def timed(call):
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000
def serve(shopper):
    return timed(lambda: homepage_serve(shop=shop, shopper_external_id=shopper))
def view(shopper):
    event = {{"event_id": f"bench-compose-{{uuid.uuid4().hex}}", "shopper_id": shopper, "type": "view",
             "item_id": rng.choice(items), "occurred_at": timezone.now().isoformat()}}
    return timed(lambda: event_batch_ingest(shop=shop, events=[event]))
timings = {{"cached": [], "ingest": [], "fresh": [], "cached_experiment": [], "fresh_experiment": []}}
experiments = []
# Blocks alternate, without an experiment and in one, so that both see the same machine; each warms up first.
for block in range({blocks} if shoppers and items else 0):
    in_experiment = block % 2 == 1
    if in_experiment:
        experiments.append(experiment_started())
    for number in range({warmup} + {pages} // {blocks} * 2):
        shopper = rng.choice(shoppers)
        serve(shopper)
        measured = {{"cached": serve(shopper), "ingest": view(shopper), "fresh": serve(shopper)}}
        if number >= {warmup}:
            for kind, ms in measured.items():
                if in_experiment and kind != "ingest":
                    kind += "_experiment"
                timings[kind].append(ms)
    if in_experiment:
        experiment_stop(experiment=experiments[-1], actor=None)
for experiment in experiments:
    experiment.delete()
draft_discard(draft=draft, actor=author)
print(json.dumps({{"shop": shop.slug, "items": len(items), "shoppers": len(shoppers), **timings}}))
"""
BLOCKS = 6
WARMUP = 30


def arguments_parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench compose")
    parser.add_argument("--pages", type=int, default=300, help="just-active shoppers' pages timed (default 300)")
    parser.add_argument("--shoppers", type=int, default=PRECOMPUTED,
                        help=f"most recently active shoppers drawn from (default {PRECOMPUTED})")
    return parser.parse_args(argv)


def _row(case: str, timings: list[float], baseline: float) -> dict:
    p50 = percentile(timings, 50)
    return {
        "case": case, "requests": len(timings), "p50 ms": round(p50, 2), "p90 ms": round(percentile(timings, 90), 2),
        "p99 ms": round(percentile(timings, 99), 2), "x cached p50": round(p50 / baseline, 1) if baseline else None,
    }


def run(argv: list[str]) -> BenchResult:
    options = arguments_parse(argv)
    if not (DEV_DATA_DIR / "demo_api_key").exists():
        return BenchResult(NAME, skipped=f"no demo API key at {DEV_DATA_DIR / 'demo_api_key'}; {RUN_MAKE}.")
    api_key = (DEV_DATA_DIR / "demo_api_key").read_text().strip()
    code = TIMING.format(key=api_key, shoppers=options.shoppers, warmup=WARMUP, pages=options.pages, blocks=BLOCKS)
    with dev_data_env(DEV_DATA_DIR) as env:
        # With the web workers' thread pools, so that a page costs here what it costs there.
        found = json.loads(manage("shell", "-c", code, env=numerics_single_threaded(env)).strip().splitlines()[-1])
    if not found["fresh"]:
        return BenchResult(NAME, skipped=f"the demo shop '{found['shop']}' has no recently active shoppers; {RUN_MAKE}.")
    baseline = percentile(found["cached"], 50)
    rows = [
        _row("cached page (baseline)", found["cached"], baseline),
        _row("view event ingested", found["ingest"], baseline),
        _row("just-active page, composed fresh", found["fresh"], baseline),
        _row("cached page, in a running experiment", found["cached_experiment"], baseline),
        _row("just-active page, composed fresh, in a running experiment", found["fresh_experiment"], baseline),
    ]
    added = rows[4]["p50 ms"] - rows[2]["p50 ms"]
    notes = [
        f"One process, no other load: the service calls of GET /api/v1/homepage and POST /api/v1/events, without "
        f"HTTP. Shop '{found['shop']}' ({found['items']:,} available items); each round draws one of its "
        f"{found['shoppers']:,} most recently active shoppers, times their cached page, a view event of theirs and "
        f"their page composed fresh after it. {WARMUP} rounds of warm-up are not timed.",
        f"The rounds run in {BLOCKS} alternating blocks, half of them while an experiment holds all the traffic "
        f"(control against a draft that retitles a rail, half each): serving inside it added {added:+.2f} ms to the "
        f"fresh page's p50 (target: at most 1 ms; {'met' if added <= 1 else 'NOT met'}).",
    ]
    metrics = {"cached_p50_ms": rows[0]["p50 ms"], "ingest_p50_ms": rows[1]["p50 ms"], "fresh_p50_ms": rows[2]["p50 ms"],
               "fresh_p99_ms": rows[2]["p99 ms"], "fresh_over_cached": rows[2]["x cached p50"],
               "experiment_adds_p50_ms": round(added, 2)}
    return BenchResult(NAME, rows=rows, notes=notes, metrics=metrics)
