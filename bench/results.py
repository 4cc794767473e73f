"""What an experiment's results page costs when the shop is large: the page of an experiment in a shop of 10M
events and 1M shoppers, against the same page in a shop of 10k events, in the same run.

Each shop is generated in the bench data dir (.data/bench, its own embedded PostgreSQL: the demo is never
touched) by SQL, in minutes: items priced from 1 to 100, shoppers, and events over the last 90 days, three
in five impressions sent back from a served page on one of three rails, then views, clicks, add-to-carts and
purchases. An experiment (control against a holdout, half each) started 30 days ago; its rollups are counted
by the product's own recount (`rollups_rebuild`), timed. Then the results page, GET /console/experiments/<pk>/,
is asked through Django's test client by a logged-in admin: warm-up requests, then timed ones. The report
reads rollups only, so the two shops' pages should cost about the same.
"""

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime

from .common import BENCH_DATA_DIR, REPO_DIR, BenchResult, bench_env, embedded_stop, manage, percentile

NAME = "results"
TARGET_MS = 300
SMALL_EVENTS, SMALL_SHOPPERS = 10_000, 1_000
WARMUP, TIMED = 3, 20
HISTORY_DAYS, EXPERIMENT_DAYS = 90, 30
RAILS = ("for-you", "trending", "new-arrivals")


def arguments_parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench results")
    parser.add_argument("--events", type=int, default=10_000_000, help="events of the large shop (default 10M)")
    parser.add_argument("--shoppers", type=int, default=1_000_000, help="shoppers of the large shop (default 1M)")
    parser.add_argument("--items", type=int, default=10_000, help="items of each shop (default 10k)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# Events by g, the row number: a fixed mix of types, shoppers and items spread by multiplicative hashing,
# times spread over the history. Impressions, clicks and add-to-carts carry the context of a served page.
_EVENTS_GENERATE = """
    INSERT INTO catalog_event (shop_id, event_id, shopper_id, item_id, type, value, query, session_id, occurred_at,
                               context, received_at)
    SELECT %(shop)s, 'bench-' || g, %(first_shopper)s + (g * 2654435761) %% %(shoppers)s,
           %(first_item)s + (g * 40503) %% %(items)s, kind, CASE WHEN kind = 'purchase' THEN 1 END, '', '',
           now() - ((g * 7919) %% %(history_s)s) * interval '1 second',
           CASE WHEN kind IN ('impression', 'click', 'add_to_cart')
                THEN jsonb_build_object('request_id', 'r' || (g / 20), 'rail', (%(rails)s::text[])[1 + g %% 3], 'slot', g %% 10)
                ELSE '{}'::jsonb END,
           now()
    FROM (
        SELECT g, CASE WHEN g %% 100 < 60 THEN 'impression' WHEN g %% 100 < 80 THEN 'view' WHEN g %% 100 < 92 THEN 'click'
                       WHEN g %% 100 < 97 THEN 'add_to_cart' ELSE 'purchase' END AS kind
        FROM generate_series(%(start)s::bigint, %(stop)s::bigint) g
    ) generated
"""
_SHOPPERS_GENERATE = """
    INSERT INTO catalog_shopper (shop_id, external_id, attributes, personalization_opt_out, created_at)
    SELECT %(shop)s, 'shopper-' || g, '{}'::jsonb, false, now() FROM generate_series(1, %(shoppers)s) g
"""
EVENT_CHUNK = 1_000_000


def _progress(message: str) -> None:
    print(f"[bench results] {message}", file=sys.stderr, flush=True)


def _shop_generate(*, label: str, events: int, shoppers: int, items: int) -> dict:
    """A shop with its data and a running experiment whose rollups are counted; what was made and how long it took."""
    from datetime import timedelta
    from decimal import Decimal

    from django.db import connection
    from django.utils import timezone

    from catalog.models import Item, Shop, Shopper
    from merchandising.experiments.models import Experiment, Variant
    from merchandising.experiments.rollups import experiment_variant_totals, rollups_rebuild
    from merchandising.experiments.services import experiment_create, experiment_start, variant_add

    shop = Shop.objects.create(slug=f"bench-results-{label}-{datetime.now():%Y%m%d%H%M%S}", name=f"Results bench ({label})")
    started = time.perf_counter()
    Item.objects.bulk_create(
        (Item(shop=shop, external_id=f"item-{number}", title=f"Item {number}", price=Decimal(1 + number % 100))
         for number in range(items)),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute(_SHOPPERS_GENERATE, {"shop": shop.pk, "shoppers": shoppers})
    first_shopper = Shopper.objects.filter(shop=shop).order_by("pk").values_list("pk", flat=True).first()
    first_item = Item.objects.filter(shop=shop).order_by("pk").values_list("pk", flat=True).first()
    # Ids are taken in one statement each, so they run on without a gap.
    assert Shopper.objects.filter(shop=shop, pk__gte=first_shopper + shoppers).count() == 0
    for start in range(1, events + 1, EVENT_CHUNK):
        stop = min(start + EVENT_CHUNK - 1, events)
        with connection.cursor() as cursor:
            cursor.execute(_EVENTS_GENERATE, {
                "shop": shop.pk, "first_shopper": first_shopper, "shoppers": shoppers, "first_item": first_item,
                "items": items, "history_s": HISTORY_DAYS * 86400, "rails": list(RAILS), "start": start, "stop": stop,
            })
        _progress(f"{label}: {stop:,} of {events:,} events")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_event")
    generated_s = time.perf_counter() - started

    experiment = experiment_create(shop=shop, actor=None, name="Bench", primary_metric=Experiment.Metric.CONVERSION)
    variant_add(experiment=experiment, actor=None, key="control", name="Control", share=0.5, kind=Variant.Kind.CONTROL)
    variant_add(experiment=experiment, actor=None, key="b", name="B: holdout", share=0.5, kind=Variant.Kind.HOLDOUT)
    experiment = experiment_start(experiment=experiment, actor=None)
    since = timezone.now() - timedelta(days=EXPERIMENT_DAYS)
    Experiment.objects.filter(pk=experiment.pk).update(started_at=since)
    experiment.allocations.update(since=since)
    _progress(f"{label}: counting the rollups")
    started = time.perf_counter()
    rollups_rebuild(shop=shop)
    rollups_s = time.perf_counter() - started
    visitors = sum(totals.visitors for totals in experiment_variant_totals(experiment=experiment))
    return {"shop": shop.slug, "experiment": experiment.pk, "generated_s": generated_s, "rollups_s": rollups_s,
            "visitors": visitors}


def _page_timings(client, made: dict) -> list[float]:
    url = f"/console/experiments/{made['experiment']}/?shop={made['shop']}"
    timings = []
    for number in range(WARMUP + TIMED):
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.status_code
        if number >= WARMUP:
            timings.append(elapsed)
    return timings


def _worker(options: argparse.Namespace) -> None:
    """In the bench data dir's Django: generate both shops, time both results pages, print JSON."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    small = _shop_generate(label="small", events=SMALL_EVENTS, shoppers=SMALL_SHOPPERS, items=options.items)
    large = _shop_generate(label="large", events=options.events, shoppers=options.shoppers, items=options.items)
    admin = get_user_model().objects.create_superuser(f"bench-results-{datetime.now():%Y%m%d%H%M%S}", password=None)
    client = Client()
    client.force_login(admin)
    for made in (small, large):
        made["timings"] = _page_timings(client, made)
    print(json.dumps({"small": small, "large": large}))


def _row(case: str, events: int, shoppers: int, made: dict, baseline: float) -> dict:
    p50 = percentile(made["timings"], 50)
    return {
        "case": case, "events": events, "shoppers": shoppers, "experiment visitors": made["visitors"],
        "generated s": round(made["generated_s"], 1),
        "rollups recount s": round(made["rollups_s"], 1), "page p50 ms": round(p50, 1),
        "page p99 ms": round(percentile(made["timings"], 99), 1), "x baseline p50": round(p50 / baseline, 2),
    }


def run(argv: list[str]) -> BenchResult:
    options = arguments_parse(argv)
    if options.worker:
        _worker(options)
        sys.exit(0)
    env = bench_env(BENCH_DATA_DIR)
    BENCH_DATA_DIR.mkdir(parents=True, exist_ok=True)
    try:
        manage("migrate", "--noinput", env=env)
        completed = subprocess.run(
            [sys.executable, "-m", "bench", NAME, "--worker", *argv], cwd=REPO_DIR, env=env, stdout=subprocess.PIPE, text=True,
        )
    finally:
        embedded_stop(env=env)
    if completed.returncode != 0:
        raise RuntimeError(f"the results bench's worker failed (exit {completed.returncode}); its log is above")
    found = json.loads(completed.stdout.strip().splitlines()[-1])
    baseline = percentile(found["small"]["timings"], 50)
    rows = [
        _row("small shop (baseline)", SMALL_EVENTS, SMALL_SHOPPERS, found["small"], baseline),
        _row("large shop", options.events, options.shoppers, found["large"], baseline),
    ]
    large_p50 = rows[1]["page p50 ms"]
    notes = [
        f"The results page of an experiment running for {EXPERIMENT_DAYS} days (control against a holdout, half each), "
        f"in shops whose events span {HISTORY_DAYS} days; {TIMED} requests timed after {WARMUP} of warm-up, in one "
        f"process through Django's test client (no HTTP). Target: p50 <= {TARGET_MS} ms in the large shop: "
        f"{'met' if large_p50 <= TARGET_MS else 'NOT met'} ({large_p50} ms).",
    ]
    metrics = {"large_p50_ms": large_p50, "large_over_small": rows[1]["x baseline p50"]}
    return BenchResult(NAME, rows=rows, notes=notes, metrics=metrics)
