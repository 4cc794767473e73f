"""Load for `python -m bench homepage`: run by locust in its own process, never imported by the bench.

Every input comes from the JSON file named by $BENCH_HOMEPAGE_CONFIG, written by bench/homepage.py:
api_key, shoppers, items, cached_shopper, request_timeout_s, mix (kind to share), period (seconds
between one user's requests; 0 for a closed loop), warm_cached, run_id, seed, log_path. Each finished
request is appended to log_path as `name<TAB>start epoch s<TAB>response ms<TAB>ok`, so the bench
computes exact percentiles across names; locust's own statistics only approximate them.

The kind `write` (used by `python -m bench soak`) GETs no page: it POSTs one to three view events of a
shopper, with event ids starting CONFIG["event_prefix"], and appends each event_id the server acknowledged
(a 200 counting it in `created` or `duplicates`) to CONFIG["acks_path"], a line each.
"""

import itertools
import json
import os
import random
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from locust import FastHttpUser, events, task

CONFIG = json.loads(Path(os.environ["BENCH_HOMEPAGE_CONFIG"]).read_text())
HEADERS = {"Authorization": f"Token {CONFIG['api_key']}"}
KINDS, SHARES = list(CONFIG["mix"]), list(CONFIG["mix"].values())
PERIOD = CONFIG["period"]

# Line-buffered: a line per request is cheap at these rates, and nothing is lost if locust is stopped.
log = open(CONFIG["log_path"], "a", buffering=1)
user_numbers = itertools.count()
event_numbers = itertools.count()
acks = open(CONFIG["acks_path"], "a", buffering=1) if "write" in CONFIG["mix"] else None
WRITE_EVENTS_MAX = 3


@events.request.add_listener
def request_log(name, start_time, response_time, exception, **_kwargs):
    log.write(f"{name}\t{start_time:.6f}\t{response_time:.3f}\t{int(exception is None)}\n")


class Shopper(FastHttpUser):
    # FastHttpUser (geventhttpclient) costs far less CPU a request than HttpUser, and the client shares
    # the server's cores.
    network_timeout = connection_timeout = CONFIG["request_timeout_s"]

    def on_start(self):
        self.rng = random.Random(CONFIG["seed"] * 1000 + next(user_numbers))
        if CONFIG["warm_cached"]:
            self._page("cached", CONFIG["cached_shopper"])
        # Locust starts a second's users at once, so paced from their start they would send in bursts
        # of all users every period; a random phase in the period spreads their requests evenly.
        self.due = time.perf_counter() + (self.rng.uniform(0, PERIOD) if PERIOD else 0)
        time.sleep(max(0.0, self.due - time.perf_counter()))

    def wait_time(self):
        """Constant throughput: one request every PERIOD from this user's phase; a late user goes at once, never catches up.

        So a server that cannot keep up shows as an achieved rate below the target.
        """
        if not PERIOD:
            return 0
        now = time.perf_counter()
        self.due = max(self.due + PERIOD, now)
        return self.due - now

    @task
    def homepage(self):
        kind = self.rng.choices(KINDS, SHARES)[0]
        if kind == "write":
            self._views_write(self.rng.choice(CONFIG["shoppers"]))
            return
        event_ok = True
        if kind == "unknown":
            shopper_id = f"bench-unknown-{uuid.UUID(int=self.rng.getrandbits(128)).hex[:12]}"
        elif kind == "cached":
            shopper_id = CONFIG["cached_shopper"]
        else:
            shopper_id = self.rng.choice(CONFIG["shoppers"])
        if kind == "just-active":
            event_ok = self._view_post(shopper_id)
        self._page(kind, shopper_id, event_ok)

    def _page(self, kind: str, shopper_id: str, event_ok: bool = True) -> None:
        """Named by kind, so the bench splits the rows; a just-active page whose event failed counts as failed."""
        with self.client.get(
            f"/api/v1/homepage/{shopper_id}", headers=HEADERS, name=f"page {kind}", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
            elif not _body(response).get("rails"):
                response.failure("no rails")
            elif not event_ok:
                response.failure("its view event was not created")
            else:
                response.success()

    def _view_event(self, shopper_id: str, prefix: str) -> dict:
        return {
            "event_id": f"{prefix}-{next(event_numbers)}",
            "shopper_id": shopper_id,
            "type": "view",
            "item_id": self.rng.choice(CONFIG["items"]),
            "occurred_at": datetime.now(timezone.utc).isoformat(),
        }

    def _views_write(self, shopper_id: str) -> None:
        """Acknowledged: a 200 counting every event of the batch in `created` or `duplicates` (the ids are
        new and the items real, so none is rejected); anything else is a failure and acknowledges none."""
        batch = [self._view_event(shopper_id, CONFIG["event_prefix"]) for _ in range(self.rng.randint(1, WRITE_EVENTS_MAX))]
        with self.client.post("/api/v1/events", json=batch, headers=HEADERS, name="events", catch_response=True) as response:
            body = _body(response) if response.status_code == 200 else {}
            if body.get("created", 0) + body.get("duplicates", 0) == len(batch):
                acks.writelines(f"{event['event_id']}\n" for event in batch)
                response.success()
            else:
                response.failure(f"status {response.status_code}, not acknowledged")

    def _view_post(self, shopper_id: str) -> bool:
        event = self._view_event(shopper_id, f"bench-homepage-{CONFIG['run_id']}")
        with self.client.post("/api/v1/events", json=[event], headers=HEADERS, name="event", catch_response=True) as response:
            ok = response.status_code == 200 and _body(response).get("created") == 1
            if ok:
                response.success()
            else:
                response.failure(f"status {response.status_code}, not created")
            return ok


def _body(response) -> dict:
    """The JSON object answered; an empty one when the body is not one, so a check fails rather than raises."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
