import pytest
from celery.contrib.testing.worker import start_worker

from catalog.models import Item
from catalog.tasks import item_interaction_counts_refresh_task
from config.celery import app
from config.queues import Queue
from tests.factories import EventFactory, ItemFactory, ShopperFactory
from tests.support import wait_for


@pytest.mark.django_db(transaction=True)
def test_a_task_sent_through_redis_is_run_by_a_real_worker(shop_a):
    shopper = ShopperFactory(shop=shop_a)
    item = ItemFactory(shop=shop_a)
    EventFactory.create_batch(3, shopper=shopper, item=item)

    with start_worker(app, pool="solo", perform_ping_check=False, queues=[Queue.DEFAULT], shutdown_timeout=10):
        item_interaction_counts_refresh_task.delay(shop_a.id)
        assert wait_for(lambda: Item.objects.get(pk=item.pk).interaction_count == 3, timeout=20.0)
