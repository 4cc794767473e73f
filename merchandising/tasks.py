from celery import shared_task

from .experiments.services import bandits_reallocate


@shared_task
def bandits_reallocate_task() -> None:
    bandits_reallocate()
