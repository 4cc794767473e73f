"""A synthetic shop at several catalog sizes, served by gunicorn as in production: what each web worker holds, what
a page costs, what a single upsert costs the next request, and what catalog writes at full speed cost the pages
served meanwhile; with the training time of each model family.

Each size's shop is generated in the bench data dir (.data/bench, its own embedded servers: the demo is never
touched), not committed: items by SQL (titles of three words drawn from the demo's titles, the demo's categories
and brands), as many shoppers as items and ten events per item (views, add-to-carts, purchases over 90 days), and
a text vector per item (the demo's MiniLM vectors, each a demo item's plus noise, stored under the serving
encoder and the item's text hash, so training embeds nothing). Then the four families are trained (`manage.py
train`, `--train-limit` seconds for the sequential model) and, from `VITRINE_ANN_MIN_ITEMS` vectors, the vector
index is built. gunicorn (`--workers`, 4 by default) serves it; every worker loads the shop before its first
request. Measured:

- RSS of each web worker after warm-up and after the loads below;
- pages of shoppers drawn uniformly among all of them (fresh: nobody precomputed them) at `--rate` requests/s
  (50) for `--seconds` (20): p50, p99, achieved rate;
- the request after a single item upsert (similar items of an item, composed from the worker's catalog copy),
  10 times, against the same request with nothing written;
- catalog upserts as fast as one client sends them (500 items a request, new prices) while pages are served at
  `--rate`: items/s and the pages' p50/p99.
"""

import argparse
import json
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import numpy as np
import psutil
import requests

from .common import BENCH_DATA_DIR, REPO_DIR, BenchResult, bench_env, embedded_stop, gunicorn_serving, manage, percentile
from .common.datasets import DEMO_DATA, beauty_load, embeddings_cached

NAME = "scale"
TARGET_RSS_MIB = 1024
TARGET_UPSERT_S = 1.0
TARGET_UPSERTS_PER_S = 1000
TARGET_P99_UNDER_WRITES_MS = 150
NOISE = 0.05
UPSERT_BATCH = 500
SINGLE_UPSERTS = 10
FAMILIES = ("popularity", "mf", "text", "sequential")

_ITEMS_GENERATE = """
    INSERT INTO catalog_item (shop_id, external_id, title, description, category_path, brand, price, currency, image_url,
                              available, attributes, content_hash, interaction_count, created_at, updated_at, change_xid)
    SELECT %(shop)s, 'item-' || g,
           initcap(w[1 + (g * 7) %% cardinality(w)] || ' ' || w[1 + (g * 13) %% cardinality(w)] || ' ' || w[1 + (g * 31) %% cardinality(w)]),
           '', c[1 + (g * 17) %% cardinality(c)], b[1 + (g * 11) %% cardinality(b)], 1 + g %% 100, 'EUR', '', true, '{}',
           'bench-' || g, 0, now() - (g %% 8640000) * interval '1 second', now(), 0
    FROM generate_series(1, %(items)s) g, (SELECT %(words)s::text[] AS w, %(categories)s::text[] AS c, %(brands)s::text[] AS b) vocabulary
"""
_SHOPPERS_GENERATE = """
    INSERT INTO catalog_shopper (shop_id, external_id, attributes, personalization_opt_out, created_at)
    SELECT %(shop)s, 'shopper-' || g, '{}'::jsonb, false, now() FROM generate_series(1, %(shoppers)s) g
"""
_EVENTS_GENERATE = """
    INSERT INTO catalog_event (shop_id, event_id, shopper_id, item_id, type, value, query, session_id, occurred_at, context, received_at)
    SELECT %(shop)s, 'scale-' || g, %(first_shopper)s + (g * 2654435761) %% %(shoppers)s, %(first_item)s + (g * 40503) %% %(items)s,
           CASE WHEN g %% 20 < 16 THEN 'view' WHEN g %% 20 < 19 THEN 'add_to_cart' ELSE 'purchase' END, NULL, '', '',
           now() - ((g * 7919) %% 7776000) * interval '1 second', '{}'::jsonb, now()
    FROM generate_series(%(start)s::bigint, %(stop)s::bigint) g
"""
EVENT_CHUNK = 1_000_000
EMBED_CHUNK = 5000


def arguments_parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench scale")
    parser.add_argument("--sizes", default="10000,100000", help="catalog sizes, comma-separated (1000000 adds the largest)")
    parser.add_argument("--rate", type=float, default=50.0, help="pages per second (default 50)")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of each load (default 20)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--train-limit", type=float, default=60.0, help="seconds of sequential training (default 60)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _progress(message: str) -> None:
    print(f"[bench scale] {message}", file=sys.stderr, flush=True)


def _vocabulary() -> dict[str, list[str]]:
    data = beauty_load(DEMO_DATA)
    words = sorted({word for text in data.item_texts for word in text.split(".")[0].split() if word.isalpha() and len(word) > 3})
    categories = sorted({text.split("Category: ")[1].split(".")[0] for text in data.item_texts if "Category: " in text})
    brands = sorted({text.split("Brand: ")[1].split(".")[0] for text in data.item_texts if "Brand: " in text})
    return {"words": words, "categories": categories, "brands": brands}


def _vectors_store(shop, base) -> None:
    """A vector per item, stored as the serving encoder's for the item's text: training embeds none of them."""
    from catalog.models import Item
    from recommender.ml.nets.text_encoder import item_text
    from recommender.models import ItemEmbedding
    from recommender.services.embeddings import serving_encoder, text_hash

    encoder = serving_encoder(shop=shop).key
    rng = np.random.default_rng(0)
    rows = list(Item.objects.filter(shop=shop).order_by("pk").values_list("pk", "title", "brand", "category_path", "description"))
    for start in range(0, len(rows), EMBED_CHUNK):
        chunk = rows[start : start + EMBED_CHUNK]
        vectors = base[rng.integers(0, len(base), len(chunk))] + NOISE * rng.standard_normal((len(chunk), base.shape[1]))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        ItemEmbedding.objects.bulk_create(
            ItemEmbedding(item_id=pk, encoder=encoder, text_hash=text_hash(item_text(title, brand, path, description)), vector=vector)
            for (pk, title, brand, path, description), vector in zip(chunk, vectors)
        )
        _progress(f"{min(start + EMBED_CHUNK, len(rows)):,} of {len(rows):,} vectors")


def _worker(options: argparse.Namespace) -> None:
    """In the bench data dir's Django: generate the shop, print JSON of what was made."""
    import django

    django.setup()
    from django.db import connection

    from catalog.models import Item, Shop, Shopper
    from catalog.services import api_key_create

    size = options.size
    shop = Shop.objects.create(slug=f"bench-scale-{size}-{datetime.now():%Y%m%d%H%M%S}", name=f"Scale bench ({size:,} items)")
    _, api_key = api_key_create(shop=shop, name="bench")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(_ITEMS_GENERATE, {"shop": shop.pk, "items": size, **_vocabulary()})
        cursor.execute(_SHOPPERS_GENERATE, {"shop": shop.pk, "shoppers": size})
    first_shopper = Shopper.objects.filter(shop=shop).order_by("pk").values_list("pk", flat=True).first()
    first_item = Item.objects.filter(shop=shop).order_by("pk").values_list("pk", flat=True).first()
    events = 10 * size
    for start in range(1, events + 1, EVENT_CHUNK):
        with connection.cursor() as cursor:
            cursor.execute(_EVENTS_GENERATE, {
                "shop": shop.pk, "first_shopper": first_shopper, "shoppers": size, "first_item": first_item, "items": size,
                "start": start, "stop": min(start + EVENT_CHUNK - 1, events),
            })
        _progress(f"{min(start + EVENT_CHUNK - 1, events):,} of {events:,} events")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_item; ANALYZE catalog_event; ANALYZE catalog_shopper")
    _vectors_store(shop, np.load(options.base))
    print(json.dumps({"shop": shop.slug, "api_key": api_key, "events": events, "generated_s": time.perf_counter() - started}))


def _trained(env: dict[str, str], shop: str, limit: float) -> dict[str, float]:
    """Seconds each family took to train, as `manage.py train` reports them."""
    families = [argument for family in FAMILIES for argument in ("--family", family)]
    printed = manage("train", "--shop", shop, *families, "--time-limit", str(limit), env=env)
    seconds = {}
    for line in printed.splitlines():
        words = line.split()
        if words and words[0] in FAMILIES and " in " in line:
            seconds[words[0]] = float(line.split(" in ")[1].split(" s")[0])
    return seconds


class Client:
    """HTTP for many threads: one keep-alive session per thread."""

    def __init__(self, url: str, api_key: str):
        self.url, self.headers, self.local = url, {"Authorization": f"Token {api_key}"}, threading.local()

    def request(self, method: str, path: str, **kwargs) -> float:
        session = getattr(self.local, "session", None) or requests.Session()
        self.local.session = session
        started = time.perf_counter()
        response = session.request(method, f"{self.url}{path}", headers=self.headers, timeout=60, **kwargs)
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        return elapsed


def _pages_at_rate(client: Client, shoppers: int, rate: float, seconds: float, seed: int) -> tuple[list[float], float]:
    """Fresh pages of shoppers drawn uniformly (by `seed`: each load its own), sent at `rate`; (latencies in s,
    achieved rate)."""
    rng = random.Random(seed)
    count = int(rate * seconds)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=32) as pool:
        futures = []
        for number in range(count):
            delay = started + number / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(client.request, "GET", f"/api/v1/homepage/shopper-{rng.randint(1, shoppers)}"))
        latencies = [future.result() for future in futures]
    return latencies, count / (time.perf_counter() - started)


def _upserts_while(client: Client, size: int, stop: threading.Event) -> int:
    """Items upserted (new prices, 500 a request) until `stop` is set."""
    upserted, round_number = 0, 0
    while not stop.is_set():
        round_number += 1
        first = random.Random(round_number).randint(1, max(1, size - UPSERT_BATCH))
        batch = [{"item_id": f"item-{number}", "title": f"Item {number}", "price": f"{(number + round_number) % 100 + 1}.00"}
                 for number in range(first, first + UPSERT_BATCH)]
        client.request("POST", "/api/v1/items", json=batch)
        upserted += len(batch)
    return upserted


def _rss_mib(master: psutil.Process) -> list[float]:
    return sorted(child.memory_info().rss / 2**20 for child in master.children())


def _served(env: dict[str, str], made: dict, options: argparse.Namespace, size: int) -> dict:
    log_path = BENCH_DATA_DIR / f"scale-{size}-gunicorn.log"
    with gunicorn_serving(env=env, log_path=log_path, workers=options.workers) as (process, url):
        client = Client(url, made["api_key"])
        master = psutil.Process(process.pid)
        deadline = time.monotonic() + 600
        while log_path.read_text().count("warmed up") < options.workers and time.monotonic() < deadline:
            time.sleep(1)
        for number in range(8 * options.workers):
            client.request("GET", f"/api/v1/items/item-{number + 1}/similar")
        rss_warm = _rss_mib(master)
        pages, achieved = _pages_at_rate(client, size, options.rate, options.seconds, seed=1)
        steady = [client.request("GET", "/api/v1/items/item-1/similar") for _ in range(SINGLE_UPSERTS)]
        after_upsert = []
        for number in range(SINGLE_UPSERTS):
            client.request("POST", "/api/v1/items", json=[{"item_id": "item-2", "title": f"Item two, edition {number}"}])
            after_upsert.append(client.request("GET", "/api/v1/items/item-1/similar"))
        stop = threading.Event()
        with ThreadPoolExecutor(max_workers=1) as writer:
            upserting = writer.submit(_upserts_while, client, size, stop)
            started = time.perf_counter()
            pages_writing, achieved_writing = _pages_at_rate(client, size, options.rate, options.seconds, seed=2)
            stop.set()
            upserted = upserting.result()
            upsert_rate = upserted / (time.perf_counter() - started)
        return {
            "rss_warm": rss_warm, "rss_end": _rss_mib(master), "pages": pages, "achieved": achieved, "steady": steady,
            "after_upsert": after_upsert, "pages_writing": pages_writing, "achieved_writing": achieved_writing,
            "upsert_rate": upsert_rate,
        }


def _ms(values: list[float], q: float) -> float:
    return round(percentile(values, q) * 1000, 1)


def _row(size: int, made: dict, served: dict) -> dict:
    return {
        "items": size, "events": made["events"], "generated s": round(made["generated_s"]),
        **{f"train {family} s": made["trained"].get(family) for family in FAMILIES},
        "worker RSS MiB (max)": round(max(served["rss_end"])),
        "page p50 ms": _ms(served["pages"], 50), "page p99 ms": _ms(served["pages"], 99),
        "pages/s": round(served["achieved"], 1),
        "steady request ms": _ms(served["steady"], 50), "after 1 upsert ms": _ms(served["after_upsert"], 50),
        "upserts/s": round(served["upsert_rate"]), "page p99 while writing ms": _ms(served["pages_writing"], 99),
    }


def run(argv: list[str]) -> BenchResult:
    options = arguments_parse(argv)
    if options.worker:
        _worker(options)
        sys.exit(0)
    base, _ = embeddings_cached(beauty_load(DEMO_DATA).item_texts, "cpu")
    base_path = BENCH_DATA_DIR / "scale-base-vectors.npy"
    BENCH_DATA_DIR.mkdir(parents=True, exist_ok=True)
    np.save(base_path, base)
    env = bench_env(BENCH_DATA_DIR)
    rows = []
    try:
        manage("migrate", "--noinput", env=env)
        for size in [int(size) for size in options.sizes.split(",")]:
            completed = subprocess.run(
                [sys.executable, "-m", "bench", NAME, "--worker", "--size", str(size), "--base", str(base_path)],
                cwd=REPO_DIR, env=env, stdout=subprocess.PIPE, text=True,
            )
            if completed.returncode != 0:
                raise RuntimeError(f"generating the {size:,}-item shop failed (exit {completed.returncode}); its log is above")
            made = json.loads(completed.stdout.strip().splitlines()[-1])
            _progress(f"{size:,} items: training")
            made["trained"] = _trained(env, made["shop"], options.train_limit)
            manage("shell", "-c", "from recommender.services import vector_indexes_refresh; vector_indexes_refresh()", env=env)
            _progress(f"{size:,} items: serving")
            rows.append(_row(size, made, _served(env, made, options, size)))
            print(f"  {rows[-1]}")
    finally:
        embedded_stop(env=env)
    return BenchResult(
        NAME, rows=rows,
        metrics={f"rss_mib_{row['items']}": row["worker RSS MiB (max)"] for row in rows},
        notes=[
            f"gunicorn with {options.workers} sync workers on this machine's cores, the load generator on the same cores; "
            f"pages at {options.rate:g}/s for {options.seconds:g} s; sequential training bounded to {options.train_limit:g} s.",
            f"Targets at 1M items: worker RSS ≤ {TARGET_RSS_MIB} MiB, the request after a single upsert ≤ {TARGET_UPSERT_S:g} s, "
            f"≥ {TARGET_UPSERTS_PER_S} upserts/s with page p99 ≤ {TARGET_P99_UNDER_WRITES_MS} ms.",
        ],
    )
