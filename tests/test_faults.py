"""Faults injected for real into a whole stack (gunicorn, its own embedded PostgreSQL and Redis, in a temporary
data dir): what the storefront sees during each fault and after it, and that every event the API acknowledged
is stored exactly once."""

import json
import os
import signal
import threading
import time
import uuid

import psutil
import pytest
import requests

from bench.common import bench_env, bench_server, manage
from config import embedded
from tests.support import wait_for

RECOVERY_S = 30


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("faults")
    with bench_server(workers=2, data_dir=data_dir) as server:
        server.data_dir = data_dir
        server.headers = {"Authorization": f"Token {server.api_key}"}
        response = requests.post(
            f"{server.url}/api/v1/items", json=[{"item_id": "sku-1", "title": "Red lipstick"}], headers=server.headers, timeout=30
        )
        assert response.status_code == 200
        yield server


def _events(count: int) -> list[dict]:
    run = uuid.uuid4().hex[:8]
    return [
        {"event_id": f"{run}-{n}", "shopper_id": f"s-{n % 7}", "item_id": "sku-1", "type": "view",
         "occurred_at": "2026-11-20T10:00:00Z"}
        for n in range(count)
    ]


def _stored_counts(stack, event_ids: list[str]) -> dict[str, int]:
    """How many rows each event id has in the stack's database."""
    ids_path = stack.data_dir / f"ids-{uuid.uuid4().hex}.json"
    ids_path.write_text(json.dumps(event_ids))
    script = (
        "import json; from django.db.models import Count; from catalog.models import Event\n"
        f"ids = json.load(open({str(ids_path)!r}))\n"
        "rows = Event.objects.filter(event_id__in=ids).values('event_id').annotate(n=Count('pk'))\n"
        "print(json.dumps({row['event_id']: row['n'] for row in rows}))"
    )
    output = manage("shell", "-c", script, env=bench_env(stack.data_dir))
    return json.loads(output.strip().splitlines()[-1])


def test_with_the_cache_redis_down_events_are_stored_pages_served_and_the_cache_comes_back(stack):
    assert embedded.redis_stop(stack.data_dir, embedded.CACHE)
    events = _events(20)
    stored = requests.post(f"{stack.url}/api/v1/events", json=events, headers=stack.headers, timeout=30)
    page = requests.get(f"{stack.url}/api/v1/homepage/s-1", headers=stack.headers, timeout=30)

    assert stored.status_code == 200 and stored.json()["created"] == 20
    assert page.status_code == 200 and page.json()["rails"] is not None
    assert _stored_counts(stack, [event["event_id"] for event in events]) == {event["event_id"]: 1 for event in events}
    # The process that finds the embedded cache gone starts it again; pages are then cached once more.
    socket = embedded.redis_socket_path(stack.data_dir, embedded.CACHE)

    def cache_back():
        requests.get(f"{stack.url}/api/v1/homepage/s-2", headers=stack.headers, timeout=30)
        return embedded._redis_answers(socket)

    assert wait_for(cache_back, timeout=RECOVERY_S, interval=0.5)


def test_with_postgres_down_the_api_answers_503_json_with_retry_after_and_recovers(stack):
    assert embedded.postgres_stop(stack.data_dir)
    try:
        during = requests.get(f"{stack.url}/api/v1/homepage/s-1", headers=stack.headers, timeout=30)
        assert during.status_code == 503
        assert during.json()["error"]["code"] == "database_unavailable"
        assert int(during.headers["Retry-After"]) > 0
    finally:
        embedded.postgres_settings(stack.data_dir, "vitrine")

    def served():
        return requests.get(f"{stack.url}/api/v1/homepage/s-1", headers=stack.headers, timeout=30).status_code == 200

    assert wait_for(served, timeout=RECOVERY_S, interval=0.5)


def _gunicorn_workers(stack) -> list[psutil.Process]:
    return psutil.Process(stack.pid).children()


def test_a_worker_killed_mid_batch_loses_no_acknowledged_event(stack):
    acknowledged: list[str] = []
    sent: list[str] = []
    stop = threading.Event()

    def send_batches():
        while not stop.is_set():
            batch = _events(200)
            sent.extend(event["event_id"] for event in batch)
            try:
                response = requests.post(f"{stack.url}/api/v1/events", json=batch, headers=stack.headers, timeout=30)
            except requests.RequestException:
                continue
            if response.status_code == 200:
                acknowledged.extend(event["event_id"] for event in batch)

    sender = threading.Thread(target=send_batches)
    sender.start()
    try:
        time.sleep(1.0)
        for worker in _gunicorn_workers(stack):
            os.kill(worker.pid, signal.SIGKILL)
        time.sleep(3.0)
    finally:
        stop.set()
        sender.join()

    counts = _stored_counts(stack, sent)
    assert acknowledged, "no batch was acknowledged"
    assert all(counts.get(event_id) == 1 for event_id in acknowledged)
    assert max(counts.values()) == 1
