import logging
import re
from array import array
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db import connection
from django.db.models import Case, DateTimeField, F, Q, When

from catalog.bounds import event_window, event_window_text
from catalog.models import Event, EventType, Item, Shop, Shopper

from .ml.nets.text_encoder import query_normalized
from .models import Family, ItemEmbedding, ModelVersion, QueryEmbedding

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShopArrays:
    """A shop's training data as arrays, with the database keys behind each index."""

    data: "object"  # recommender.ml.trainer.ShopData; typed loosely so this module imports no ML code
    item_pks: np.ndarray
    shopper_pks: np.ndarray
    first_event_at: str | None
    last_event_at: str | None


def shop_arrays_load(*, shop: Shop) -> ShopArrays:
    """Every item of the shop and every event that carries interest, for training."""
    from recommender.ml.data import Interactions, top_category_codes
    from recommender.ml.nets.text_encoder import item_text
    from recommender.ml.trainer import EVENT_TYPE_CODES, ShopData

    items = list(Item.objects.filter(shop=shop).order_by("pk").values_list("pk", "title", "brand", "category_path", "description"))
    item_pks = np.asarray([row[0] for row in items], dtype=np.int64)
    item_index = {pk: index for index, pk in enumerate(item_pks.tolist())}
    weights = {event_type: shop.event_weight(event_type) for event_type in EVENT_TYPE_CODES}
    interesting = [event_type for event_type, weight in weights.items() if weight > 0]
    # Rows written around the API may hold timestamps Python cannot read (year 1 BC, 'infinity') or items of
    # another shop: SQL nulls the time of every event outside the window, and such events are left out here.
    in_window = When(occurred_at__range=event_window(), then=F("occurred_at"))
    plausible_at = Case(in_window, default=None, output_field=DateTimeField())
    events = (
        Event.objects.filter(
            shop=shop, shopper__shop=shop, item__isnull=False, type__in=interesting, shopper__personalization_opt_out=False
        )
        .order_by("occurred_at", "pk")
        .annotate(plausible_at=plausible_at)
        .values_list("shopper_id", "item_id", "type", "plausible_at")
    )
    columns = _event_columns(events, item_index, EVENT_TYPE_CODES)
    if columns.out_of_window or columns.other_shop:
        logger.warning(
            "Shop %s: %d of %d events left out of training: %d outside %s, %d naming another shop's item"
            " (manage.py repair_data --shop %s repairs them)",
            shop.slug, columns.out_of_window + columns.other_shop, columns.read, columns.out_of_window,
            event_window_text(), columns.other_shop, shop.slug,
        )
    shopper_pks = np.unique(columns.shopper_pks)
    code_weights = np.zeros(max(EVENT_TYPE_CODES.values()) + 1, dtype=np.float32)
    for event_type, code in EVENT_TYPE_CODES.items():
        code_weights[code] = weights[event_type]
    interactions = Interactions(
        user_ids=np.searchsorted(shopper_pks, columns.shopper_pks).astype(np.int64),
        item_ids=columns.item_indices,
        weights=code_weights[columns.type_codes],
        timestamps=columns.timestamps,
        event_types=columns.type_codes,
        n_users=len(shopper_pks),
        n_items=len(item_pks),
    )
    data = ShopData(
        interactions=interactions,
        item_texts=[item_text(title, brand, path, description) for _, title, brand, path, description in items],
        item_categories=top_category_codes([row[3] for row in items]),
    )
    return ShopArrays(
        data=data,
        item_pks=item_pks,
        shopper_pks=shopper_pks,
        first_event_at=columns.first_at.isoformat() if columns.first_at else None,
        last_event_at=columns.last_at.isoformat() if columns.last_at else None,
    )


# Events read per round trip of the server-side cursor: the shop's events are never all in Python at once.
EVENT_CHUNK = 50_000


@dataclass
class EventColumns:
    """A shop's training events as arrays, in time order, and how many were left out and why."""

    shopper_pks: np.ndarray
    item_indices: np.ndarray
    type_codes: np.ndarray
    timestamps: np.ndarray
    read: int
    out_of_window: int
    other_shop: int
    first_at: datetime | None
    last_at: datetime | None


def _event_columns(events, item_index: dict[int, int], type_codes: dict[str, int]) -> EventColumns:
    """Stream `events` (shopper pk, item pk, type, time or None) into compact columns: about 25 bytes an event,
    where the rows as Python tuples took about ten times as much."""
    shoppers, items, types, times = array("q"), array("q"), array("q"), array("d")
    read = out_of_window = other_shop = 0
    first_at = last_at = None
    for shopper_pk, item_pk, kind, at in events.iterator(chunk_size=EVENT_CHUNK):
        read += 1
        index = item_index.get(item_pk)
        if at is None:
            out_of_window += 1
        elif index is None:
            other_shop += 1
        else:
            shoppers.append(shopper_pk)
            items.append(index)
            types.append(type_codes[kind])
            times.append(at.timestamp())
            first_at = first_at or at
            last_at = at
    return EventColumns(
        shopper_pks=np.frombuffer(shoppers, dtype=np.int64), item_indices=np.frombuffer(items, dtype=np.int64),
        type_codes=np.frombuffer(types, dtype=np.int64), timestamps=np.frombuffer(times, dtype=np.float64),
        read=read, out_of_window=out_of_window, other_shop=other_shop, first_at=first_at, last_at=last_at,
    )


@dataclass(frozen=True)
class RecentEvents:
    """A shopper's latest events with an item, as (item pk, event type) oldest first, and the highest
    event id among them: it changes whenever an event joins them."""

    events: list[tuple[int, str]]
    last_event_pk: int | None


def shopper_recent_events(*, shopper: Shopper, limit: int = 50) -> RecentEvents:
    rows = list(
        Event.objects.filter(
            shopper=shopper, item__isnull=False, type__in=EventType.values, occurred_at__range=event_window()
        )
        .order_by("-occurred_at", "-pk")
        .values_list("item_id", "type", "pk")[:limit]
    )
    return RecentEvents(events=[(pk, kind) for pk, kind, _ in reversed(rows)], last_event_pk=max((row[2] for row in rows), default=None))


def active_versions(*, shop: Shop) -> list[ModelVersion]:
    """The serving versions, read on every page: their training records (metrics, curves) load only when asked for."""
    serving = ModelVersion.objects.filter(shop=shop, is_active=True, status=ModelVersion.Status.SUCCEEDED)
    return list(serving.defer("metrics", "history", "hyperparameters", "data_window", "counts", "error"))


def active_version(*, shop: Shop, family: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(shop=shop, family=family, is_active=True).first()


# Training order: the encoder before the families that read its item vectors.
FAMILY_ORDER = [Family.POPULARITY, Family.MF, Family.FINETUNED_TEXT, Family.TEXT, Family.SEQUENTIAL]


@dataclass(frozen=True)
class FamilyStatus:
    family: str
    label: str
    active: ModelVersion | None
    latest: ModelVersion | None


def family_statuses(*, shop: Shop) -> list[FamilyStatus]:
    """Per family, the version serving now and the latest run (which may be training, or have failed)."""
    labels = dict(Family.choices)
    statuses = []
    for family in FAMILY_ORDER:
        versions = ModelVersion.objects.filter(shop=shop, family=family)
        statuses.append(
            FamilyStatus(
                family=family,
                label=labels[family],
                active=versions.filter(is_active=True).first(),
                latest=versions.order_by("-created_at").first(),
            )
        )
    return statuses


def item_vectors_read(*, shop: Shop, since: int | None = None) -> tuple[np.ndarray, list[int]]:
    """The shop's item text vectors, one row per embedded item in pk order, and each row's item; with `since` (a
    `catalog.selectors.change_watermark`), only those written from that transaction on."""
    # vector_send's binary form, not the ORM's text form: parsing 12,000 vectors of text takes seconds.
    changed = "" if since is None else "AND e.change_xid >= %s "
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.item_id, vector_send(e.vector) FROM {ItemEmbedding._meta.db_table} e "
            f"JOIN {Item._meta.db_table} i ON i.id = e.item_id WHERE i.shop_id = %s {changed}ORDER BY e.item_id",
            [shop.pk] if since is None else [shop.pk, since],
        )
        rows = cursor.fetchall()
    if not rows:
        return np.zeros((0, 0), dtype=np.float32), []
    # Each value: a 2-byte dimension count, 2 unused bytes, then big-endian float4s.
    matrix = np.frombuffer(b"".join(bytes(blob)[4:] for _, blob in rows), dtype=">f4").astype(np.float32)
    return matrix.reshape(len(rows), -1), [pk for pk, _ in rows]


def query_vector_read(*, shop: Shop, text: str) -> np.ndarray | None:
    """The stored embedding of normalised search words, or None where they are not embedded (yet)."""
    found = QueryEmbedding.objects.filter(shop=shop, text=text).values_list("vector", flat=True).first()
    return None if found is None else np.asarray(found, dtype=np.float32)


# Interest tags: the latest events weigh more, each older one this much less than the one after it.
TAG_RECENCY_DECAY = 0.9
TAGS_PER_KIND = 5
TAG_STOPWORDS = frozenset(
    "the and for with from this that oz fl ounce ounces pack count set new size inch ml in of to by".split()
)
TAG_WORD = re.compile(r"[a-z][a-z\-]{2,}")


def shopper_interest_tags(*, shopper: Shopper, limit: int = 50) -> dict[str, list[tuple[str, float]]]:
    """What the shopper is into, from their `limit` latest events: per kind (categories, brands, keywords of the
    titles, searches), up to five names with their share of that kind's weight (event type weight times recency;
    a search by recency alone), strongest first; kinds with nothing are left out."""
    rows = (
        Event.objects.filter(shopper=shopper, occurred_at__range=event_window())
        .filter(Q(item__isnull=False) | Q(type=EventType.SEARCH, item__isnull=True))
        .order_by("-occurred_at", "-pk")
        .values_list("type", "item__title", "item__brand", "item__category_path", "query")[:limit]
    )
    counters = {kind: Counter() for kind in ("categories", "brands", "keywords", "searches")}
    for age, (kind, title, brand, path, query) in enumerate(rows):
        recency = TAG_RECENCY_DECAY**age
        if title is None:  # a search that named no item
            if query.strip():
                counters["searches"][query_normalized(query)] += recency
            continue
        weight = shopper.shop.event_weight(kind) * recency
        if weight <= 0:
            continue
        for kind_counted, name in (("categories", path), ("brands", brand)):
            if name:
                counters[kind_counted][name] += weight
        for word in set(TAG_WORD.findall(title.lower())) - TAG_STOPWORDS:
            counters["keywords"][word] += weight
    tags = {}
    for kind, counter in counters.items():
        total = sum(counter.values())
        strongest = [(name, round(weight / total, 3)) for name, weight in counter.most_common(TAGS_PER_KIND)]
        if strongest:
            tags[kind] = strongest
    return tags
