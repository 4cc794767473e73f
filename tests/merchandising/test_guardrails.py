"""Rules that cannot do what they say are refused, each with the reason beside its field."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from catalog.models import Item
from merchandising.models import Adjustment, Pin, Rail
from merchandising.selectors import RULE_IMPACT_SAMPLE, rule_impact, rule_items_matched
from merchandising.services import (
    adjustment_create,
    block_create,
    campaign_create,
    pin_create,
    rail_update,
    draft_discard,
    draft_open,
    rule_end,
    rules_change,
)
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def items(pattern_shop) -> list[Item]:
    return list(Item.objects.filter(shop=pattern_shop).order_by("pk"))


def refusal(call) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refused:
        call()
    return refused.value.message_dict


def test_a_second_pin_in_a_taken_slot_is_refused_and_names_the_pin_holding_it(for_you, items):
    pin_create(rail=for_you, item=items[0], slot=2)
    errors = refusal(lambda: pin_create(rail=for_you, item=items[1], slot=2))
    assert "already holds “Red matte lipstick”" in errors["slot"][0]
    assert Pin.objects.filter(rail=for_you).count() == 1


def test_a_slot_freed_by_an_ended_pin_or_held_at_another_time_can_be_pinned(for_you, items):
    first = pin_create(rail=for_you, item=items[0], slot=2)
    now = timezone.now()
    rule_end(rule=first, at=now)
    later = pin_create(rail=for_you, item=items[1], slot=2, starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=3))
    pin_create(rail=for_you, item=items[2], slot=2, ends_at=now + timedelta(days=1))
    errors = refusal(lambda: pin_create(rail=for_you, item=items[3], slot=2, starts_at=later.starts_at + timedelta(hours=1)))
    assert "end or move that pin first" in errors["slot"][0]


def test_a_pin_past_the_rails_length_is_refused(for_you, items):
    errors = refusal(lambda: pin_create(rail=for_you, item=items[0], slot=for_you.size + 1))
    assert errors["slot"] == [f"Slot {for_you.size + 1} is past the end of rail “for-you”, which shows {for_you.size} items."]


@pytest.mark.parametrize(
    ("target", "field"),
    [({"target": "category", "category": "Garden"}, "category"), ({"target": "brand", "brand": "Nobody"}, "brand"),
     ({"target": "attribute", "attribute_key": "shade", "attribute_value": "red"}, "attribute_value")],
)
def test_a_boost_of_nothing_the_shop_sells_is_refused(pattern_shop, target, field):
    errors = refusal(lambda: adjustment_create(shop=pattern_shop, multiplier=2, **target))
    assert errors[field][0].startswith("No item of this shop")
    assert not Adjustment.objects.exists()


def test_a_times_one_boost_is_refused_as_a_no_op(pattern_shop):
    errors = refusal(lambda: adjustment_create(shop=pattern_shop, target="brand", brand="Makeup", multiplier=1))
    assert errors["multiplier"] == ["×1 changes nothing: above 1 boosts, below 1 buries."]


def test_the_same_boost_cannot_be_stacked_twice_but_a_block_and_a_boost_of_one_brand_can_coexist(pattern_shop):
    adjustment_create(shop=pattern_shop, target="brand", brand="Makeup", multiplier=2)
    errors = refusal(lambda: adjustment_create(shop=pattern_shop, target="brand", brand="Makeup", multiplier=3))
    assert "already applies to the same items" in errors["brand"][0]
    block_create(shop=pattern_shop, brand="Makeup")
    assert "already applies" in refusal(lambda: block_create(shop=pattern_shop, brand="Makeup"))["brand"][0]


def test_a_rule_matches_subcategories_and_attribute_values_as_the_page_does(pattern_shop):
    ItemFactory(shop=pattern_shop, title="Shade", category_path="Makeup > Lips > Gloss", attributes={"volume_ml": 250})
    boost = adjustment_create(shop=pattern_shop, target="category", category="Makeup", multiplier=2)
    by_volume = adjustment_create(shop=pattern_shop, target="attribute", attribute_key="volume_ml", attribute_value="250", multiplier=2)
    assert rule_items_matched(rule=boost) == 7
    assert rule_items_matched(rule=by_volume) == 1


def test_a_campaign_rule_dated_outside_its_campaign_is_refused(pattern_shop, for_you, items):
    now = timezone.now()
    campaign = campaign_create(shop=pattern_shop, name="Summer", starts_at=now, ends_at=now + timedelta(days=7))
    errors = refusal(lambda: pin_create(rail=for_you, item=items[0], slot=1, campaign=campaign, ends_at=now + timedelta(days=9)))
    assert "Must end inside the campaign “Summer”" in errors["ends_at"][0]
    errors = refusal(lambda: adjustment_create(
        shop=pattern_shop, target="brand", brand="Makeup", multiplier=2, campaign=campaign, starts_at=now + timedelta(days=8),
    ))
    assert "Starts after the campaign “Summer” ends" in errors["starts_at"][0]
    assert pin_create(rail=for_you, item=items[0], slot=1, campaign=campaign).campaign == campaign


def test_a_title_naming_a_placeholder_its_rail_cannot_fill_is_refused(for_you, console_a):
    errors = refusal(lambda: rail_update(rail=for_you, title="For you, {name}"))
    assert errors["title"] == ["This rail cannot fill {name}: it names none."]
    viewed = Rail.objects.get(shop=for_you.shop, key="because-you-viewed")
    assert "it can name {seed}" in refusal(lambda: rail_update(rail=viewed, title="Like {category}"))["title"][0]
    assert "Braces must pair up" in refusal(lambda: rail_update(rail=viewed, title="Like {seed"))["title"][0]
    assert rail_update(rail=viewed, title="More like {seed}").title == "More like {seed}"


def test_a_cap_of_zero_is_refused_rather_than_blanking_the_rail(for_you):
    errors = refusal(lambda: rail_update(rail=for_you, max_per_category=0))
    assert errors["max_per_category"] == ["A cap of 0 per category would empty the rail; leave it empty for no cap."]


def test_the_console_pin_form_refuses_a_taken_slot_with_the_reason_beside_it(console_a, for_you, items):
    pin_create(rail=for_you, item=items[0], slot=3)
    response = console_a.post(
        "/console/pins/new/",
        {"rail": for_you.pk, "item": items[1].external_id, "slot": "3", "starts_at": "", "ends_at": "", "note": ""},
        **HTMX,
    )
    body = response.content.decode()
    assert "Slot 3 of “for-you” already holds “Red matte lipstick”" in body
    assert Pin.objects.filter(rail=for_you).count() == 1


def test_the_pin_forms_rail_choices_show_no_raw_placeholders(console_a):
    page = console_a.get("/console/pins/").content.decode()
    assert "{seed}" not in page and "{campaign}" not in page
    assert "Because you viewed … (because-you-viewed)" in page


def test_each_rule_row_shows_how_many_items_it_matches(console_a, pattern_shop):
    adjustment_create(shop=pattern_shop, target="category", category="Makeup", multiplier=2)
    block_create(shop=pattern_shop, brand="Fragrance")
    page = console_a.get("/console/rules/").content.decode()
    assert page.count("Matches 6 items") == 2


def test_a_boost_changes_the_pages_of_the_sampled_shoppers_it_reorders(console_a, pattern_shop):
    boost = adjustment_create(shop=pattern_shop, target="brand", brand="Makeup", multiplier=3)
    impact = rule_impact(rule=boost, draft=None, now=timezone.now())
    assert impact.sampled == RULE_IMPACT_SAMPLE
    assert 0 < impact.changed <= impact.sampled
    assert impact.emptied == []
    body = console_a.get(f"/console/rules/adjustment/{boost.pk}/impact/", **HTMX).content.decode()
    assert f"Pages changed: {impact.changed} of 20 sampled shoppers" in body


def test_a_block_that_removes_every_candidate_of_a_rail_warns_that_it_empties_it(console_a, pattern_shop):
    # Makeup and skin care blocked already, the shop has nothing but fragrance left to show.
    block_create(shop=pattern_shop, category="Makeup")
    block_create(shop=pattern_shop, category="Skin Care")
    fragrance = block_create(shop=pattern_shop, category="Fragrance")
    body = console_a.get(f"/console/rules/block/{fragrance.pk}/impact/", **HTMX).content.decode()
    assert "Pages changed: 20 of 20 sampled shoppers" in body
    assert "This block leaves “Picked for you” empty for 20 of 20 sampled shoppers" in body
    assert "This block leaves “Trending now” empty for" in body


def test_a_block_that_leaves_a_rail_something_to_show_gives_no_warning(console_a, pattern_shop):
    fragrance = block_create(shop=pattern_shop, category="Fragrance")
    body = console_a.get(f"/console/rules/block/{fragrance.pk}/impact/", **HTMX).content.decode()
    assert "Pages changed: 20 of 20 sampled shoppers" in body
    assert "empty for" not in body


def test_a_rule_ended_offers_no_sample_and_a_scheduled_one_is_sampled_at_its_start(console_a, pattern_shop):
    now = timezone.now()
    ended = block_create(shop=pattern_shop, category="Fragrance", starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    ahead = block_create(shop=pattern_shop, category="Skin Care", starts_at=now + timedelta(days=1))
    page = console_a.get("/console/rules/").content.decode()
    assert page.count("Sample shoppers' pages") == 1
    assert f"/console/rules/block/{ended.pk}/impact/" not in page
    assert rule_impact(rule=ahead, draft=None, now=now).changed == RULE_IMPACT_SAMPLE


def test_the_sample_reads_the_rules_as_the_open_draft_leaves_them(console_a, pattern_shop, merchandiser_a):
    boost = adjustment_create(shop=pattern_shop, target="brand", brand="Makeup", multiplier=3)
    draft = draft_open(shop=pattern_shop, author=merchandiser_a)
    rules_change(shop=pattern_shop, actor=merchandiser_a, operation="rule_delete", summary="Remove", rule=boost)
    assert rule_impact(rule=boost, draft=draft, now=timezone.now()) is None
    body = console_a.get(f"/console/rules/adjustment/{boost.pk}/impact/", **HTMX).content.decode()
    assert "Your draft removes this rule." in body
    draft_discard(draft=draft, actor=merchandiser_a)
    assert rule_impact(rule=boost, draft=None, now=timezone.now()).changed > 0
