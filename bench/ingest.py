"""Event ingestion throughput: POST /api/v1/events in batches of 1,000 against a baseline of batches of 100.

Real shoppers' sequences from the Amazon Beauty 5-core dataset are posted by concurrent clients to a
gunicorn server; the figure is created events per second of wall time, plus the server's peak memory.
"""

import argparse
import json
import os
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from itertools import count, islice
from pathlib import Path

import requests

from .common.datasets import DEMO_DATA
from .common import BenchResult, BenchServer, MemorySampler, OtherLoad, bench_server, dataset_missing

NAME = "ingest"
ITEM_BATCH_SIZE = 1000
BATCH_SIZE = 1000
BASELINE_BATCH_SIZE = 100
EVENT_SPACING = timedelta(days=1)
# A storefront sends many more views than purchases; seeded so every run posts the same stream.
EVENT_TYPE_WEIGHTS = {"view": 60, "click": 20, "add_to_cart": 12, "purchase": 8}
TARGET_EVENTS_PER_S = 10_000
REQUEST_TIMEOUT_S = 120


def _read_tsv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        return [dict(zip(header, line.rstrip("\n").split("\t"))) for line in handle]


def items_load(path: Path) -> tuple[list[dict], dict[str, str]]:
    """Item records as the importer sends them, and the dataset's item ids mapped to ASINs."""
    rows = _read_tsv(path / "items.tsv")
    items = []
    for row in rows:
        brand = row["brand"].strip()
        items.append({
            "item_id": row["asin"],
            "title": row["title"],
            "brand": "" if brand == "Unknown" else brand,
            "category": " > ".join(part.strip() for part in row["categories"].split("|") if part.strip()),
        })
    return items, {row["item_id"]: row["asin"] for row in rows}


def sequences_load(path: Path) -> list[tuple[str, list[str]]]:
    shoppers = {row["user_id"]: row["reviewer_id"] for row in _read_tsv(path / "users.tsv")}
    sequences = []
    for line in (path / "sequences.txt").read_text(encoding="utf-8").splitlines():
        user_id, *item_ids = line.split()
        if item_ids:
            sequences.append((shoppers[user_id], item_ids))
    return sequences


def event_stream(sequences: list[tuple[str, list[str]]], asins: dict[str, str], run_id: str) -> Iterator[dict]:
    """Endless events: each pass over the sequences is a new set of shoppers, so every event_id is new."""
    rng = random.Random(0)
    types, weights = list(EVENT_TYPE_WEIGHTS), list(EVENT_TYPE_WEIGHTS.values())
    anchor = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    for round_number in count():
        for shopper_id, item_ids in sequences:
            shopper = f"{shopper_id}~{round_number}" if round_number else shopper_id
            last = len(item_ids) - 1
            for position, item_id in enumerate(item_ids):
                yield {
                    "event_id": f"{run_id}:{shopper}:{position}",
                    "shopper_id": shopper,
                    "item_id": asins[item_id],
                    "type": rng.choices(types, weights)[0],
                    "occurred_at": (anchor - (last - position) * EVENT_SPACING).isoformat(),
                }


def encoded_batches(records: list[dict], size: int) -> list[bytes]:
    # Encoded before the clock starts: the clients share the CPUs with the server.
    return [json.dumps(records[start : start + size]).encode() for start in range(0, len(records), size)]


def batches_post(*, url: str, api_key: str, bodies: list[bytes], clients: int) -> int:
    """POST every body from `clients` keep-alive sessions; returns how many records were created."""
    local = threading.local()
    headers = {"Authorization": f"Token {api_key}", "Content-Type": "application/json"}

    def post(body: bytes) -> int:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers.update(headers)
        response = local.session.post(url, data=body, timeout=REQUEST_TIMEOUT_S)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: HTTP {response.status_code}: {response.text[:500]}")
        result = response.json()
        if result["rejected"]:
            raise RuntimeError(f"{url}: rejected {result['rejected'][:3]}")
        return result["created"]

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return sum(pool.map(post, bodies))


def case_run(*, label: str, server: BenchServer, bodies: list[bytes], clients: int) -> dict:
    with MemorySampler(server.pid) as memory, OtherLoad(os.getpid(), server.pid, server.postgres_pid) as other:
        started = time.perf_counter()
        created = batches_post(url=f"{server.url}/api/v1/events", api_key=server.api_key, bodies=bodies, clients=clients)
        seconds = time.perf_counter() - started
    return {
        "case": label,
        "events": created,
        "seconds": round(seconds, 2),
        "events/s": round(created / seconds),
        "peak server MiB": round(memory.peak_mib),
        "CPU used by other jobs %": round(other.percent),
    }


def arguments_parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench ingest", description=__doc__)
    parser.add_argument("--events", type=int, default=100_000, help="events posted in each case (default 100,000)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads (default 4)")
    return parser.parse_args(argv)


def run(argv: list[str]) -> BenchResult:
    options = arguments_parse(argv)
    path = DEMO_DATA
    skipped = dataset_missing(path)
    if skipped:
        return BenchResult(NAME, skipped=skipped)
    items, asins = items_load(path)
    stream = event_stream(sequences_load(path), asins, run_id=f"bench-{time.time_ns()}")
    # The baseline runs first on the smaller table, so any slowdown from table growth counts against batch 1,000.
    cases = [(f"batch {size:,}", size, list(islice(stream, options.events))) for size in (BASELINE_BATCH_SIZE, BATCH_SIZE)]
    rows = []
    with bench_server(workers=options.workers) as server:
        batches_post(
            url=f"{server.url}/api/v1/items", api_key=server.api_key,
            bodies=encoded_batches(items, ITEM_BATCH_SIZE), clients=options.clients,
        )
        for label, size, events in cases:
            rows.append(case_run(label=label, server=server, bodies=encoded_batches(events, size), clients=options.clients))
    baseline, batched = rows
    ratio = batched["events/s"] / baseline["events/s"]
    notes = [
        f"{options.workers} gunicorn workers, {options.clients} client threads, {len(items):,} items posted first.",
        f"Batch 1,000 over batch 100 throughput: {ratio:.2f}x.",
        f"Absolute target: >= {TARGET_EVENTS_PER_S:,} events/s on 2 cores; measured {batched['events/s']:,}.",
    ]
    metrics = {
        "events_per_s": batched["events/s"],
        "baseline_events_per_s": baseline["events/s"],
        "batch_ratio": round(ratio, 2),
        "target_events_per_s": TARGET_EVENTS_PER_S,
    }
    return BenchResult(NAME, rows=rows, notes=notes, metrics=metrics)
