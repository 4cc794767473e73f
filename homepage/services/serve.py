"""What the storefront API returns: composed pages as JSON-ready dicts, cached while nothing they depend on changed."""

import json
import uuid

from django.utils import timezone

from catalog import selectors as catalog_selectors
from catalog.models import Item, Shop, Shopper
from ..arms import Arm, shopper_arm

from .. import cache, selectors
from ..rollups import page_served_count
from .compose import Page, PageItem, homepage_compose, recommendations_compose
from .context import experiment_arm_served
from .similar import similar_items


def _item_body(entry: PageItem) -> dict:
    item = entry.item
    return {
        "item_id": item.external_id,
        "title": item.title,
        "image_url": item.image_url,
        "price": None if item.price is None else str(item.price),
        "rail": entry.rail,
        "slot": entry.slot,
        "reason": entry.reason,
    }


def _stamp() -> dict:
    # Each serve is its own impression: a fresh request_id even when the layout comes from the cache.
    return {"request_id": uuid.uuid4().hex, "generated_at": timezone.now().isoformat()}


def _stamped(body: dict) -> dict:
    return {**_stamp(), **body}


def _json(body: dict) -> bytes:
    # As the API's JSON renderer writes it: compact, UTF-8.
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _stamped_json(layout: bytes) -> bytes:
    """The layout's JSON object with the stamp's fields first, spliced: a cached layout is never decoded."""
    return _json(_stamp())[:-1] + b"," + layout[1:]


def _arm_body(arm: Arm | None) -> dict:
    # Beside request_id: an event's shopper and time place it in its experiment and variant again.
    return {"experiment": arm.experiment.pk if arm else None, "variant": arm.variant.key if arm else None}


def _arm_label(arm: Arm | None) -> str:
    return arm.cache_label if arm else ""


def page_body(page: Page) -> dict:
    return {
        "shopper": {"known": page.shopper_known, "personalized": page.personalized},
        "rails": [
            {
                "key": rail.key,
                "title": rail.title,
                "kind": rail.kind,
                **({"banner": rail.banner} if rail.banner else {}),
                "items": [_item_body(entry) for entry in rail.items],
            }
            for rail in page.rails
        ],
    }


def _shopper(shop: Shop, external_id: str) -> Shopper | None:
    # An unknown shopper is served the cold-start page and is not created: only events create shoppers.
    return selectors.shopper_get(shop=shop, external_id=external_id)


def _item_pks(shop: Shop, external_ids: list[str]) -> set[int]:
    if not external_ids:
        return set()
    return set(catalog_selectors.item_ids(shop=shop, external_ids=external_ids).values())


def homepage_layout(
    *,
    shop: Shop,
    shopper_external_id: str,
    rail_keys: list[str] | None = None,
    size: int | None = None,
    exclude: list[str] | None = None,
    page: int = 1,
    count_served: bool = False,
) -> bytes:
    """The page's layout as a JSON object, from the cache while the shopper has no new event, no rule changed,
    the same model versions serve and no served item went out of stock; composed and cached otherwise.
    `count_served`: the page goes to a storefront, and counts in the rollups (homepage.rollups)."""
    exclude_pks = _item_pks(shop, exclude or [])
    shape = json.dumps({"rails": rail_keys, "size": size, "exclude": sorted(exclude_pks), "page": page}, sort_keys=True)

    def arm_of(rules_token: str) -> Arm | None:
        # Read as of the page's rules token: the experiments running are part of the rules a page depends on.
        return shopper_arm(shop=shop, shopper_external_id=shopper_external_id, token=rules_token)

    lookup = cache.page_lookup(
        shop=shop, shopper_external_id=shopper_external_id, request_shape=shape,
        shopper_read=lambda: _shopper(shop, shopper_external_id),
        variant_of=lambda rules_token: _arm_label(arm_of(rules_token)),
    )
    cached = lookup.cached
    # Items go out of stock through catalog updates, which the page's tokens do not follow: checked on every hit.
    if cached is not None and selectors.items_all_available(shop=shop, item_pks=cached["item_pks"]):
        # A page cached before pages were counted carries nothing to count: served uncounted until it expires.
        if count_served and "served" in cached:
            page_served_count(shop=shop, at=timezone.now(), **cached["served"])
        return cached["json"]
    shopper = _shopper(shop, shopper_external_id) if lookup.tokens.shopper is cache.UNREAD else lookup.tokens.shopper
    arm = arm_of(lookup.tokens.rules)
    with cache.page_tokens_reused(lookup.tokens), experiment_arm_served(arm):
        composed = homepage_compose(shop=shop, shopper=shopper, rail_keys=rail_keys, size=size, exclude=exclude_pks, page=page)
    layout = _json({**_arm_body(arm), **page_body(composed)})
    seconds = cache.PAGE_SECONDS
    if composed.valid_until is not None:
        seconds = min(seconds, int((composed.valid_until - composed.generated_at).total_seconds()))
    item_pks = [entry.item.pk for rail in composed.rails for entry in rail.items]
    served = {
        "rail_keys": [rail.key for rail in composed.rails],
        "experiment_id": arm.experiment.pk if arm else None, "variant": arm.variant.key if arm else None,
    }
    cache.page_store(lookup, {"json": layout, "item_pks": item_pks, "served": served}, seconds)
    if count_served:
        page_served_count(shop=shop, at=timezone.now(), **served)
    return layout


def homepage_serve(**request) -> bytes:
    """The storefront's homepage for one shopper id (the arguments of `homepage_layout`) as JSON, stamped for this serve."""
    return _stamped_json(homepage_layout(**request, count_served=True))


def recommendations_serve(*, shop: Shop, shopper_external_id: str, k: int, exclude: list[str] | None = None) -> dict:
    """A flat top-k of the for_you ranking, composed fresh (a new event counts at once)."""
    shopper = _shopper(shop, shopper_external_id)
    arm = shopper_arm(shop=shop, shopper_external_id=shopper_external_id)
    with experiment_arm_served(arm):
        composed, rail = recommendations_compose(shop=shop, shopper=shopper, k=k, exclude=_item_pks(shop, exclude or []))
    entries = composed.rails[0].items if composed.rails else []
    return _stamped(
        {
            **_arm_body(arm),
            "shopper": {"known": composed.shopper_known, "personalized": composed.personalized},
            "rail": rail.key,
            "items": [_item_body(entry) for entry in entries],
        }
    )


def similar_items_serve(*, shop: Shop, item: Item, k: int) -> dict:
    similar = similar_items(shop=shop, item=item, k=k)
    return _stamped(
        {
            "item_id": item.external_id,
            "items": [
                _item_body(PageItem(item=entry.item, slot=slot, rail="similar", reason=entry.reason))
                for slot, entry in enumerate(similar, start=1)
            ],
        }
    )
