"""Catalog writes on a serving shop: what the next request costs after an item upsert, and how soon a new item has
similar items, on the trained demo shop with the processes `make run` starts (gunicorn and a Celery worker).

The request timed is GET /api/v1/items/<item>/similar, composed on every request from the web worker's copy of
the catalog (cached homepages take in new items as they expire, so they cannot show a write's cost):

1. Steady: `--items` requests (20 by default) with nothing written between them.
2. One new item at a time, `--items` times, each a twin of a demo item (its title with " (new edition)", its
   category, brand and description): POST /api/v1/items with the one item, then the request, timed: the worker
   that answers reads the change (a few rows) first. Then, every 0.2 s, the new item's similar items and its
   twin's (50 each) are asked until the twin is among the new item's (it has a vector: the worker on the score
   queue embedded it and the web workers read it) and the new item among the twin's. Freshness is the time from
   the POST to each.
3. The baseline, in the same run: `--bulk` existing items (1,300 by default, more than a tenth of the demo's
   12k, past which a copy reads the whole catalog again) get a new price in one go, then the request is timed;
   `--bulk-trials` times. Their texts do not change, so nothing is embedded for them.

Writes: the new items (ids starting `bench-catalog-`, deleted at the end) and the prices (restored at the end).
"""

import argparse
import json
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import requests

from .common import REPO_DIR, VENV_BIN, BenchResult, _exclusive, dev_data_env, gunicorn_serving, manage, percentile
from .common.swarm import DEV_DATA_DIR, RUN_MAKE

NAME = "catalog"
TARGET_AFTER_UPSERT_S = 1.0
TARGET_FRESHNESS_S = 60.0
POLL_S = 0.2
# As many similar items as the API gives: a new item's text is all it has, so it ranks below items that shoppers
# also engaged with together, though it is the twin's nearest by text.
SIMILAR_K = 50
AMONG = "among the twin's"
FRESHNESS_TIMEOUT_S = 180.0
WORKER_START_TIMEOUT_S = 120
NEW_PREFIX = "bench-catalog-"
BATCH = 1000  # the items API's largest batch (VITRINE_MAX_BATCH)

# Printed as JSON by `manage.py shell`: demo items as the items API takes them, to post back unchanged but the price.
ITEMS_SAMPLE = """
import json, random
from catalog.services import api_key_authenticate
from catalog.models import Item
shop = api_key_authenticate(raw_key={key!r}).shop
items = list(Item.objects.filter(shop=shop, available=True).exclude(external_id__startswith={prefix!r}).order_by("pk"))
rng = random.Random(0)
picked = rng.sample(items, min({count}, len(items)))
def record(item):
    fields = {{
        "item_id": item.external_id, "title": item.title, "description": item.description, "category": item.category_path,
        "brand": item.brand, "price": None if item.price is None else str(item.price), "currency": item.currency,
        "image_url": item.image_url, "available": item.available, "attributes": item.attributes,
    }}
    return {{name: value for name, value in fields.items() if value not in ("", None)}}
print(json.dumps({{"shop": shop.slug, "items": [record(item) for item in picked]}}))
"""
NEW_ITEMS_DELETE = """
from catalog.models import Item
from catalog.services import api_key_authenticate
shop = api_key_authenticate(raw_key={key!r}).shop
for item in Item.objects.filter(shop=shop, external_id__startswith={prefix!r}):
    item.delete()
"""


def arguments_parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench catalog")
    parser.add_argument("--items", type=int, default=20, help="new items posted one at a time (default 20)")
    parser.add_argument("--bulk", type=int, default=1300, help="existing items repriced at once for the baseline")
    parser.add_argument("--bulk-trials", type=int, default=5, help="repricings timed (default 5)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    return parser.parse_args(argv)


@contextmanager
def celery_worker(env: dict[str, str], log_path: Path):
    """A Celery worker on the score queue, as `make run` starts one, until it is ready."""
    command = [str(VENV_BIN / "celery"), "--app", "config", "worker", "--queues", "score", "--concurrency", "1", "--loglevel", "INFO"]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=REPO_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + WORKER_START_TIMEOUT_S
        while "ready." not in log_path.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start; see {log_path}")
            time.sleep(0.5)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=60)


class Storefront:
    def __init__(self, url: str, api_key: str):
        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {api_key}"

    def timed(self, method: str, path: str, **kwargs) -> tuple[float, dict]:
        started = time.perf_counter()
        response = self.session.request(method, f"{self.url}{path}", timeout=60, **kwargs)
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        return elapsed, response.json()

    def items_post(self, items: list[dict]) -> float:
        elapsed, body = self.timed("POST", "/api/v1/items", json=items)
        if body.get("rejected"):
            raise RuntimeError(f"items rejected: {body['rejected'][:3]}")
        return elapsed

    def items_post_all(self, items: list[dict]) -> float:
        """Post `items` in batches of the API's largest; returns the seconds of all of them."""
        return sum(self.items_post(items[start : start + BATCH]) for start in range(0, len(items), BATCH))

    def similar(self, item_id: str) -> tuple[float, list[str]]:
        elapsed, body = self.timed("GET", f"/api/v1/items/{item_id}/similar?k={SIMILAR_K}")
        return elapsed, [entry["item_id"] for entry in body.get("items", [])]


def _twin(item: dict, number: int, run_id: str) -> dict:
    return {
        "item_id": f"{NEW_PREFIX}{run_id}-{number}", "title": f"{item['title']} (new edition)",
        **{field: item[field] for field in ("category", "brand", "description") if field in item},
    }


def _new_items_timed(front: Storefront, twins_of: list[dict], run_id: str) -> dict[str, list[float]]:
    """Per new item: the POST's seconds, the next request's, and the seconds until its own similar items hold its twin
    (it has a vector) and until it is among its twin's similar items (others' pages can show it)."""
    timed = {"post": [], "next request": [], "has similar items": [], AMONG: []}
    for number, original in enumerate(twins_of):
        twin = _twin(original, number, run_id)
        posted_at = time.perf_counter()
        timed["post"].append(front.items_post([twin]))
        elapsed, similar = front.similar(original["item_id"])
        timed["next request"].append(elapsed)
        pending = {
            "has similar items": lambda: original["item_id"] in front.similar(twin["item_id"])[1],
            AMONG: lambda: twin["item_id"] in front.similar(original["item_id"])[1],
        }
        while pending:
            for name, done in list(pending.items()):
                if done():
                    timed[name].append(time.perf_counter() - posted_at)
                    del pending[name]
            if pending and time.perf_counter() - posted_at > FRESHNESS_TIMEOUT_S:
                raise RuntimeError(f"{twin['item_id']}: not {', '.join(pending)} after {FRESHNESS_TIMEOUT_S:.0f} s")
            time.sleep(POLL_S if pending else 0)
        seconds = {name: values[-1] for name, values in timed.items()}
        print(f"  new item {number + 1}/{len(twins_of)}: next request {elapsed * 1000:.0f} ms, similar items after "
              f"{seconds['has similar items']:.1f} s, among its twin's after {seconds[AMONG]:.1f} s")
    return timed


def _bulk_timed(front: Storefront, items: list[dict], trials: int) -> tuple[list[float], list[float]]:
    """Per trial: the seconds of the POSTs repricing every item, and of the next request."""
    posts, firsts = [], []
    for trial in range(trials):
        cents = 1 if trial % 2 == 0 else 0
        repriced = [{**item, "price": f"{float(item.get('price') or 0) + cents / 100:.2f}"} for item in items]
        posts.append(front.items_post_all(repriced))
        elapsed, _ = front.similar(items[trial]["item_id"])
        firsts.append(elapsed)
        print(f"  repricing {trial + 1}/{trials}: next request {elapsed * 1000:.0f} ms")
    return posts, firsts


def _ms(values: list[float], q: float) -> float:
    return round(percentile(values, q) * 1000, 1)


def run(argv: list[str]) -> BenchResult:
    options = arguments_parse(argv)
    key_path = DEV_DATA_DIR / "demo_api_key"
    if not key_path.exists():
        return BenchResult(NAME, skipped=f"no demo API key at {key_path}; {RUN_MAKE}.")
    api_key = key_path.read_text().strip()
    run_id = uuid.uuid4().hex[:6]
    with _exclusive(DEV_DATA_DIR / ".bench-homepage.lock"), dev_data_env(DEV_DATA_DIR) as env, \
            tempfile.TemporaryDirectory(prefix="bench-catalog-") as workdir:
        printed = manage("shell", "-c", ITEMS_SAMPLE.format(key=api_key, prefix=NEW_PREFIX, count=options.bulk), env=env)
        sample = json.loads(printed.strip().splitlines()[-1])
        items = sample["items"]
        front = None
        try:
            with gunicorn_serving(env=env, log_path=Path(workdir) / "gunicorn.log", workers=options.workers) as (_, url), \
                    celery_worker(env, Path(workdir) / "worker.log"):
                front = Storefront(url, api_key)
                probes = [item["item_id"] for item in items[: options.items]]
                for item_id in probes * options.workers:
                    front.similar(item_id)  # every worker has its copy before the clock starts
                steady = [front.similar(item_id)[0] for item_id in probes]
                timed = _new_items_timed(front, items[: options.items], run_id)
                bulk_posts, bulk_firsts = _bulk_timed(front, items, options.bulk_trials)
                front.items_post_all(items)  # the prices as they were
        finally:
            manage("shell", "-c", NEW_ITEMS_DELETE.format(key=api_key, prefix=NEW_PREFIX), env=env)
    firsts, has_similar, among = timed["next request"], timed["has similar items"], timed[AMONG]
    rows = [
        {"case": f"steady: nothing written (x{len(steady)})", "p50 ms": _ms(steady, 50), "max ms": _ms(steady, 100)},
        {"case": f"first request after 1 new item (x{len(firsts)})", "p50 ms": _ms(firsts, 50), "max ms": _ms(firsts, 100),
         "upsert POST p50 ms": _ms(timed["post"], 50)},
        {"case": f"baseline: first request after {len(items):,} repriced (x{len(bulk_firsts)})", "p50 ms": _ms(bulk_firsts, 50),
         "max ms": _ms(bulk_firsts, 100), "upsert POST p50 ms": _ms(bulk_posts, 50)},
        {"case": f"new item: its similar items hold its twin (x{len(has_similar)})", "p50 ms": _ms(has_similar, 50),
         "max ms": _ms(has_similar, 100)},
        {"case": f"new item: among its twin's {SIMILAR_K} similar items (x{len(among)})", "p50 ms": _ms(among, 50),
         "max ms": _ms(among, 100)},
    ]
    return BenchResult(
        NAME, rows=rows,
        metrics={
            "steady_p50_ms": _ms(steady, 50), "after_upsert_p50_ms": _ms(firsts, 50), "after_upsert_max_ms": _ms(firsts, 100),
            "after_bulk_p50_ms": _ms(bulk_firsts, 50), "freshness_p50_s": round(percentile(has_similar, 50), 2),
            "freshness_max_s": round(max(has_similar), 2), "among_twins_max_s": round(max(among), 2),
        },
        notes=[
            f"Shop '{sample['shop']}' (the demo), gunicorn with {options.workers} sync workers and one Celery worker on the "
            "score queue, on the dev data dir.",
            f"Targets: the first request after a single upsert within {TARGET_AFTER_UPSERT_S:.0f} s with no whole-catalog "
            f"read; a new item among similar items within {TARGET_FRESHNESS_S:.0f} s.",
            "The baseline's first request reads the whole catalog again (more changed rows than a tenth of it).",
        ],
    )
