"""What the recommender's services queue, named as Celery knows the tasks: services never import the tasks that
call them (config.settings routes each name to its queue)."""

from collections.abc import Sequence

from celery import chain, current_app

TRAIN_VERSION_TASK = "recommender.tasks.train_model_version_task"


def versions_train_queue(*, version_ids: Sequence[int]) -> None:
    """Queue the training runs of these versions, one after another; raises the broker's error when it is down."""
    chain(*[current_app.signature(TRAIN_VERSION_TASK, args=(pk,), immutable=True) for pk in version_ids]).delay()
