"""Who may reach what: every actor against every URL of the storefront API and the console.

The URLs are read from the URLconf, so a new endpoint without a row here fails the suite; each is called
with the ids of shop A's objects, with the method it serves, and each request is undone (rows and cookies).
"""

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from merchandising.experiments.services import experiment_create
from merchandising.models import AuditEntry
from merchandising.services import default_rails_ensure
from merchandising.services.drafts import draft_open, rules_change
from merchandising.services.rules import (
    adjustment_create,
    block_create,
    campaign_create,
    pin_create,
)
from recommender.models import Family
from recommender.services import training_versions_create
from tests.factories import EventFactory, ItemFactory, ShopperFactory

pytestmark = pytest.mark.django_db


class Outcome(Enum):
    ALLOWED = "let in (2xx, a redirect elsewhere than a login, or 400 for the empty input sent)"
    STRANGER = "let in, to its own shop, where the shopper named is unknown"
    LOGIN = "sent to a login page"
    UNAUTHENTICATED = "401"
    FORBIDDEN = "403"
    NOT_FOUND = "404"


ALLOWED, STRANGER, LOGIN, UNAUTHENTICATED, NOT_FOUND = (
    Outcome.ALLOWED, Outcome.STRANGER, Outcome.LOGIN, Outcome.UNAUTHENTICATED, Outcome.NOT_FOUND,
)
ACTORS = ["anonymous", "storefront_a", "storefront_b", "merchandiser_a", "merchandiser_b", "admin"]
LOGIN_PAGES = ("/accounts/login/", "/admin/login/")
API = "/api/v1/"


def outcome(response) -> Outcome:
    status = response.status_code
    assert status < 500, f"{status}: {response.content[:500]!r}"
    assert status != 405, "the matrix calls a URL with a method it does not serve"
    if status in (301, 302) and response["Location"].startswith(LOGIN_PAGES):
        return LOGIN
    if status in (401, 403, 404):
        return {401: UNAUTHENTICATED, 403: Outcome.FORBIDDEN, 404: NOT_FOUND}[status]
    if response.get("Content-Type") == "application/json" and response.json().get("shopper", {}).get("known") is False:
        return STRANGER
    return ALLOWED


@dataclass
class ShopAObjects:
    item_id: str
    shopper_id: str
    rail: int
    pin: int
    campaign: int
    adjustment: int
    block: int
    version: int
    change: int
    draft: int
    entry: int
    experiment: int


# Where a URL acts: in the caller's own shop (SHOP), on one of shop A's objects (A), or for a shopper id that only
# shop A knows (SHOPPER_OF_A: another shop's key is answered as for a shopper it has never seen).
SHOP, A, SHOPPER_OF_A, ELSEWHERE = "shop", "a", "shopper of a", "elsewhere"


@dataclass(frozen=True)
class Case:
    method: str
    where: str
    kwargs: Callable[[ShopAObjects], dict] = lambda objects: {}
    body: object = None
    # Outcomes that differ from those `where` gives, by actor.
    unlike: dict[str, Outcome] = field(default_factory=dict)


def item(objects):
    return {"external_id": objects.item_id}


def shopper(objects):
    return {"external_id": objects.shopper_id}


def pk(name: str) -> Callable[[ShopAObjects], dict]:
    return lambda objects: {"pk": getattr(objects, name)}


def rule(objects):
    return {"kind": "adjustment", "pk": objects.adjustment}


FAMILY = {"family": Family.POPULARITY}
EVENT = {
    "event_id": "matrix-1", "shopper_id": "s-1", "item_id": "a-item", "type": "view", "occurred_at": "2026-11-20T10:00:00Z",
}
NOT_AN_ADMIN = {actor: LOGIN for actor in ACTORS if actor != "admin"}

CASES: dict[str, Case] = {
    # Outside the API and the console.
    "root": Case("get", ELSEWHERE),
    "login": Case("get", ELSEWHERE),
    "logout": Case("post", ELSEWHERE, unlike=dict.fromkeys(ACTORS, LOGIN)),  # ends on the login page
    "api-schema": Case("get", ELSEWHERE),
    "api-docs": Case("get", ELSEWHERE),
    "favicon": Case("get", ELSEWHERE),
    "admin:index": Case("get", ELSEWHERE, unlike=NOT_AN_ADMIN),
    # The storefront API.
    "api-items": Case("post", SHOP, body=[{"item_id": "matrix-item", "title": "Matrix lipstick"}]),
    "api-item": Case("get", A, item),
    "api-events": Case("post", SHOP, body=[EVENT]),  # shop B's answer rejects the event: no such item in B
    # Shop B's key opts out a shopper of its own with that id.
    "api-shopper-personalization": Case("put", SHOP, shopper, body={"opted_out": True}),
    "api-shopper": Case("delete", A, shopper),
    "api-homepage": Case("get", SHOPPER_OF_A, lambda objects: {"shopper_id": objects.shopper_id}),
    "api-item-similar": Case("get", A, item),
    "api-recommendations": Case("get", SHOPPER_OF_A, lambda objects: {"shopper_id": objects.shopper_id}),
    # The console.
    "console-overview": Case("get", SHOP),
    "console-items-search": Case("get", SHOP),
    "console-audit": Case("get", SHOP),
    "console-audit-revert": Case("post", A, pk("entry")),
    "console-rails": Case("get", SHOP),
    "console-rails-update": Case("post", A, pk("rail")),
    "console-rails-enabled": Case("post", A, pk("rail")),
    "console-rails-move": Case("post", A, pk("rail")),
    "console-rails-ranking": Case("post", A, pk("rail")),
    "console-rails-order": Case("post", SHOP),
    "console-rails-preview": Case("get", A, pk("rail")),
    "console-pins": Case("get", SHOP),
    "console-pins-create": Case("post", SHOP),
    "console-pins-row": Case("get", A, pk("pin")),
    "console-pins-edit": Case("get", A, pk("pin")),
    "console-pins-delete": Case("post", A, pk("pin")),
    "console-rules": Case("get", SHOP),
    "console-rules-lists": Case("get", SHOP),
    "console-rules-create": Case("post", SHOP, lambda objects: {"kind": "block"}),
    "console-rules-row": Case("get", A, rule),
    "console-rules-edit": Case("get", A, rule),
    "console-rules-impact": Case("get", A, rule),
    "console-rules-update": Case("post", A, rule),
    "console-rules-end": Case("post", A, rule),
    "console-rules-delete": Case("post", A, rule),
    "console-campaigns": Case("get", SHOP),
    "console-campaigns-create": Case("post", SHOP),
    "console-campaign": Case("get", A, pk("campaign")),
    "console-campaigns-update": Case("post", A, pk("campaign")),
    "console-campaigns-rail": Case("post", A, pk("campaign")),
    "console-campaigns-pins": Case("get", A, pk("campaign")),
    "console-campaigns-pin-create": Case("post", A, pk("campaign")),
    "console-campaigns-preview": Case("get", A, pk("campaign")),
    "console-preview": Case("get", SHOP),
    "console-preview-shoppers": Case("get", SHOP),
    # A draft's changes are its author's alone: even an admin finds no other's.
    "console-preview-change-remove": Case("post", A, pk("change"), unlike={"admin": NOT_FOUND}),
    "console-draft-bar": Case("get", SHOP),
    "console-draft-start": Case("post", SHOP),
    "console-draft-publish": Case("post", SHOP),
    "console-draft-discard": Case("post", SHOP),
    "console-draft": Case("get", A, pk("draft")),
    "console-draft-rollback": Case("post", A, pk("draft")),
    "console-models": Case("get", SHOP),
    "console-models-run": Case("get", SHOP, lambda objects: FAMILY),
    "console-models-train": Case("post", SHOP, lambda objects: FAMILY),
    "console-models-rollback": Case("post", SHOP, lambda objects: FAMILY),
    "console-models-version": Case("get", A, pk("version")),
    "console-models-promote": Case("post", A, pk("version")),
    "console-experiments": Case("get", SHOP),
    "console-experiment": Case("get", A, pk("experiment")),
    "console-experiment-start": Case("post", A, pk("experiment")),
    "console-experiment-stop": Case("post", A, pk("experiment")),
    "console-experiment-ship": Case("post", A, pk("experiment")),
}

BY_WHERE = {
    # The API takes a key and nothing else: a console session is no key.
    "api": {
        "anonymous": UNAUTHENTICATED, "merchandiser_a": UNAUTHENTICATED, "merchandiser_b": UNAUTHENTICATED,
        "admin": UNAUTHENTICATED, "storefront_a": ALLOWED,
        "storefront_b": {SHOP: ALLOWED, A: NOT_FOUND, SHOPPER_OF_A: STRANGER},
    },
    # The console takes a login and nothing else: a key is no login.
    "console": {
        "anonymous": LOGIN, "storefront_a": LOGIN, "storefront_b": LOGIN, "merchandiser_a": ALLOWED,
        "admin": ALLOWED, "merchandiser_b": {SHOP: ALLOWED, A: NOT_FOUND},
    },
}


def expected(case: Case, actor: str, url: str) -> Outcome:
    if actor in case.unlike:
        return case.unlike[actor]
    if case.where == ELSEWHERE:
        return ALLOWED
    by_actor = BY_WHERE["api" if url.startswith(API) else "console"][actor]
    return by_actor[case.where] if isinstance(by_actor, dict) else by_actor


def routes(patterns=None, prefix: str = "", namespace: str = ""):
    """(qualified name, route) of every URL pattern, the admin's reduced to its index (each of its pages goes
    through the same admin_view check)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            if inner == "admin:":
                yield "admin:index", route
            else:
                yield from routes(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name}" if pattern.name else f"<unnamed {route}>", route


def test_every_url_has_a_row_in_the_matrix():
    names = {name for name, _ in routes()}
    assert sorted(names - set(CASES)) == [], "URLs without an expectation: add a Case for each"
    assert sorted(set(CASES) - names) == [], "Cases for URLs that no longer exist"


@pytest.fixture
def objects(shop_a, shop_b, merchandiser_a) -> ShopAObjects:
    item = ItemFactory(shop=shop_a, external_id="a-item", title="A's lipstick", brand="Acme")
    shopper = ShopperFactory(shop=shop_a, external_id="a-shopper")
    EventFactory(shopper=shopper, item=item)
    rail = default_rails_ensure(shop=shop_a)[0]
    default_rails_ensure(shop=shop_b)
    now = timezone.now()
    draft_open(shop=shop_a, author=merchandiser_a)
    change = rules_change(
        shop=shop_a, actor=merchandiser_a, operation="rail_update", summary="Retitle", rail=rail, title="Picked"
    )
    return ShopAObjects(
        item_id=item.external_id,
        shopper_id=shopper.external_id,
        rail=rail.pk,
        pin=pin_create(rail=rail, item=item, slot=1).pk,
        campaign=campaign_create(shop=shop_a, name="Spring", starts_at=now, ends_at=now + timedelta(days=7)).pk,
        adjustment=adjustment_create(shop=shop_a, target="item", multiplier=2.0, item=item).pk,
        block=block_create(shop=shop_a, brand="Acme").pk,
        version=training_versions_create(shop=shop_a, families=[Family.POPULARITY])[0].pk,
        change=change.pk,
        draft=change.draft_id,
        entry=AuditEntry.objects.filter(shop=shop_a).latest("pk").pk,  # the block's creation: reverting deletes it
        experiment=experiment_create(shop=shop_a, actor=None, name="Matrix", primary_metric="conversion").pk,
    )


@pytest.fixture
def actor_client(request, objects, anonymous, storefront_a, storefront_b, merchandiser_a, merchandiser_b, admin_user):
    actor = request.param
    key_holders = {"anonymous": anonymous, "storefront_a": storefront_a, "storefront_b": storefront_b}
    if actor in key_holders:
        return actor, key_holders[actor]
    client = APIClient()
    client.force_login({"merchandiser_a": merchandiser_a, "merchandiser_b": merchandiser_b, "admin": admin_user}[actor])
    return actor, client


@pytest.mark.parametrize("actor_client", ACTORS, indirect=True)
def test_each_actor_reaches_exactly_what_it_may(actor_client, objects):
    actor, client = actor_client
    wrong = []
    for name, case in CASES.items():
        url = reverse(name, kwargs=case.kwargs(objects))
        cookies = copy.deepcopy(client.cookies)  # the session as it was, should the request end it (logout)
        with transaction.atomic():
            response = getattr(client, case.method)(url, case.body, format="json" if url.startswith(API) else None)
            transaction.set_rollback(True)
        client.cookies = cookies
        got, want = outcome(response), expected(case, actor, url)
        if got != want:
            wrong.append(f"{case.method.upper()} {url}: {got.name} ({response.status_code}), expected {want.name}")
    assert wrong == [], f"{actor}:\n" + "\n".join(wrong)
