"""Soak: homepage reads and event writes at a fixed rate for minutes, with the cache's Redis stopped midway.

A shop of its own on the bench data dir (.data/bench, its own embedded PostgreSQL and Redis) gets the
first `--shoppers` shoppers of Amazon Beauty and a popularity model, before gunicorn starts. Locust
(bench/locustfile.py, as `python -m bench homepage` runs it) then sends `--rate` requests/s for
`--seconds`: 70 % GET /api/v1/homepage/<shopper> of those shoppers, 30 % POST /api/v1/events of one to
three view events of one of them, each with a new event_id. In the middle the embedded cache Redis is
shut down for real; after `--outage-seconds` it answers again, restarted by the service itself or, when
it did not, by the bench (the notes say which).

Afterwards every event_id the server acknowledged (a 200 counting it in `created` or `duplicates`) must
be in PostgreSQL exactly once. Reported per phase (whole run, before the stop, the outage, after it):
requests, errors (non-2xx, a page without rails, an unacknowledged write, a timeout after
`--timeout` s), p50/p99 of the answered requests, the achieved rate; and the server's memory (RSS of the
gunicorn master and workers) at start and at end.
"""

import argparse
import json
import math
import os
import re
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from config import embedded

from .common import (
    BENCH_DATA_DIR,
    BenchResult,
    MemorySampler,
    OtherLoad,
    bench_env,
    bench_server,
    dataset_missing,
    manage,
    percentile,
)
from .common.datasets import DEMO_DATA
from .common.swarm import INSTALL_LOCUST, LOCUST, LOCUST_START_MARGIN_S, Demo, Swarm

NAME = "soak"
MIX = {"known": 70, "write": 30}
KIND_NAMES = {"known": "page known", "write": "events"}
SHOPPERS = 2000
WORKDIR = BENCH_DATA_DIR / "soak"
# A ping over the socket: cheap enough to time the cache's return to a twentieth of a second.
CACHE_POLL_S = 0.05
# A line of locust's error report: occurrences, then the request and its failure message.
ERROR_LINE = re.compile(r"^\s*(\d+)\s+(\S.*?)\s*$")

# Printed as JSON by `manage.py shell`: the shop's shoppers and available items.
SHOP_SAMPLE = """
import json
from catalog.models import Item, Shopper
print(json.dumps({{
    "shoppers": list(Shopper.objects.filter(shop__slug={shop!r}).values_list("external_id", flat=True)),
    "items": list(Item.objects.filter(shop__slug={shop!r}, available=True).values_list("external_id", flat=True)),
}}))
"""
# Every shop's, not only this one's: an event stored under another shop would be a copy too.
EVENTS_STORED = """
import json
from django.db.models import Count
from catalog.models import Event
rows = Event.objects.filter(event_id__startswith={prefix!r}).order_by().values("event_id").annotate(copies=Count("pk"))
print(json.dumps({{row["event_id"]: row["copies"] for row in rows}}))
"""


@dataclass(frozen=True)
class Request:
    name: str
    started: float  # epoch seconds
    response_ms: float
    ok: bool


@dataclass(frozen=True)
class Outage:
    stopped_at: float  # epoch seconds
    back_at: float  # when the cache first answered again
    restarted_by: str  # "the service" or "the bench"


@dataclass(frozen=True)
class Reconciliation:
    acknowledged: int
    stored: int
    lost: int  # acknowledged, not stored
    copies: int  # stored more than once
    unacknowledged_stored: int  # stored though the answer was an error: a storefront's resend is a duplicate


def events_reconciled(*, acknowledged: list[str], stored: dict[str, int]) -> Reconciliation:
    """Acknowledged event ids against the stored ones (event_id to how many rows hold it)."""
    acked = set(acknowledged)
    return Reconciliation(
        acknowledged=len(acked),
        stored=len(stored),
        lost=sum(1 for event_id in acked if stored.get(event_id, 0) == 0),
        copies=sum(1 for copies in stored.values() if copies > 1),
        unacknowledged_stored=sum(1 for event_id in stored if event_id not in acked),
    )


def requests_read(log_path: Path) -> list[Request]:
    """The locustfile's log: `name<TAB>start epoch s<TAB>response ms<TAB>ok` a line."""
    found = []
    for line in log_path.read_text().splitlines():
        name, started, response_ms, ok = line.split("\t")
        found.append(Request(name, float(started), float(response_ms), ok == "1"))
    return found


def phase_row(phase: str, kind: str, requests: list[Request], seconds: float) -> dict:
    """Latency of the answered requests; errors of all; the achieved rate over the phase's `seconds`."""
    latencies = [request.response_ms for request in requests if request.ok] or [float("nan")]
    errors = sum(1 for request in requests if not request.ok)
    return {
        "phase": phase,
        "requests": kind,
        "sent": len(requests),
        "errors": errors,
        "error %": round(100 * errors / len(requests), 2) if requests else float("nan"),
        "p50 ms": round(percentile(latencies, 50), 1),
        "p99 ms": round(percentile(latencies, 99), 1),
        "req/s": round(len(requests) / seconds, 1) if seconds > 0 else float("nan"),
    }


def phases_rows(requests: list[Request], outage: Outage, outage_end: float) -> list[dict]:
    """A request belongs to the phase it started in; the whole run and the outage are split by kind too."""
    first, last = min(request.started for request in requests), max(request.started for request in requests)
    phases = [
        ("whole run", first, math.inf),
        ("before the stop", first, outage.stopped_at),
        ("outage", outage.stopped_at, outage_end),
        ("after", outage_end, math.inf),
    ]
    rows = []
    for phase, start, end in phases:
        within = [request for request in requests if start <= request.started < end]
        seconds = min(end, last) - start
        rows.append(phase_row(phase, "all", within, seconds))
        if phase in ("whole run", "outage"):
            for name in KIND_NAMES.values():
                rows.append(phase_row(phase, name, [request for request in within if request.name == name], seconds))
    return rows


def _cache_client() -> redis.Redis:
    """The bench's cache Redis, each command sent once: redis-py's default resends one on a new connection for
    seconds, and a SHUTDOWN resent would stop the server that the service had just started again."""
    socket = embedded.redis_socket_path(BENCH_DATA_DIR, embedded.CACHE)
    return redis.Redis(unix_socket_path=str(socket), socket_timeout=1, retry=Retry(NoBackoff(), 0))


def _answers(client: redis.Redis) -> bool:
    try:
        return client.ping()
    except redis.RedisError:
        return False


def cache_outage(seconds: float) -> Outage:
    """Shut the cache Redis down once, wait `seconds`, and start it again unless the service already did."""
    client = _cache_client()
    if not _answers(client):
        raise RuntimeError("the bench's cache Redis was not running when the outage began")
    stopped_at = time.time()
    client.shutdown(nosave=True)  # the connection it closes as it exits is taken as done by redis-py
    back_at = None
    while time.time() < stopped_at + seconds:
        if back_at is None and _answers(client):
            back_at = time.time()
        time.sleep(CACHE_POLL_S)
    if back_at is not None or _answers(client):
        return Outage(stopped_at, back_at or time.time(), "the service")
    embedded.redis_start(BENCH_DATA_DIR, embedded.CACHE)
    return Outage(stopped_at, time.time(), "the bench")


def shop_prepare(env: dict[str, str], shop: str, *, path: Path, shoppers: int) -> None:
    manage("import_dataset", str(path), "--shop", shop, "--limit-shoppers", str(shoppers), env=env)
    manage("train", "--family", "popularity", "--shop", shop, env=env)


def _shell_json(code: str, env: dict[str, str]):
    return json.loads(manage("shell", "-c", code, env=env).strip().splitlines()[-1])


def _first_request_wait(log_path: Path, locust_run) -> float:
    """When locust's first request started (epoch s): its clock, not ours, begins the run."""
    deadline = time.monotonic() + LOCUST_START_MARGIN_S
    while time.monotonic() < deadline and not locust_run.done():
        text = log_path.read_text() if log_path.exists() else ""
        if "\n" in text:
            return float(text.split("\n", 1)[0].split("\t")[1])
        time.sleep(0.2)
    locust_run.result()  # raises what locust failed with
    raise RuntimeError(f"locust sent nothing within {LOCUST_START_MARGIN_S} s")


def _error_report(output: str, lines: int = 8) -> list[str]:
    """Locust's error report, `occurrences × request: failure` a line."""
    report = output.split("Error report", 1)[1] if "Error report" in output else ""
    found = [ERROR_LINE.match(line) for line in report.splitlines()]
    return [f"{match[1]} × {match[2]}" for match in found if match][:lines]


def arguments_parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="target requests per second (default 100)")
    parser.add_argument("--seconds", type=int, default=300, help="duration of the load (default 300)")
    parser.add_argument("--outage-seconds", type=float, default=10.0, help="how long the cache Redis stays down (default 10)")
    parser.add_argument("--users", type=int, default=50, help="locust users sharing the rate (default 50)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4, as gunicorn.conf.py serves)")
    parser.add_argument("--shoppers", type=int, default=SHOPPERS, help=f"Beauty shoppers imported (default {SHOPPERS:,})")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds after which a request counts as timed out (default 10)")
    options = parser.parse_args(argv)
    if options.seconds < 3 * options.outage_seconds:
        parser.error("--seconds must be at least three times --outage-seconds, so that the outage has a before and an after")
    return options


def run(argv: list[str]) -> BenchResult:
    options = arguments_parse(argv)
    path = DEMO_DATA
    skipped = dataset_missing(path) or (None if LOCUST.exists() else f"locust is not installed; {INSTALL_LOCUST}.")
    if skipped:
        return BenchResult(NAME, skipped=skipped)
    run_id = uuid.uuid4().hex[:8]
    prefix = f"bench-soak-{run_id}"  # the locustfile numbers events `<prefix>-<n>`
    setup_started = time.perf_counter()

    def prepare(env: dict[str, str], shop: str) -> None:
        shop_prepare(env, shop, path=path, shoppers=options.shoppers)

    env = bench_env(BENCH_DATA_DIR)
    # The last run's request log and acknowledged ids are kept, to look into after.
    shutil.rmtree(WORKDIR, ignore_errors=True)
    WORKDIR.mkdir(parents=True)
    with bench_server(workers=options.workers, prepare=prepare) as server:
        sample = _shell_json(SHOP_SAMPLE.format(shop=server.shop), env)
        setup_s = time.perf_counter() - setup_started
        log_path, acks_path, config_path = WORKDIR / "requests.tsv", WORKDIR / "acks.txt", WORKDIR / "config.json"
        demo = Demo(shop=server.shop, families=["popularity"], shoppers=sample["shoppers"], others=[], items=sample["items"])
        # The homepage bench's locust runner, with a config of the soak's own: the write kind, its ids and acks.
        swarm = Swarm(server.url, server.api_key, demo, WORKDIR)
        config_path.write_text(json.dumps({
            **swarm.inputs, "request_timeout_s": options.timeout, "shoppers": demo.shoppers, "mix": MIX,
            "period": options.users / options.rate, "warm_cached": False, "run_id": run_id, "seed": 0,
            "log_path": str(log_path), "acks_path": str(acks_path), "event_prefix": prefix,
        }))
        locust_env = {**os.environ, "BENCH_HOMEPAGE_CONFIG": str(config_path)}
        with MemorySampler(server.pid) as memory, OtherLoad(os.getpid(), server.pid, server.postgres_pid) as other, \
                ThreadPoolExecutor(max_workers=1) as pool:
            start_mib = memory.sample() / 2**20
            locust_run = pool.submit(swarm._locust, users=options.users, seconds=options.seconds, env=locust_env)
            first = _first_request_wait(log_path, locust_run)
            time.sleep(max(0.0, first + (options.seconds - options.outage_seconds) / 2 - time.time()))
            outage = cache_outage(options.outage_seconds)
            output = locust_run.result()
            end_mib = memory.sample() / 2**20
        stored = _shell_json(EVENTS_STORED.format(prefix=f"{prefix}-"), env)
        acknowledged = acks_path.read_text().split() if acks_path.exists() else []
        requests = requests_read(log_path)
    events = events_reconciled(acknowledged=acknowledged, stored=stored)
    outage_end = max(outage.back_at, outage.stopped_at + options.outage_seconds)
    rows = phases_rows(requests, outage, outage_end)
    errors = _error_report(output)
    notes = [
        f"Shop '{server.shop}': the first {options.shoppers:,} Amazon Beauty shoppers ({len(demo.shoppers):,} imported, "
        f"{len(demo.items):,} items), popularity trained; setup {setup_s:.0f} s. gunicorn: {options.workers} sync workers "
        "on the bench data dir.",
        f"Load: locust {version('locust')} (FastHttpUser), {options.users} users each at {options.rate / options.users:g} "
        f"requests/s, on the same cores; mix {', '.join(f'{share} % {KIND_NAMES[kind]}' for kind, share in MIX.items())} "
        f"(1 to 3 view events a POST). Target {options.rate:g} requests/s for {options.seconds} s; a request over "
        f"{options.timeout:g} s is a timeout. Latency: the answered requests only.",
        f"Cache Redis shut down {outage.stopped_at - first:.0f} s into the run; answering again "
        f"{outage.back_at - outage.stopped_at:.1f} s later, restarted by {outage.restarted_by}"
        + (" (the service did not restart it within the outage)" if outage.restarted_by == "the bench" else "")
        + f". The outage phase: the {outage_end - outage.stopped_at:.1f} s from the stop (--outage-seconds, or until "
        "the cache answered again if later; it comes back empty); a request is in the phase in which it started.",
        f"Events: {events.acknowledged:,} acknowledged, {events.stored:,} stored with this run's prefix '{prefix}-'; "
        f"lost (acknowledged, not stored): {events.lost}; stored more than once: {events.copies}; stored though "
        f"the answer was an error: {events.unacknowledged_stored}.",
        f"Server memory (gunicorn master and workers): {start_mib:.0f} MiB at start, {end_mib:.0f} MiB at end, "
        f"peak {memory.peak_mib:.0f} MiB. CPU used by other jobs meanwhile: {other.percent:.0f} %.",
    ]
    if errors:
        notes.append("Locust's error report (status 0: no answer within the timeout, or no connection): "
                     + "; ".join(errors) + ".")
    whole = next(row for row in rows if row["phase"] == "whole run")
    outage_row = next(row for row in rows if row["phase"] == "outage")
    metrics = {
        "lost_events": events.lost, "duplicated_events": events.copies, "acknowledged_events": events.acknowledged,
        "unacknowledged_stored_events": events.unacknowledged_stored,
        "error_percent": whole["error %"], "outage_error_percent": outage_row["error %"],
        "p50_ms": whole["p50 ms"], "p99_ms": whole["p99 ms"],
        "outage_p50_ms": outage_row["p50 ms"], "outage_p99_ms": outage_row["p99 ms"],
        "achieved_rps": whole["req/s"], "outage_seconds": round(outage_end - outage.stopped_at, 1),
        "cache_restarted_by": outage.restarted_by,
        "start_server_mib": round(start_mib), "end_server_mib": round(end_mib), "peak_server_mib": round(memory.peak_mib),
        "other_cpu_percent": round(other.percent),
    }
    return BenchResult(NAME, rows=rows, notes=notes, metrics=metrics)
