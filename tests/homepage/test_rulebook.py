from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Item
from homepage.cache import rules_token
from homepage.rulebook import rulebook
from homepage.rules import RailKind
from homepage.services import homepage_compose
from merchandising.models import Block, Pin, Rail
from merchandising.services import rail_create

pytestmark = pytest.mark.django_db


def _new_arrivals(shop):
    return rail_create(shop=shop, key="new", title="New arrivals", kind=RailKind.NEW_ARRIVALS, size=6)


def _titles(page):
    return [entry.item.title for rail in page.rails for entry in rail.items]


def test_a_page_reads_no_rule_rows_while_no_rule_changed(pattern_shop):
    _new_arrivals(pattern_shop)
    homepage_compose(shop=pattern_shop, shopper=None)

    with CaptureQueriesContext(connection) as queries:
        homepage_compose(shop=pattern_shop, shopper=None)

    rule_tables = {model._meta.db_table for model in (Rail, Pin, Block)}
    assert not [query["sql"] for query in queries if any(f'"{table}"' in query["sql"] for table in rule_tables)]


def test_rules_saved_outside_the_services_reach_the_next_page(pattern_shop):
    rail = _new_arrivals(pattern_shop)
    newest = Item.objects.filter(shop=pattern_shop).order_by("-created_at").first()
    oldest = Item.objects.filter(shop=pattern_shop).order_by("created_at").first()
    assert newest.title in _titles(homepage_compose(shop=pattern_shop, shopper=None))

    Block.objects.create(shop=pattern_shop, item=newest)
    Pin.objects.create(rail=rail, item=oldest, slot=1, starts_at=timezone.now() - timedelta(minutes=1))
    page = homepage_compose(shop=pattern_shop, shopper=None)

    assert newest.title not in _titles(page)
    assert page.rails[0].items[0].item == oldest


def test_a_rule_write_replaces_the_rules_token_again_when_it_commits(pattern_shop, django_capture_on_commit_callbacks):
    before = rules_token(shop=pattern_shop)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        rail = _new_arrivals(pattern_shop)
    made = rules_token(shop=pattern_shop)
    loaded = rulebook(shop=pattern_shop)
    for callback in callbacks:
        callback()

    assert before != made
    assert rules_token(shop=pattern_shop) != made
    # A process that loaded the rules before the commit loads them again.
    assert rulebook(shop=pattern_shop) is not loaded
    assert [found.pk for found in rulebook(shop=pattern_shop).rails] == [rail.pk]
