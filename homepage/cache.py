"""Layout caching, and the version tokens that make a cached layout stale.

A cached page is stamped with tokens rather than deleted: a shopper's new events replace their entry (and
its token), an opt-out or erasure drops it, any rule change replaces the shop's rules token, a promote or
rollback replaces its models token. A page whose stamp is not the current tokens is never served; the
next one composed replaces it. A known shopper's cached page is found with one cache round trip and no
query beyond the availability check; composing one reads the rules, models and catalog as of the tokens
read with it.
"""

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.core.cache import cache
from redis.exceptions import RedisError

from catalog.models import Shop, Shopper
from config.tokens import TOKEN_SECONDS, token_bump, token_new, token_read

logger = logging.getLogger(__name__)

# Popularity and trends are counted again this often (homepage.selectors.SHOP_COUNTS_SECONDS), so a
# layout is composed again as often; availability is checked on every hit, and the tokens cover the rest.
PAGE_SECONDS = 600
# Part of every page key: a release that changes what a cached page holds never reads the previous release's.
PAGE_FORMAT = 3


def shop_identity(shop: Shop) -> str:
    """The shop in cache keys and per-process copies."""
    # The creation time beside the pk: a database rebuilt from scratch reuses pks, not timestamps.
    return f"{shop.pk}.{int(shop.created_at.timestamp() * 1_000_000)}"


class ProcessCopies:
    """This process's copies of something read per shop (its rules, its serving versions), each kept while
    the shop's token is the one it was read under; past `max_shops` the least recently used is dropped."""

    def __init__(self, max_shops: int = 16):
        self.max_shops = max_shops
        self._copies: OrderedDict[str, tuple[str, object]] = OrderedDict()

    def get(self, shop: Shop, token: str, read: Callable[[], object]):
        # Callers read the token before `read` runs: a write landing in between replaces it again on commit.
        key = shop_identity(shop)
        found = self._copies.get(key)
        if found is None or found[0] != token:
            found = self._copies[key] = (token, read())
        self._copies.move_to_end(key)
        while len(self._copies) > self.max_shops:
            self._copies.popitem(last=False)
        return found[1]


def _shop_token_key(shop: Shop) -> str:
    return f"homepage:rules:{shop_identity(shop)}"


def _hashed(external_id: str) -> str:
    # Storefront ids may hold characters a cache key must not.
    return hashlib.sha1(external_id.encode()).hexdigest()


def _shopper_key(shop: Shop, hashed_id: str) -> str:
    return f"homepage:shopper:{shop_identity(shop)}:{hashed_id}"


def _models_token_key(shop: Shop) -> str:
    return f"homepage:models:{shop_identity(shop)}"


_rules_silenced: ContextVar[bool] = ContextVar("homepage_rules_silenced", default=False)


def homepage_rules_changed(*, shop: Shop) -> None:
    """Every cached page of the shop is stale: a rail, pin, adjustment, block or campaign changed."""
    if not _rules_silenced.get():
        token_bump_through_commit(_shop_token_key(shop))


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


def homepage_shoppers_changed(*, shop: Shop, external_ids: Iterable[str]) -> None:
    """These shoppers' cached pages are stale (opt-out, erasure): one round trip for the batch.

    Their entries are dropped, so the next page reads the shopper again and starts a new token.
    """
    keys = [_shopper_key(shop, _hashed(external_id)) for external_id in set(external_ids)]
    if keys:
        cache.delete_many(keys)


def homepage_shoppers_forget(*, shop: Shop, external_ids: Iterable[str]) -> None:
    """These shoppers' cached pages are deleted, not only made stale (erasure, opt-out): what was composed
    from their history leaves the cache at once.

    A shopper's pages are one per request shape, so they are found by scanning the cache's keys for their
    prefix: a cost for rare requests only, never for serving pages.
    """
    external_ids = set(external_ids)
    homepage_shoppers_changed(shop=shop, external_ids=external_ids)
    client = cache._cache.get_client(write=True)  # Django's cache API has no delete by pattern
    try:
        for external_id in external_ids:
            pattern = cache.make_key(f"{_page_key_prefix(shop, _hashed(external_id))}*")
            keys = list(client.scan_iter(match=pattern, count=1000))
            if keys:
                client.delete(*keys)
    except RedisError:
        # Their entry is gone, so these pages are never served again; they expire within PAGE_SECONDS.
        logger.warning(
            "Shop %s: cached pages of %d shopper(s) could not be deleted now", shop.slug, len(external_ids), exc_info=True
        )


def homepage_shoppers_acted(*, shop: Shop, opt_outs: dict[str, bool]) -> None:
    """These shoppers (storefront id to opted out) have new events, stored: their cached pages are stale.

    Each gets a new entry, with a new token, in one round trip: their next page is composed fresh, and
    finds the entry without reading the shopper for it.
    """
    entries = {_shopper_key(shop, _hashed(external_id)): _shopper_entry(True, opt_out) for external_id, opt_out in opt_outs.items()}
    if entries:
        cache.set_many(entries, TOKEN_SECONDS)


def homepage_models_changed(*, shop: Shop) -> None:
    """Every cached page of the shop is stale: another model version serves."""
    token_bump_through_commit(_models_token_key(shop))


# Inside one page request, the shop's tokens its page is stamped with: what the page is composed from agrees
# with its stamp, and each token costs no second round trip.
_request_tokens: ContextVar[dict[str, str] | None] = ContextVar("homepage_request_tokens", default=None)


def token_bump_through_commit(key: str) -> None:
    # A page composing now reads what changed as of the new token, not the one its request began with.
    (_request_tokens.get() or {}).pop(key, None)
    token_bump(key)


def _shop_token(key: str) -> str:
    known = (_request_tokens.get() or {}).get(key)
    return known if known is not None else token_read(key, cache.get(key))


def rules_token(*, shop: Shop) -> str:
    """The shop's rules version, as the per-process rule copies know it."""
    return _shop_token(_shop_token_key(shop))


UNREAD = object()  # the shopper was not read: their entry was cached


@dataclass(frozen=True)
class PageTokens:
    rules: str
    models: str
    shopper_entry: dict  # token, known and opt_out of the shopper id asked for
    shopper: object  # the Shopper (or None) when it was read to make the entry, else UNREAD
    shop_tokens: dict[str, str]  # every shop token read, rules, models and catalog, by cache key
    variant: str = ""  # the experiment arm the page is composed for, as variant_of labels it; "" for none


def _shopper_entry(known: bool, opt_out: bool) -> dict:
    return {"token": token_new(), "known": known, "opt_out": opt_out}


def _page_key_prefix(shop: Shop, who: str) -> str:
    return f"homepage:page:v{PAGE_FORMAT}:{shop_identity(shop)}:{who}:"


def _page_key(shop: Shop, who: str, request_shape: str) -> str:
    shape = hashlib.sha1(request_shape.encode()).hexdigest()[:16]
    return f"{_page_key_prefix(shop, who)}{shape}"


def _page_stamp(tokens: PageTokens) -> list:
    """What a cached page must have been composed under to be served: every token its content depends on."""
    entry = tokens.shopper_entry
    return [tokens.rules, tokens.models, entry["token"] if entry["known"] else "", entry["opt_out"], tokens.variant]


@dataclass(frozen=True)
class PageLookup:
    tokens: PageTokens
    key: str  # where this request's page is cached: the shopper's own, or the one unknown shoppers share
    cached: dict | None  # the page found there, if it was composed under these very tokens


def page_lookup(
    *, shop: Shop, shopper_external_id: str, request_shape: str, shopper_read: Callable[[], Shopper | None],
    variant_of: Callable[[str], str] = lambda rules_token: "",
) -> PageLookup:
    """The page's tokens, the catalog's, and the shopper's cached page, in one round trip; an unknown shopper's
    shared page costs a second, and the shopper is read only when their entry is missing.

    Pages are stamped with the tokens rather than keyed by them, so that the page is read with the tokens.
    `variant_of` labels the experiment arm the shopper is served under a rules token ("" for none): unknown
    shoppers share one page per arm, and a page is served only to the arm it was composed for.
    """
    shop_keys = [_shop_token_key(shop), _models_token_key(shop), _catalog_token_key(shop)]
    hashed_id = _hashed(shopper_external_id)
    shopper_key, own_key = _shopper_key(shop, hashed_id), _page_key(shop, hashed_id, request_shape)
    found = cache.get_many([*shop_keys, shopper_key, own_key])
    entry, shopper = found.get(shopper_key), UNREAD
    if entry is None:
        shopper = shopper_read()
        # Read before the entry is made: an event stored in between replaces it, so nothing stale keeps it.
        made = _shopper_entry(shopper is not None, bool(shopper and shopper.personalization_opt_out))
        if cache.add(shopper_key, made, TOKEN_SECONDS):
            entry = made
        elif (entry := cache.get(shopper_key)) is not None:
            # Another request, or an event's ingest, made the entry since: the shopper is read again for it.
            shopper = UNREAD
        else:
            entry = made  # the cache is unavailable: the shopper just read is the one to compose for
    shop_tokens = {key: token_read(key, found.get(key)) for key in shop_keys}
    tokens = PageTokens(
        rules=shop_tokens[shop_keys[0]], models=shop_tokens[shop_keys[1]], shopper_entry=entry, shopper=shopper,
        shop_tokens=shop_tokens, variant=variant_of(shop_tokens[shop_keys[0]]),
    )
    if entry["known"]:
        key, stored = own_key, found.get(own_key)
    else:
        key = _page_key(shop, f"anonymous-{tokens.variant}" if tokens.variant else "anonymous", request_shape)
        stored = cache.get(key)
    fresh = stored is not None and stored["stamp"] == _page_stamp(tokens)
    return PageLookup(tokens=tokens, key=key, cached=stored["page"] if fresh else None)


def page_store(lookup: PageLookup, page: dict, seconds: int) -> None:
    """Cache `page`, composed under the lookup's tokens, for `seconds`."""
    if seconds > 0:
        cache.set(lookup.key, {"stamp": _page_stamp(lookup.tokens), "page": page}, seconds)


@contextmanager
def page_tokens_reused(tokens: PageTokens) -> Iterator[None]:
    """While composing the page stamped with `tokens`: the rules, models and catalog are read as of those tokens."""
    reset = _request_tokens.set(dict(tokens.shop_tokens))
    try:
        yield
    finally:
        _request_tokens.reset(reset)


def models_token(*, shop: Shop) -> str:
    """The shop's serving versions, as the per-process copies know them."""
    return _shop_token(_models_token_key(shop))


def _catalog_token_key(shop: Shop) -> str:
    return f"homepage:catalog:{shop_identity(shop)}"


def homepage_catalog_changed(*, shop: Shop) -> None:
    """Every process's snapshot of the shop's catalog is stale: items or their embeddings changed."""
    token_bump_through_commit(_catalog_token_key(shop))


def catalog_token(*, shop: Shop) -> str:
    """The shop's catalog version as the snapshots know it."""
    return _shop_token(_catalog_token_key(shop))
