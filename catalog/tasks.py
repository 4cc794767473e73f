from celery import shared_task

from . import services
from .models import Shop


@shared_task
def item_interaction_counts_refresh_task(shop_id: int) -> None:
    shop = Shop.objects.filter(pk=shop_id).first()
    if shop is None:
        return
    services.item_interaction_counts_refresh(shop=shop)


@shared_task
def item_removals_prune_task() -> None:
    services.item_removals_prune()
