"""Each guardrail as a merchandiser meets it: the form refuses the rule, says why beside the field, and
nothing is saved. One page load per case."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from catalog.models import Item
from merchandising.models import Adjustment, Pin, Rail
from merchandising.services import (
    adjustment_create,
    campaign_create,
    default_rails_ensure,
    pin_create,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def rails(pattern_shop) -> dict[str, Rail]:
    return {rail.key: rail for rail in default_rails_ensure(shop=pattern_shop)}


def beside(field: Locator) -> Locator:
    """The block that holds the field's input, its label and its messages."""
    return field.page.locator(f"div:has(> #{field.get_attribute('id')})")


def _pin(console: Page, *, slot: int, title: str) -> Locator:
    console.goto("/console/pins/")
    console.get_by_label("Rail").select_option(label="Trending now (trending)")
    console.get_by_placeholder("Title or item id").fill(Item.objects.get(title=title).external_id)
    console.get_by_label("Slot").fill(str(slot))
    console.get_by_role("button", name="Pin", exact=True).click()
    return console.get_by_label("Slot")


def test_the_pin_form_refuses_a_slot_another_pin_holds(console, rails):
    pin_create(rail=rails["trending"], item=Item.objects.get(title="Rose lip gloss"), slot=2)
    slot = _pin(console, slot=2, title="Musk cologne spray")
    expect(beside(slot)).to_contain_text("Slot 2 of “trending” already holds “Rose lip gloss”")
    assert Pin.objects.count() == 1


def test_the_pin_form_refuses_a_slot_past_the_rails_end(console, rails):
    slot = _pin(console, slot=13, title="Musk cologne spray")
    expect(beside(slot)).to_contain_text("Slot 13 is past the end of rail “trending”, which shows 12 items.")
    assert not Pin.objects.exists()


def _boost(console: Page, *, brand: str, multiplier: str, fill=lambda form: None) -> Locator:
    console.goto("/console/rules/")
    form = console.get_by_test_id("adjustment-form")
    form.get_by_role("radio", name="Brand").check()
    form.locator("input[name='boost-brand']").fill(brand)
    form.get_by_label("Multiplier").fill(multiplier)
    fill(form)
    form.get_by_role("button", name="Add boost or bury").click()
    return form


def test_the_boost_form_refuses_a_brand_the_shop_does_not_sell(console, rails):
    form = _boost(console, brand="Acme", multiplier="2")
    expect(beside(form.locator("input[name='boost-brand']"))).to_contain_text("No item of this shop has the brand “Acme”.")
    assert not Adjustment.objects.exists()


def test_the_boost_form_refuses_a_times_one_boost(console, rails):
    form = _boost(console, brand="Makeup", multiplier="1")
    expect(beside(form.get_by_label("Multiplier"))).to_contain_text("×1 changes nothing: above 1 boosts, below 1 buries.")
    assert not Adjustment.objects.exists()


def test_the_boost_form_refuses_the_same_boost_twice(console, rails, pattern_shop):
    adjustment_create(shop=pattern_shop, target="brand", brand="Makeup", multiplier=2.0)
    form = _boost(console, brand="Makeup", multiplier="3")
    expect(beside(form.locator("input[name='boost-brand']"))).to_contain_text("already applies to the same items")
    assert Adjustment.objects.count() == 1


def test_the_boost_form_refuses_a_start_after_its_campaign_ends(console, rails, pattern_shop):
    now = timezone.now()
    campaign_create(shop=pattern_shop, name="Summer glow", starts_at=now, ends_at=now + timedelta(days=7))
    late = f"{now + timedelta(days=10):%Y-%m-%dT%H:%M}"

    def in_campaign_too_late(form: Locator):
        form.locator("select[name='boost-campaign']").select_option(label="Summer glow")
        form.locator("input[name='boost-starts_at']").fill(late)

    form = _boost(console, brand="Makeup", multiplier="2", fill=in_campaign_too_late)
    expect(beside(form.locator("input[name='boost-starts_at']"))).to_contain_text(
        "Starts after the campaign “Summer glow” ends"
    )
    assert not Adjustment.objects.exists()


def test_the_rails_form_refuses_a_title_placeholder_the_rail_cannot_fill(console, rails):
    console.goto("/console/rails/")
    row = console.get_by_test_id("rail-trending")
    row.get_by_label("Title").fill("Trending for {name}")
    row.get_by_role("button", name="Save", exact=True).click()
    expect(beside(row.get_by_label("Title"))).to_contain_text("This rail cannot fill {name}: it names none.")
    assert Rail.objects.get(pk=rails["trending"].pk).title == "Trending now"


def test_the_rails_form_refuses_a_cap_of_zero_before_sending_it(console, rails):
    console.goto("/console/rails/")
    row = console.get_by_test_id("rail-trending")
    row.get_by_text("Diversity and caps").click()
    cap = row.get_by_label("At most per category")
    cap.fill("0")
    row.get_by_role("button", name="Save λ and caps").click()
    # The field allows 1 and up: the browser holds the form back and says so at the field.
    assert cap.evaluate("input => input.validity.rangeUnderflow && input.validationMessage !== ''")
    expect(cap).to_have_value("0")
    assert Rail.objects.get(pk=rails["trending"].pk).max_per_category == 4
