"""The Overview: events per day, click-through per rail from attributed events, the models serving, the counts."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from catalog.models import Event, EventType
from homepage.rollups import FLUSHING_KEY, PAGES_KEY, rollup_pages_flush
from merchandising import selectors
from merchandising.experiments.rollups import rollups_rebuild
from merchandising.models import AuditEntry, Draft
from merchandising.services import (
    default_rails_ensure,
    draft_open,
    draft_publish,
    model_version_serve,
    rules_change,
)
from recommender.models import Family, ModelVersion
from tests.factories import ItemFactory, ShopperFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(client, merchandiser_a):
    client.force_login(merchandiser_a)
    return client


def _events(shop, *specs):
    """Stores events given as (type, days ago, context) on one shopper and item of `shop`, around the API: the
    console reads rollups, so they are recounted as `manage.py rollups_rebuild` does."""
    shopper, item = ShopperFactory(shop=shop), ItemFactory(shop=shop)
    now = timezone.now()
    Event.objects.bulk_create(
        Event(
            shop=shop, shopper=shopper, item=item, type=event_type, event_id=f"{shop.slug}-{number}",
            occurred_at=now - timedelta(days=days_ago), context=context,
        )
        for number, (event_type, days_ago, context) in enumerate(specs)
    )
    rollups_rebuild(shop=shop)


def _row(page: str, rail: str) -> list[str]:
    row = page.split(f'<tr data-rail="{rail}">')[1].split("</tr>")[0]
    return [re.sub(r"<[^>]+>", " ", cell).split()[0] for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_events_per_day_count_the_shops_events_of_each_of_the_last_30_days(alice, shop_a, shop_b):
    _events(
        shop_a,
        (EventType.VIEW, 0, {}), (EventType.VIEW, 0, {}), (EventType.CLICK, 0, {}),
        (EventType.PURCHASE, 3, {}), (EventType.IMPRESSION, 3, {}),
        (EventType.VIEW, 29, {}),
        (EventType.VIEW, 30, {}), (EventType.PURCHASE, 400, {}),  # before the window
    )
    _events(shop_b, (EventType.VIEW, 0, {}))
    today = timezone.localdate()

    days = selectors.events_per_day(shop=shop_a, days=30, until=timezone.now())
    assert len(days) == 30 and days[0].day == today - timedelta(days=29) and days[-1].day == today
    assert days[-1].counts == {"view": 2, "click": 1}
    assert days[-4].counts == {"purchase": 1, "impression": 1}
    assert days[0].counts == {"view": 1}
    assert sum(sum(day.counts.values()) for day in days) == 6

    page = alice.get("/console/").content.decode()
    chart = page.split('data-testid="events-chart"')[1].split("</figure>")[0]
    assert f"<title>{today:%b %d} · Views: 2 of 3</title>" in chart
    assert f"<title>{today:%b %d} · Clicks: 1 of 3</title>" in chart
    assert f"<title>{today - timedelta(days=3):%b %d} · Purchases: 1 of 1</title>" in chart
    assert chart.count("<rect") == 4  # impressions are not drawn; nothing from before the window or from shop B
    assert ">day<" in chart and ">events<" in chart and "Views" in chart


def test_click_through_per_rail_comes_from_attributed_impressions_and_clicks(alice, shop_a, shop_b):
    default_rails_ensure(shop=shop_a)
    for_you = {"rail": "for-you", "request_id": "r-1"}
    trending = {"rail": "trending", "request_id": "r-1"}
    _events(
        shop_a,
        *[(EventType.IMPRESSION, 1, for_you)] * 8, (EventType.CLICK, 1, for_you), (EventType.CLICK, 0, for_you),
        (EventType.PURCHASE, 0, for_you),
        *[(EventType.IMPRESSION, 2, trending)] * 4,
        (EventType.CLICK, 0, {}),  # not attributed to a rail
        (EventType.CLICK, 45, for_you),  # before the window
    )
    _events(shop_b, (EventType.CLICK, 0, for_you))

    page = alice.get("/console/").content.decode()
    assert _row(page, "for-you") == ["Picked", "8", "2", "1", "25.0%"]
    assert _row(page, "trending") == ["Trending", "4", "0", "0", "0.0%"]
    assert 'value="0.250000"' in page.split('<tr data-rail="for-you">')[1].split("</tr>")[0]


def test_click_through_follows_the_request_id_and_rail_the_homepage_handed_out(alice, pattern_shop, storefront_a):
    page = storefront_a.get("/api/v1/homepage/new-shopper?size=4").json()
    rail = page["rails"][0]
    shown = [
        {"event_id": f"imp-{item['item_id']}", "shopper_id": "new-shopper", "item_id": item["item_id"], "type": "impression",
         "occurred_at": timezone.now().isoformat(), "context": {"request_id": page["request_id"], "rail": rail["key"], "slot": item["slot"]}}
        for item in rail["items"]
    ]
    click = {**shown[0], "event_id": "click-1", "type": "click"}
    assert storefront_a.post("/api/v1/events", [*shown, click], format="json").json()["created"] == len(shown) + 1

    cells = _row(alice.get("/console/").content.decode(), rail["key"])
    assert cells[1:3] == [str(len(shown)), "1"]
    assert cells[-1] == f"{100 / len(shown):.1f}%"


def test_no_attributed_events_says_so(alice, shop_a):
    assert "No attributed impressions or clicks yet." in alice.get("/console/").content.decode()


def test_the_overview_shows_counts_and_each_familys_serving_version_with_its_metrics(alice, shop_a):
    _events(shop_a, (EventType.VIEW, 0, {}), (EventType.CLICK, 0, {}))
    ModelVersion.objects.create(
        shop=shop_a, family=Family.MF, number=3, status=ModelVersion.Status.SUCCEEDED, is_active=True, device="cpu",
        metrics={"hr_10": 0.4321, "ndcg_10": 0.1234},
    )
    page = alice.get("/console/").content.decode()
    assert re.search(r'data-testid="count-items">1<', page) and re.search(r'data-testid="count-events">2<', page)
    models = page.split('id="models-title"')[1]
    for label in Family.labels:
        assert label in models
    assert "v3 · cpu" in models and "0.4321" in models and "0.1234" in models
    assert 'href="/console/models/#family-mf"' in models


def test_the_overview_says_its_figures_in_plain_words(alice, shop_a):
    ModelVersion.objects.create(
        shop=shop_a, family=Family.MF, number=1, status=ModelVersion.Status.SUCCEEDED, is_active=True, device="cpu",
        metrics={"hr_10": 0.43, "ndcg_10": 0.061},
    )
    _events(shop_a, *[(EventType.IMPRESSION, 0, {"rail": "for-you"})] * 8, (EventType.CLICK, 0, {"rail": "for-you"}))
    page = alice.get("/console/").content.decode()
    models = page.split('id="models-title"')[1]
    assert "for 43 in 100 shoppers, the item they engaged with next was among the first 10 recommended" in models
    assert "as if it came first for 6 in 100 shoppers" in models
    assert "125 clicks for every 1,000 items shown in this rail" in page.split('data-testid="rail-ctr"')[1]


def test_outcomes_per_day_chart_click_through_and_conversion_with_changes_marked_on_their_day(
    alice, shop_a, merchandiser_a, storefront_a
):
    rails = default_rails_ensure(shop=shop_a)
    cache.delete_many([PAGES_KEY, FLUSHING_KEY])
    for number in range(4):
        assert storefront_a.get(f"/api/v1/homepage/visitor-{number}").status_code == 200
    rollup_pages_flush()
    served = {"request_id": "r1", "rail": rails[0].key, "slot": 0}
    _events(
        shop_a,
        *[(EventType.IMPRESSION, 0, served)] * 20, *[(EventType.CLICK, 0, served)] * 2, (EventType.PURCHASE, 0, served),
        *[(EventType.IMPRESSION, 2, served)] * 10, (EventType.CLICK, 2, served),
    )
    draft_open(shop=shop_a, author=merchandiser_a)
    rules_change(shop=shop_a, actor=merchandiser_a, operation="rail_update", summary="Retitle", rail=rails[0], title="Picked")
    draft_publish(draft=Draft.objects.get(shop=shop_a), actor=merchandiser_a)
    version = ModelVersion.objects.create(shop=shop_a, family=Family.MF, number=1, status=ModelVersion.Status.SUCCEEDED,
                                          metrics={"ndcg_10": 0.1, "hr_10": 0.2})
    model_version_serve(version=version, actor=merchandiser_a)
    AuditEntry.objects.filter(action="model_promote").update(created_at=timezone.now() - timedelta(days=2))
    AuditEntry.objects.create(shop=shop_a, action="draft_publish", created_at=timezone.now() - timedelta(days=40))

    days = selectors.outcomes_per_day(shop=shop_a, days=30, until=timezone.now())
    assert (days[-1].pages, days[-1].click_through, days[-1].conversion) == (4, 0.1, 0.25)
    assert (days[-3].pages, days[-3].click_through, days[-3].conversion) == (0, 0.1, None)
    assert days[-2].click_through is None
    assert [change.kind for change in selectors.marked_changes(shop=shop_a, days=30, until=timezone.now())] == [
        "promotion", "publish",
    ]

    page = alice.get("/console/").content.decode()
    chart = page.split('data-testid="outcomes-chart"')[1].split("</figure>")[0]
    assert chart.count('class="point series-ctr"') == 2 and chart.count('class="point series-conversion"') == 1
    today, two_days_ago = (timezone.localdate() - timedelta(days=ago) for ago in (0, 2))
    assert f"{today:%b %d} · Conversion (purchases from a rail per page): 25.00 %" in chart
    assert 'class="marker marker-publish"' in chart and 'class="marker marker-promotion"' in chart
    assert f"{two_days_ago:%b %d} · Model promoted: {version}" in chart
    assert f"{today:%b %d} · Rules published" in chart
