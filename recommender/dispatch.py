"""What the recommender's services queue, named as Celery knows the tasks: services never import the tasks that
call them (config.settings routes each name to its queue)."""

import logging
from collections.abc import Sequence

import redis.exceptions
from celery import chain, current_app
from kombu.exceptions import OperationalError

from catalog.models import Shop

logger = logging.getLogger(__name__)
TRAIN_VERSION_TASK = "recommender.tasks.train_model_version_task"
EMBED_TASK = "recommender.tasks.item_embeddings_write_through_task"
QUERIES_TASK = "recommender.tasks.query_embeddings_write_task"
VECTOR_INDEXES_TASK = "recommender.tasks.vector_indexes_refresh_task"
# What publishing a task raises while the broker is down or unreachable.
BROKER_ERRORS = (OperationalError, ConnectionError, TimeoutError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def versions_train_queue(*, version_ids: Sequence[int]) -> None:
    """Queue the training runs of these versions, one after another; raises the broker's error when it is down."""
    chain(*[current_app.signature(TRAIN_VERSION_TASK, args=(pk,), immutable=True) for pk in version_ids]).delay()


def item_embeddings_queue(*, shop: Shop, item_pks: Sequence[int]) -> None:
    """Queue the embedding of items just written. While the broker is down the write stands, and the items are
    embedded by the shop's next text-model training instead."""
    try:
        current_app.send_task(EMBED_TASK, args=(shop.pk, list(item_pks)))
    except BROKER_ERRORS:
        logger.warning("Shop %s: the task queue is unreachable; %d items are embedded at the next training", shop.slug, len(item_pks))


def vector_indexes_queue() -> None:
    """Queue a build of the indexes whose vectors changed (a whole catalog embedded again); while the broker is down
    the schedule builds them within 15 minutes, and pages search the vectors exactly meanwhile."""
    try:
        current_app.send_task(VECTOR_INDEXES_TASK)
    except BROKER_ERRORS:
        logger.warning("The task queue is unreachable; vector indexes are built on the schedule")


def query_embeddings_queue(*, shop: Shop, queries: Sequence[str]) -> None:
    """Queue the embedding of search words just stored; while the broker is down they count for no page (a search
    with no embedding is skipped) until the shopper searches again."""
    try:
        current_app.send_task(QUERIES_TASK, args=(shop.pk, list(queries)))
    except BROKER_ERRORS:
        logger.warning("Shop %s: the task queue is unreachable; %d searches are not embedded", shop.slug, len(queries))
