"""Version tokens in the shared cache: a process keeps its copy of something (checked API keys, a shop's rules or
catalog) under the token it read, and any process that changes it replaces the token, so every process reads
it again. Every app uses these; the homepage adds request-scoped reuse on top (homepage.cache)."""

import time
import uuid

from django.core.cache import cache
from django.db import transaction

TOKEN_SECONDS = 7 * 24 * 3600
# While the cache cannot hold tokens, per-process copies are read again this often: a change made meanwhile
# is seen within these seconds, and a process does not read its copies again for every request.
UNAVAILABLE_TOKEN_SECONDS = 5


def token_new() -> str:
    return uuid.uuid4().hex[:12]


def token_read(key: str, found: str | None) -> str:
    """The token under `key`, given what the cache returned for it (`found`)."""
    if found is None:
        # A missing token must not match anything cached under an earlier, evicted one: start a new one.
        cache.add(key, token_new(), TOKEN_SECONDS)
        found = cache.get(key) or f"unavailable-{int(time.monotonic() // UNAVAILABLE_TOKEN_SECONDS)}"
    return found


def token_bump(key: str) -> None:
    """Replace the token now and, inside a transaction, again once it commits: a process reading before the
    commit keeps the old rows under the new token."""
    cache.set(key, token_new(), TOKEN_SECONDS)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: cache.set(key, token_new(), TOKEN_SECONDS))
