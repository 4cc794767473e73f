"""Layout caching, and the version tokens that make a cached layout stale.

A cached page is keyed by tokens rather than deleted: a shopper's new event replaces their token,
any rule change replaces the shop's token, a promote or rollback changes the serving version ids.
A key whose token changed is never read again and expires on its own.
"""

import hashlib
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.cache import cache
from django.db import transaction

from catalog.models import Shop

# Popularity, trends and availability move with other shoppers' events and catalog updates;
# the layout is served at most this long before it is composed again.
PAGE_SECONDS = 120
TOKEN_SECONDS = 7 * 24 * 3600


def _shop_identity(shop: Shop) -> str:
    # The creation time beside the pk: a database rebuilt from scratch reuses pks, not timestamps.
    return f"{shop.pk}.{int(shop.created_at.timestamp() * 1_000_000)}"


def _shop_token_key(shop: Shop) -> str:
    return f"homepage:rules:{_shop_identity(shop)}"


def _shopper_token_key(shop: Shop, shopper_pk: int) -> str:
    return f"homepage:shopper:{_shop_identity(shop)}:{shopper_pk}"


def _new_token() -> str:
    return uuid.uuid4().hex[:12]


_rules_silenced: ContextVar[bool] = ContextVar("homepage_rules_silenced", default=False)


def homepage_rules_changed(*, shop: Shop) -> None:
    """Every cached page of the shop is stale: a rail, pin, adjustment, block or campaign changed."""
    if not _rules_silenced.get():
        cache.set(_shop_token_key(shop), _new_token(), TOKEN_SECONDS)


@contextmanager
def homepage_rules_changes_silenced() -> Iterator[None]:
    """Rule writes that will be rolled back (a draft's preview) leave the shop's cached pages valid."""
    reset = _rules_silenced.set(True)
    try:
        yield
    finally:
        _rules_silenced.reset(reset)


def homepage_shoppers_changed(*, shop: Shop, shopper_pks: Iterable[int]) -> None:
    """These shoppers' cached pages are stale (they have new events): one round trip for the batch."""
    token = _new_token()
    keys = {_shopper_token_key(shop, pk): token for pk in set(shopper_pks)}
    if keys:
        cache.set_many(keys, TOKEN_SECONDS)


def _tokens(shop: Shop, shopper_pk: int | None) -> tuple[str, str]:
    keys = [_shop_token_key(shop)] + ([_shopper_token_key(shop, shopper_pk)] if shopper_pk else [])
    found = cache.get_many(keys)
    tokens = []
    for key in keys:
        token = found.get(key)
        if token is None:
            # A missing token must not match a page cached under an earlier, evicted one: start a new one.
            cache.add(key, _new_token(), TOKEN_SECONDS)
            token = cache.get(key) or "none"
        tokens.append(token)
    return tokens[0], tokens[1] if shopper_pk else "anonymous"


def page_cache_key(*, shop: Shop, shopper_pk: int | None, version_ids: Iterable[int], request_shape: str) -> str:
    rules_token, shopper_token = _tokens(shop, shopper_pk)
    versions = "-".join(map(str, sorted(version_ids)))
    shape = hashlib.sha1(request_shape.encode()).hexdigest()[:16]
    return f"homepage:page:{_shop_identity(shop)}:{rules_token}:{versions}:{shopper_pk or 0}:{shopper_token}:{shape}"


def page_get(key: str):
    return cache.get(key)


def page_set(key: str, page, seconds: int) -> None:
    if seconds > 0:
        cache.set(key, page, seconds)


def _catalog_token_key(shop: Shop) -> str:
    return f"homepage:catalog:{_shop_identity(shop)}"


def _catalog_token_bump(shop: Shop) -> None:
    cache.set(_catalog_token_key(shop), _new_token(), TOKEN_SECONDS)


def homepage_catalog_changed(*, shop: Shop) -> None:
    """Every process's snapshot of the shop's catalog is stale: items or their embeddings changed."""
    _catalog_token_bump(shop)
    if transaction.get_connection().in_atomic_block:
        # A process reloading before the commit reads the old rows under the new token: bump again after it.
        transaction.on_commit(lambda: _catalog_token_bump(shop))


def catalog_token(*, shop: Shop) -> str:
    """The shop's catalog version as the snapshots know it; one cache read per page."""
    key = _catalog_token_key(shop)
    token = cache.get(key)
    if token is None:
        # Evicted or never set: a new token, so no process keeps a snapshot loaded under an unknown state.
        cache.add(key, _new_token(), TOKEN_SECONDS)
        token = cache.get(key) or "none"
    return token
