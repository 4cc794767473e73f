import logging

from celery import shared_task
from django.conf import settings

from catalog.models import Shop

from . import services
from .models import ModelVersion
from .services.training import TrainingError

logger = logging.getLogger(__name__)


@shared_task(time_limit=settings.VITRINE_TRAIN_TASK_TIME_LIMIT_S, soft_time_limit=settings.VITRINE_TRAIN_TASK_TIME_LIMIT_S - 60)
def train_model_version_task(version_id: int) -> None:
    # Acknowledged once done (acks_late): a worker lost before a run starts leaves the task to another worker.
    # A redelivery of a run already claimed, or already failed by the reaper, finds it not queued and does nothing.
    version = ModelVersion.objects.select_related("shop").filter(pk=version_id).first()
    if version is None or version.status != ModelVersion.Status.QUEUED:
        return
    services.model_version_train(version=version)


@shared_task
def training_runs_reap_task() -> None:
    services.training_runs_reap_stale()


@shared_task
def train_scheduled_task() -> None:
    services.training_runs_reap_stale()
    for shop in Shop.objects.all():
        try:
            services.training_dispatch(shop=shop, skip_in_flight=True)
        except TrainingError as error:  # the console queued the same family at the same moment
            logger.info("Shop %s: scheduled training skipped: %s", shop.slug, error)


@shared_task
def item_embeddings_write_through_task(shop_id: int, item_pks: list[int]) -> None:
    shop = Shop.objects.filter(pk=shop_id).first()
    if shop is not None:
        services.item_embeddings_write_through(shop=shop, item_pks=item_pks)


@shared_task
def vector_indexes_refresh_task() -> None:
    services.vector_indexes_refresh()


@shared_task
def query_embeddings_write_task(shop_id: int, queries: list[str]) -> None:
    shop = Shop.objects.filter(pk=shop_id).first()
    if shop is not None:
        services.query_embeddings_write(shop=shop, queries=queries)
