import pytest
from playwright.sync_api import expect

from catalog.models import EventType, Item
from merchandising.services import default_rails_ensure, rail_update
from tests.factories import EventFactory, ShopperFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def lips_trend(pattern_shop):
    """Lipsticks outsell everything: by relevance alone a short trending rail holds lipsticks only."""
    lips = Item.objects.filter(shop=pattern_shop, category_path="Makeup > Lips")
    for _ in range(6):
        shopper = ShopperFactory(shop=pattern_shop)
        for item in lips:
            EventFactory(shopper=shopper, item=item, type=EventType.PURCHASE)
    return pattern_shop


def test_moving_the_diversity_slider_changes_the_categories_in_the_preview(console, lips_trend, merchandiser_a):
    trending = next(rail for rail in default_rails_ensure(shop=lips_trend) if rail.key == "trending")
    rail_update(rail=trending, actor=merchandiser_a, size=4, diversity=0.0, max_per_category=None, max_per_brand=None)
    console.goto("/console/rails/")
    row = console.get_by_test_id("rail-trending")
    row.get_by_text("Diversity and caps").click()
    row.get_by_label("New shopper (cold start)").check()
    preview = row.get_by_test_id("rail-preview")
    expect(preview).to_contain_text("For a new shopper (cold start), λ 0.00")
    expect(preview.get_by_test_id("distinct-categories")).to_have_text("1")
    relevance_alone = float(preview.get_by_test_id("mean-relevance").inner_text())

    slider = row.get_by_test_id("diversity-slider")
    slider.focus()
    slider.press("End")  # the keyboard moves a range input as a drag does, with the same input events

    expect(row.get_by_test_id("diversity-value")).to_have_text("1.00")
    expect(preview).to_contain_text("λ 1.00")
    expect(preview.get_by_test_id("distinct-categories")).to_have_text("3")
    assert float(preview.get_by_test_id("mean-relevance").inner_text()) < relevance_alone  # the price of variety
    trending.refresh_from_db()
    assert trending.diversity == 0.0  # a preview saves nothing
