"""gunicorn's settings for the web processes, read from the working directory by `gunicorn config.wsgi`."""

import gc
import logging
import os

logger = logging.getLogger("gunicorn.error")

# Sync workers, each serving one request at a time: with more workers than cores, a cached page is
# answered while another worker composes a fresh one (measured in `python -m bench homepage`).
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# Those sync workers, answering the requests gunicorn refuses itself in the API's JSON error shape.
worker_class = "config.gunicorn_worker.JsonErrorWorker"


def post_worker_init(worker):
    """Each worker loads the serving shops' catalogs, rules and models before its first request."""
    try:
        from django.urls import get_resolver

        from homepage.services import serving_warm

        warmed = serving_warm(on_shop=worker.notify)
    except Exception:
        # A worker that cannot warm up still serves: its first pages load what they need, as they would cold.
        logger.exception("Warm-up failed; pages will load what they need on first use")
        return
    # Every view's module, imported now rather than by the first request: then what the worker loaded,
    # which lives as long as it does, is kept out of the cyclic garbage collector's full passes. They
    # would traverse its hundreds of thousands of objects: a 100 ms pause every few thousand pages,
    # stalling the request being served.
    get_resolver().url_patterns
    gc.freeze()
    logger.info("Worker %s warmed up %d shop(s): %s", worker.pid, len(warmed), ", ".join(warmed) or "none serving yet")
