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
        _token_bump_through_commit(_shop_token_key(shop))


def rules_changes_silenced() -> bool:
    """Inside a draft's preview: the rules read now are not the published ones."""
    return _rules_silenced.get()


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


def _token_read(key: str, found: str | None) -> str:
    if found is None:
        # A missing token must not match anything cached under an earlier, evicted one: start a new one.
        cache.add(key, _new_token(), TOKEN_SECONDS)
        found = cache.get(key) or "none"
    return found


def _token_bump_through_commit(key: str) -> None:
    cache.set(key, _new_token(), TOKEN_SECONDS)
    if transaction.get_connection().in_atomic_block:
        # A process reading before the commit keeps the old rows under the new token: bump again after it.
        transaction.on_commit(lambda: cache.set(key, _new_token(), TOKEN_SECONDS))


def _tokens(shop: Shop, shopper_pk: int | None) -> tuple[str, str]:
    keys = [_shop_token_key(shop)] + ([_shopper_token_key(shop, shopper_pk)] if shopper_pk else [])
    found = cache.get_many(keys)
    tokens = [_token_read(key, found.get(key)) for key in keys]
    return tokens[0], tokens[1] if shopper_pk else "anonymous"


def rules_token(*, shop: Shop) -> str:
    """The shop's rules version, as the per-process rule copies know it."""
    key = _shop_token_key(shop)
    return _token_read(key, cache.get(key))


def page_cache_key(*, shop: Shop, shopper_pk: int | None, version_ids: Iterable[int], request_shape: str) -> str:
    rules, shopper_token = _tokens(shop, shopper_pk)
    versions = "-".join(map(str, sorted(version_ids)))
    shape = hashlib.sha1(request_shape.encode()).hexdigest()[:16]
    return f"homepage:page:{_shop_identity(shop)}:{rules}:{versions}:{shopper_pk or 0}:{shopper_token}:{shape}"


def page_get(key: str):
    return cache.get(key)


def page_set(key: str, page, seconds: int) -> None:
    if seconds > 0:
        cache.set(key, page, seconds)


def _catalog_token_key(shop: Shop) -> str:
    return f"homepage:catalog:{_shop_identity(shop)}"


def homepage_catalog_changed(*, shop: Shop) -> None:
    """Every process's snapshot of the shop's catalog is stale: items or their embeddings changed."""
    _token_bump_through_commit(_catalog_token_key(shop))


def catalog_token(*, shop: Shop) -> str:
    """The shop's catalog version as the snapshots know it; one cache read per page."""
    key = _catalog_token_key(shop)
    return _token_read(key, cache.get(key))
