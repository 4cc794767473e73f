from celery import shared_task

from catalog.models import Shop

from . import rollups, services

PRECOMPUTE_TIME_LIMIT_S = 540  # shorter than the schedule's period: runs never pile up


@shared_task(time_limit=PRECOMPUTE_TIME_LIMIT_S)
def homepages_precompute_task(shop_id: int) -> None:
    shop = Shop.objects.filter(pk=shop_id).first()
    if shop is not None:
        services.homepages_precompute(shop=shop)


@shared_task
def homepages_scheduled_task() -> None:
    for shop_id in Shop.objects.values_list("pk", flat=True):
        homepages_precompute_task.delay(shop_id)


@shared_task
def rollup_pages_flush_task() -> None:
    rollups.rollup_pages_flush()
