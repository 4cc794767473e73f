"""Shoppers played against a running storefront API, to try an experiment end to end on known behaviour.

Each visit fetches one shopper's homepage (GET /api/v1/homepage/<shopper>), decides what the shopper
clicks, adds to cart and buys by a ground-truth preference model, and posts those events back (POST
/api/v1/events) with the page's request_id, rail and slot in their context, as a storefront does. The
ground truth comes from real shoppers' sequences with their last items held out: a shopper likes the
items they went on to buy and those items' categories. An effect (`{"b": 1.1}`) multiplies every click
probability of the pages served as that variant, so what the experiment reports can be checked
against what was put in.

Nothing here imports Django: the simulator talks to the product over HTTP only, with `requests`.
"""

import copy
import csv
import itertools
import math
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

DEFAULT_HOLDOUT = 2
PAGE_SIZE = 8
REQUEST_TIMEOUT_S = 10.0
NO_VARIANT = "(none)"
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|min|minute|h|hour))?\s*$")
_PERIOD_S = {None: 1.0, "s": 1.0, "sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0, "h": 3600.0, "hour": 3600.0}
_EFFECT = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=\s*([+-]?\d+(?:\.\d+)?)\s*%\s*$")


class SimulationRefused(Exception):
    """The server refused the key: no visit can succeed, so the run stops."""


@dataclass(frozen=True)
class Behaviour:
    """The fixed probabilities of the shoppers' model.

    Attributes:
        high: click probability, at slot 1, of an item the shopper went on to buy or of its category.
        low: the same for any other item.
        add_to_cart: probability that a click leads to adding the item to the cart.
        purchase: probability that an item added to the cart is bought.
    """

    high: float = 0.25
    low: float = 0.01
    add_to_cart: float = 0.3
    purchase: float = 0.5


def slot_examination(slot: int) -> float:
    """Chance that a shopper looks at the item in this 1-based slot of a rail: DCG's discount, 1 / log2(slot + 1)."""
    return 1.0 / math.log2(slot + 1)


@dataclass(frozen=True)
class Interests:
    items: frozenset[str]
    categories: frozenset[str]


class PreferenceModel:
    """What each shopper likes, and how likely they are to click a shown item because of it."""

    def __init__(self, *, interests: Mapping[str, Interests], categories: Mapping[str, str],
                 behaviour: Behaviour = Behaviour()):
        self.interests = dict(interests)
        self.categories = dict(categories)
        self.behaviour = behaviour
        self.shoppers = sorted(self.interests)

    @classmethod
    def from_sequences(cls, *, sequences: Mapping[str, Sequence[str]], categories: Mapping[str, str],
                       holdout: int = DEFAULT_HOLDOUT, behaviour: Behaviour = Behaviour()) -> "PreferenceModel":
        """A shopper's future items are the last `holdout` items of their sequence (oldest first)."""
        if holdout < 1:
            raise ValueError("hold out at least one item per shopper")
        interests = {}
        for shopper_id, item_ids in sequences.items():
            future = frozenset(item_ids[-holdout:])
            if future:
                liked = frozenset(filter(None, (categories.get(item_id) for item_id in future)))
                interests[shopper_id] = Interests(items=future, categories=liked)
        return cls(interests=interests, categories=categories, behaviour=behaviour)

    def likes(self, *, shopper_id: str, item_id: str) -> bool:
        interests = self.interests.get(shopper_id)
        if interests is None:
            return False
        return item_id in interests.items or self.categories.get(item_id) in interests.categories

    def click_probability(self, *, shopper_id: str, item_id: str, slot: int, lift: float = 1.0) -> float:
        """p(slot) × (high if liked, else low) × lift, at most 1."""
        base = self.behaviour.high if self.likes(shopper_id=shopper_id, item_id=item_id) else self.behaviour.low
        return min(1.0, slot_examination(slot) * base * lift)


def _tsv_rows(path: Path) -> Iterable[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)


def preference_model_load(path: Path, *, holdout: int = DEFAULT_HOLDOUT, behaviour: Behaviour = Behaviour()) -> PreferenceModel:
    """The model of a dataset folder in the amazon_beauty_5core layout, under the ids its import gives
    (catalog.importers): items by ASIN, shoppers by reviewer id, categories joined by ' > '."""
    asins, categories = {}, {}
    for row in _tsv_rows(path / "items.tsv"):
        asins[row["item_id"]] = row["asin"]
        categories[row["asin"]] = " > ".join(part.strip() for part in row["categories"].split("|") if part.strip())
    reviewers = {row["user_id"]: row["reviewer_id"] for row in _tsv_rows(path / "users.tsv")}
    sequences = {}
    with (path / "sequences.txt").open(encoding="utf-8") as handle:
        for line in handle:
            user_id, *item_ids = line.split() or [""]
            if item_ids and user_id in reviewers:
                sequences[reviewers[user_id]] = [asins[item_id] for item_id in item_ids if item_id in asins]
    return PreferenceModel.from_sequences(sequences=sequences, categories=categories, holdout=holdout, behaviour=behaviour)


def rate_parse(text: str) -> float:
    """Visits a second from "20/s", "600/min", "5000/hour" or a bare number (a second)."""
    match = _RATE.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(f"a rate is a positive number of visits per s, min or hour, like 20/s; not {text!r}")
    return float(match.group(1)) / _PERIOD_S[match.group(2)]


def effects_parse(texts: Iterable[str]) -> dict[str, float]:
    """Click multipliers by variant key from "b=+10%" (1.1) or "b=-5%" (0.95)."""
    effects = {}
    for text in texts:
        match = _EFFECT.match(text)
        if match is None or float(match.group(2)) <= -100:
            raise ValueError(f"an effect is VARIANT=+N% or VARIANT=-N% (above -100 %), like b=+10%; not {text!r}")
        effects[match.group(1)] = 1.0 + float(match.group(2)) / 100.0
    return effects


def visit_events(*, model: PreferenceModel, page: Mapping, shopper_id: str, rng: random.Random,
                 effects: Mapping[str, float], event_prefix: str, impressions: bool = False) -> list[dict]:
    """The events of one shopper on one served page, with the page's request_id, rail and slot as context.

    Each shown item is clicked with the model's probability times the effect of the page's variant; a
    click leads to add_to_cart, and that to purchase, with the behaviour's fixed probabilities. With
    `impressions`, every shown item also gets an impression event.
    """
    lift = effects.get(page.get("variant") or "", 1.0)
    behaviour = model.behaviour
    occurred_at = datetime.now(UTC).isoformat()
    events: list[dict] = []

    def emit(kind: str, item: Mapping) -> None:
        events.append({
            "event_id": f"{event_prefix}-{len(events)}", "shopper_id": shopper_id, "item_id": item["item_id"],
            "type": kind, "occurred_at": occurred_at, "session_id": event_prefix,
            "context": {"request_id": page["request_id"], "rail": item["rail"], "slot": item["slot"]},
        })

    for rail in page.get("rails", []):
        for item in rail.get("items", []):
            if impressions:
                emit("impression", item)
            if rng.random() >= model.click_probability(shopper_id=shopper_id, item_id=item["item_id"], slot=item["slot"], lift=lift):
                continue
            emit("click", item)
            if rng.random() < behaviour.add_to_cart:
                emit("add_to_cart", item)
                if rng.random() < behaviour.purchase:
                    emit("purchase", item)
    return events


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; shared by threads."""

    def __init__(self, *, rate: float, burst: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.updated = burst, clock()
        self.lock = threading.Lock()

    def wait_for_token(self) -> float:
        """Takes a token and returns how long to wait before using it (0 when one was saved up)."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            self.tokens -= 1.0
            # A negative balance is the queue of takers ahead: each waits its turn, none jumps it.
            return max(0.0, -self.tokens / self.rate)


@dataclass
class ArmTally:
    pages: int = 0
    impressions: int = 0
    clicks: int = 0
    add_to_carts: int = 0
    purchases: int = 0

    def add(self, events: Sequence[dict]) -> None:
        self.pages += 1
        for event in events:
            kind = event["type"]
            self.impressions += kind == "impression"
            self.clicks += kind == "click"
            self.add_to_carts += kind == "add_to_cart"
            self.purchases += kind == "purchase"


@dataclass
class SimulationSummary:
    """What a run did, by the variant key the pages named (NO_VARIANT for pages of no experiment)."""

    arms: dict[str, ArmTally] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def table(self) -> str:
        shown = any(tally.impressions for tally in self.arms.values())
        lines = [f"{'variant':<16} {'pages':>8}" + (f" {'impressions':>12}" if shown else "")
                 + f" {'clicks':>8} {'clicks/page':>12} {'add_to_cart':>12} {'purchases':>10}"]
        for key, tally in sorted(self.arms.items()):
            ratio = tally.clicks / tally.pages if tally.pages else 0.0
            lines.append(f"{key:<16} {tally.pages:>8}" + (f" {tally.impressions:>12}" if shown else "")
                         + f" {tally.clicks:>8} {ratio:>12.4f} {tally.add_to_carts:>12} {tally.purchases:>10}")
        pages = sum(tally.pages for tally in self.arms.values())
        lines.append(f"{pages} pages in {self.seconds:.0f} s ({pages / self.seconds if self.seconds else 0:.1f}/s)")
        if self.errors:
            lines.append("errors: " + ", ".join(f"{cause} × {count}" for cause, count in sorted(self.errors.items())))
        return "\n".join(lines)


@dataclass
class Simulation:
    """A run of visits at `rate` a second for `seconds`, from `workers` threads sharing one token bucket.

    Visit n's shopper and choices come from a generator seeded by (seed, n), so a run against the same
    pages makes the same choices. `observe(page, events)` sees every page fetched and the events sent for it.
    """

    url: str
    key: str
    model: PreferenceModel
    rate: float
    seconds: float
    effects: Mapping[str, float] = field(default_factory=dict)
    seed: int = 0
    workers: int = 4
    page_size: int = PAGE_SIZE
    impressions: bool = False
    observe: Callable[[dict, list[dict]], None] | None = None
    progress: Callable[[SimulationSummary], None] | None = None
    progress_every_s: float = 60.0

    def __post_init__(self) -> None:
        if not self.model.shoppers:
            raise ValueError("the preference model has no shoppers to play")
        self.summary = SimulationSummary()
        self._run_id = uuid.uuid4().hex[:12]  # event ids of two runs never collide, whatever their seeds
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._refusal: SimulationRefused | None = None

    def run(self) -> SimulationSummary:
        started = time.monotonic()
        deadline = started + self.seconds
        bucket = TokenBucket(rate=self.rate)
        threads = [threading.Thread(target=self._play, args=(bucket, deadline), daemon=True) for _ in range(self.workers)]
        for thread in threads:
            thread.start()
        next_report = started + self.progress_every_s
        while alive := [thread for thread in threads if thread.is_alive()]:
            alive[0].join(timeout=0.5)
            if self.progress is not None and time.monotonic() >= next_report:
                with self._lock:  # the visits go on meanwhile: report a copy
                    self.summary.seconds = time.monotonic() - started
                    snapshot = copy.deepcopy(self.summary)
                self.progress(snapshot)
                next_report += self.progress_every_s
        self.summary.seconds = time.monotonic() - started
        if self._refusal is not None:
            raise self._refusal
        return self.summary

    def _play(self, bucket: TokenBucket, deadline: float) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {self.key}"
        while not self._stopped.is_set():
            wait = bucket.wait_for_token()
            if time.monotonic() + wait >= deadline:
                return
            time.sleep(wait)
            with self._lock:
                number = next(self._numbers)
            try:
                self._visit(session, number)
            except SimulationRefused as refusal:
                self._refusal = refusal
                self._stopped.set()

    def _visit(self, session: requests.Session, number: int) -> None:
        rng = random.Random(f"{self.seed}:{number}")
        shopper_id = rng.choice(self.model.shoppers)
        page = self._request(session, "GET", f"/api/v1/homepage/{shopper_id}", params={"size": self.page_size})
        if page is None:
            return
        events = visit_events(model=self.model, page=page, shopper_id=shopper_id, rng=rng, effects=self.effects,
                              event_prefix=f"sim-{self._run_id}-{number}", impressions=self.impressions)
        if events and self._request(session, "POST", "/api/v1/events", json=events) is None:
            return
        with self._lock:
            self.summary.arms.setdefault(page.get("variant") or NO_VARIANT, ArmTally()).add(events)
        if self.observe is not None:
            self.observe(page, events)

    def _request(self, session: requests.Session, method: str, path: str, **arguments) -> dict | None:
        """The answer's JSON body, or None with the failure counted."""
        try:
            response = session.request(method, f"{self.url.rstrip('/')}{path}", timeout=REQUEST_TIMEOUT_S, **arguments)
        except requests.RequestException as error:
            self._error(f"{method} {type(error).__name__}")
            return None
        if response.status_code in (401, 403):
            raise SimulationRefused(f"{self.url} refused the key ({response.status_code}): {response.text[:300]}")
        if response.status_code != 200:
            self._error(f"{method} {response.status_code}")
            return None
        return response.json()

    def _error(self, cause: str) -> None:
        with self._lock:
            self.summary.errors[cause] = self.summary.errors.get(cause, 0) + 1
