from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import EventType
from homepage import selectors
from tests.factories import ItemFactory, ShopperFactory
from tests.homepage.helpers import record

pytestmark = pytest.mark.django_db


def test_shopper_get_finds_the_shops_own_shopper_only(shop_a, shop_b):
    shopper = ShopperFactory(shop=shop_a, external_id="s-1", personalization_opt_out=True, attributes={"tier": "gold"})
    ShopperFactory(shop=shop_b, external_id="s-2")

    found = selectors.shopper_get(shop=shop_a, external_id="s-1")

    assert (found.pk, found.shop, found.personalization_opt_out) == (shopper.pk, shop_a, True)
    assert found.attributes == {"tier": "gold"}  # not read with the page, still there when asked for
    assert selectors.shopper_get(shop=shop_a, external_id="s-2") is None
    assert selectors.shopper_get(shop=shop_a, external_id="nobody") is None


def test_shopper_page_events_reads_the_latest_events_then_dislikes_and_recent_purchases(shop_a):
    shopper = ShopperFactory(shop=shop_a)
    items = ItemFactory.create_batch(5, shop=shop_a)
    record(shopper, items[0], EventType.PURCHASE, minutes_ago=60 * 24 * 40)  # bought long ago
    record(shopper, items[1], EventType.DISLIKE, minutes_ago=60 * 24 * 40)
    record(shopper, items[2], EventType.PURCHASE, minutes_ago=30)
    record(shopper, items[3], EventType.VIEW, minutes_ago=20)
    record(shopper, items[4], EventType.CLICK, minutes_ago=10)
    record(ShopperFactory(shop=shop_a), items[0], EventType.DISLIKE)  # someone else's

    rows = selectors.shopper_page_events(shopper=shopper, limit=2, since=timezone.now() - timedelta(days=30))

    latest = [(pk, kind) for pk, kind, _, _, is_latest in rows if is_latest]
    settled = sorted((pk, kind) for pk, kind, _, _, is_latest in rows if not is_latest)
    assert sorted(latest) == sorted([(items[4].pk, EventType.CLICK), (items[3].pk, EventType.VIEW)])
    assert settled == sorted([(items[1].pk, EventType.DISLIKE), (items[2].pk, EventType.PURCHASE)])
