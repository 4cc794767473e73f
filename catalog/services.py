import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from psycopg.types.json import Jsonb

from config.tokens import token_bump, token_read

from . import selectors, signals
from .models import ApiKey, Event, EventType, Item, ItemRemoval, Shop, Shopper
from .validation import RecordInvalid, event_clean, identifier_problem, item_clean, record_id, shown

# Longer than any catalog snapshot goes without reading changes (homepage.snapshot.RELOAD_SECONDS).
REMOVALS_KEPT = timedelta(hours=2)
ITEM_CONTENT_FIELDS = (
    "title", "description", "category_path", "brand", "price", "currency", "image_url", "available", "attributes",
)


@dataclass
class BatchResult:
    """What happened to each record of a storefront batch; `rejected` lists errors by index."""

    accepted: int = 0
    duplicates: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[dict] = field(default_factory=list)

    def reject(self, index: int, record_id: str | None, errors: dict[str, str]) -> None:
        self.rejected.append({"index": index, "id": record_id, "errors": errors})


def shop_get_or_create(*, slug: str, name: str = "") -> Shop:
    shop, _ = Shop.objects.get_or_create(slug=slug, defaults={"name": name or slug.replace("-", " ").title()})
    return shop


def api_key_create(*, shop: Shop, name: str) -> tuple[ApiKey, str]:
    """Create a key for `shop`; returns the row and the key itself, which is never stored."""
    while True:
        raw_key = secrets.token_urlsafe(32)
        prefix = raw_key[: ApiKey.PREFIX_LENGTH]
        if not ApiKey.objects.filter(prefix=prefix).exists():
            break
    api_key = ApiKey.objects.create(shop=shop, name=name, prefix=prefix, key_hash=ApiKey.hash_key(raw_key))
    return api_key, raw_key


# Every storefront request authenticates: each process keeps the keys it has checked (with their
# shops), read again from the database once any key or shop is saved or deleted (catalog.signals), and
# in any case after a few seconds: a key revoked by SQL, or while the cache is down, moves no token, and
# is refused by every process within 5 seconds all the same.
API_KEYS_TOKEN = "catalog:api-keys"
API_KEY_RECHECK_SECONDS = 4
_authenticated: dict[str, tuple[str, float, ApiKey]] = {}  # by key hash: (keys token when read, when read, the key)


def api_keys_changed() -> None:
    """A key was revoked or a shop edited: every process reads the keys it has checked again."""
    token_bump(API_KEYS_TOKEN)


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    key_hash = ApiKey.hash_key(raw_key)
    token = token_read(API_KEYS_TOKEN, cache.get(API_KEYS_TOKEN))
    found = _authenticated.get(key_hash)
    if found is not None and found[0] == token and time.monotonic() - found[1] < API_KEY_RECHECK_SECONDS:
        api_key = found[2]
    else:
        read_at = time.monotonic()
        api_key = ApiKey.objects.select_related("shop").filter(prefix=raw_key[: ApiKey.PREFIX_LENGTH]).first()
        if api_key is None or not api_key.matches(raw_key):
            _authenticated.pop(key_hash, None)
            return None
        _authenticated[key_hash] = (token, read_at, api_key)
    now = timezone.now()
    # One write a minute at most: the key is checked on every storefront request.
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def _content_hash(cleaned: dict) -> str:
    content = {name: cleaned[name] for name in ITEM_CONTENT_FIELDS}
    return hashlib.sha1(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def item_batch_upsert(*, shop: Shop, items: list, bulk_load: bool = False) -> BatchResult:
    """Create or update items by their storefront id; items whose content is unchanged are not rewritten.

    A `bulk_load` (a dataset import, trained on next) announces the write without the items' pks, so nothing
    is done item by item for them (their embedding: the training embeds the whole catalog).
    """
    result = BatchResult()
    latest: dict[str, dict] = {}
    for index, record in enumerate(items):
        try:
            cleaned = item_clean(record)
        except RecordInvalid as invalid:
            result.reject(index, record_id(record, "item_id"), invalid.errors)
            continue
        cleaned["content_hash"] = _content_hash(cleaned)
        latest[cleaned["external_id"]] = cleaned  # the last copy of an item in a batch wins
        result.accepted += 1
    known = dict(
        Item.objects.filter(shop=shop, external_id__in=latest).values_list("external_id", "content_hash")
    )
    changed = [cleaned for external_id, cleaned in latest.items() if known.get(external_id) != cleaned["content_hash"]]
    result.created = sum(1 for cleaned in changed if cleaned["external_id"] not in known)
    result.updated = len(changed) - result.created
    result.unchanged = len(latest) - len(changed)
    if changed:
        written = Item.objects.bulk_create(
            [Item(shop=shop, **cleaned) for cleaned in changed],
            update_conflicts=True,
            unique_fields=["shop", "external_id"],
            update_fields=[*ITEM_CONTENT_FIELDS, "content_hash", "updated_at"],
        )
        signals.items_changed.send(sender=Item, shop=shop, item_pks=[] if bulk_load else [item.pk for item in written])
    return result


def _shoppers_found_or_created(*, shop: Shop, external_ids: set[str]) -> dict[str, tuple[int, bool]]:
    """(primary key, opted out) of these shoppers, creating the ones the shop has not seen yet."""
    found = selectors.shoppers_found(shop=shop, external_ids=external_ids)
    missing = external_ids - found.keys()
    if missing:
        Shopper.objects.bulk_create(
            [Shopper(shop=shop, external_id=external_id) for external_id in missing], ignore_conflicts=True
        )
        found.update(selectors.shoppers_found(shop=shop, external_ids=missing))
    return found


def _valid_events(*, shop: Shop, events: list, result: BatchResult) -> list[tuple[int, dict]]:
    now = timezone.now()
    valid = []
    for index, record in enumerate(events):
        try:
            valid.append((index, event_clean(record, now=now)))
        except RecordInvalid as invalid:
            result.reject(index, record_id(record, "event_id"), invalid.errors)
    item_refs = {cleaned["item_id"] for _, cleaned in valid if cleaned["item_id"]}
    item_ids = selectors.item_ids(shop=shop, external_ids=item_refs)
    # Read only when an event names a rail: most events (views, searches) come from no rail.
    rail_keys = selectors.rail_keys(shop=shop) if any(cleaned["rail"] for _, cleaned in valid) else set()
    known = []
    for index, cleaned in valid:
        errors = {}
        if cleaned["item_id"] and cleaned["item_id"] not in item_ids:
            errors["item_id"] = f"Unknown item '{cleaned['item_id']}': send it to POST /api/v1/items first."
        # A shop without rails has served no page yet (its first one makes the default rails): nothing to hold the rail to.
        if cleaned["rail"] and rail_keys and cleaned["rail"] not in rail_keys:
            errors["context.rail"] = _unknown_rail_message(cleaned["rail"], rail_keys)
        if errors:
            result.reject(index, cleaned["event_id"], errors)
            continue
        cleaned["item_pk"] = item_ids.get(cleaned["item_id"])
        known.append((index, cleaned))
    return known


def _unknown_rail_message(rail: str, rail_keys: set[str]) -> str:
    # Click-through is counted per rail key: a misspelt one would be counted for no rail, silently.
    return f"Unknown rail '{shown(rail)}': send back a rails[].key of the homepage answer. This shop's rails: {', '.join(sorted(rail_keys))}."


_EVENT_INSERT = f"""
    INSERT INTO {Event._meta.db_table}
        (shop_id, event_id, shopper_id, item_id, type, value, query, session_id, occurred_at, context, received_at)
    SELECT %s, event_id, shopper_id, item_id, type, value, query, session_id, occurred_at, context, %s
    FROM unnest(%s::varchar[], %s::bigint[], %s::bigint[], %s::varchar[], %s::float8[], %s::varchar[], %s::varchar[],
                %s::timestamptz[], %s::jsonb[])
        AS batch(event_id, shopper_id, item_id, type, value, query, session_id, occurred_at, context)
    ON CONFLICT (shop_id, event_id) DO NOTHING
    RETURNING id
"""
_EVENT_COLUMNS = ("event_id", "shopper_pk", "item_pk", "type", "value", "query", "session_id", "occurred_at", "context")


def _events_insert(*, shop: Shop, events: list[dict], shopper_ids: dict[str, int]) -> list[int]:
    """The pks of the rows inserted: an event a concurrent resend stored first is not among them."""
    # One statement over column arrays: bulk_create spends ~100 ms assembling VALUES for 1,000 events
    # (the JSON column rules out its own unnest path). ON CONFLICT keeps a concurrent resend a single row.
    for cleaned in events:
        cleaned["shopper_pk"] = shopper_ids[cleaned["shopper_id"]]
        cleaned["context"] = Jsonb(cleaned["context"])
    columns = [[cleaned[name] for cleaned in events] for name in _EVENT_COLUMNS]
    with connection.cursor() as cursor:
        cursor.execute(_EVENT_INSERT, [shop.pk, timezone.now(), *columns])
        return [row[0] for row in cursor.fetchall()]


def event_batch_ingest(*, shop: Shop, events: list) -> BatchResult:
    """Store a batch of storefront events; each is validated alone and an event_id is stored once."""
    result = BatchResult()
    valid = _valid_events(shop=shop, events=events, result=result)
    fresh: dict[str, dict] = {}
    for _, cleaned in valid:
        fresh.setdefault(cleaned["event_id"], cleaned)
    stored = selectors.event_ids_stored(shop=shop, event_ids=fresh)
    new_events = [cleaned for event_id, cleaned in fresh.items() if event_id not in stored]
    result.accepted = len(valid)
    result.duplicates = len(valid) - len(new_events)
    if not new_events:
        return result
    with transaction.atomic():
        shoppers = _shoppers_found_or_created(shop=shop, external_ids={cleaned["shopper_id"] for cleaned in new_events})
        event_ids = _events_insert(
            shop=shop, events=new_events, shopper_ids={external_id: pk for external_id, (pk, _) in shoppers.items()}
        )
        signals.events_stored.send(sender=Event, shop=shop, event_ids=event_ids)
    result.created = len(event_ids)
    result.duplicates += len(new_events) - len(event_ids)  # stored first by a concurrent resend
    # Their next homepage must show these events: their cached layouts are stale from now on.
    opt_outs = {external_id: opt_out for external_id, (_, opt_out) in shoppers.items()}
    signals.shoppers_acted.send(sender=Shopper, shop=shop, opt_outs=opt_outs)
    queries = sorted({cleaned["query"] for cleaned in new_events if cleaned["type"] == EventType.SEARCH and cleaned["query"]})
    if queries:
        signals.shoppers_searched.send(sender=Event, shop=shop, queries=queries)
    return result


def _shopper_caches_drop(*, shop: Shop, shopper: Shopper) -> None:
    """Have everything cached from the shopper's history deleted (their pages, precomputed or not, and their model
    candidates, by the apps that cache them). Done now, and again once the change is committed: a page composed
    meanwhile from the rows before it must not outlive it."""

    def drop() -> None:
        signals.shopper_history_dropped.send(sender=Shopper, shop=shop, shopper=shopper)

    drop()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(drop)


def shopper_erase(*, shop: Shop, external_id: str) -> bool:
    """Delete a shopper, every event of theirs and their interest tags, and what the cache holds of them;
    False when the shop has no such shopper. The next training run learns nothing of them."""
    shopper = Shopper.objects.filter(shop=shop, external_id=external_id).first()
    if shopper is None:
        return False
    with transaction.atomic():
        _shopper_caches_drop(shop=shop, shopper=shopper)
        signals.shopper_erasing.send(sender=Shopper, shop=shop, shopper=shopper)
        shopper.delete()
    return True


def shopper_personalization_set(*, shop: Shop, external_id: str, opted_out: bool) -> Shopper:
    """Opt a shopper out of personalization, or back in. An opted-out shopper gets pages that are not
    personalized, at once, and their events feed no model from the next training run on.

    An unknown shopper is created with the choice, so a storefront can record it before their first event;
    raises RecordInvalid when their id is not one an event could carry.
    """
    shopper = Shopper.objects.filter(shop=shop, external_id=external_id).first()
    if shopper is None:
        problem = identifier_problem(external_id)
        if problem:
            raise RecordInvalid({"shopper_id": problem})
        shopper, created = Shopper.objects.get_or_create(
            shop=shop, external_id=external_id, defaults={"personalization_opt_out": opted_out}
        )
        if created:
            return shopper
    if shopper.personalization_opt_out == opted_out:
        return shopper
    with transaction.atomic():
        Shopper.objects.filter(pk=shopper.pk).update(personalization_opt_out=opted_out)
        shopper.personalization_opt_out = opted_out
        _shopper_caches_drop(shop=shop, shopper=shopper)
    return shopper


def item_interaction_counts_refresh(*, shop: Shop) -> int:
    """Recount each item's events; returns how many items the shop has."""
    counts = (
        Event.objects.filter(item=OuterRef("pk")).order_by().values("item").annotate(total=Count("pk")).values("total")
    )
    return Item.objects.filter(shop=shop).update(interaction_count=Coalesce(Subquery(counts), 0))


def item_removals_prune() -> int:
    """Forget deletions every catalog snapshot has read by now; returns how many."""
    deleted, _ = ItemRemoval.objects.filter(removed_at__lt=timezone.now() - REMOVALS_KEPT).delete()
    return deleted
