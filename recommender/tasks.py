from celery import shared_task

from catalog.models import Shop

from . import services
from .models import ModelVersion
from .services.training import TRAIN_TIME_LIMIT_S


@shared_task(time_limit=TRAIN_TIME_LIMIT_S, soft_time_limit=TRAIN_TIME_LIMIT_S - 60, acks_late=False)
def train_model_version_task(version_id: int) -> None:
    # acks_late off: a training run that kills its worker must not be redelivered forever; the reaper marks it failed.
    version = ModelVersion.objects.select_related("shop").filter(pk=version_id).first()
    if version is None or version.status != ModelVersion.Status.QUEUED:
        return
    services.model_version_train(version=version)


@shared_task
def train_scheduled_task() -> None:
    services.training_runs_reap_stale()
    for shop in Shop.objects.all():
        services.training_dispatch(shop=shop)
